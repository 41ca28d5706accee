"""Prints the wall time of converting Keras MobileNetV2 (weights=None) to tflite-int8 and
openvino-fp16 through `edgewizard convert`, vs the same conversion written directly against the
TensorFlow and OpenVINO APIs, each in a fresh process, in the same run. Goal: our overhead at most
10% beyond TensorFlow's own import and conversion.

Run: .venv/bin/python tests/bench/convert_overhead.py [repeats]"""
from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _models import mobilenet_v2  # noqa: E402

SAMPLES = 32

DIRECT = r"""
import sys, tempfile, numpy as np, tensorflow as tf, keras, openvino as ov
model_path, calib_path, out = sys.argv[1:4]
model = keras.models.load_model(model_path, compile=False)
saved = tempfile.mkdtemp()
model.export(saved)  # REFERENCE.md: for Keras 3, export a SavedModel and convert that
calib = np.load(calib_path)
conv = tf.lite.TFLiteConverter.from_saved_model(saved)
conv.optimizations = [tf.lite.Optimize.DEFAULT]
conv.representative_dataset = lambda: ([calib[i:i + 1]] for i in range(len(calib)))
conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
conv.inference_input_type = tf.uint8
conv.inference_output_type = tf.uint8
open(out + "/direct_int8.tflite", "wb").write(conv.convert())
ov_model = ov.convert_model(saved, input=[1, 224, 224, 3])
ov.save_model(ov_model, out + "/direct_fp16.xml", compress_to_fp16=True)
"""


def timed(argv) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    folder = Path(tempfile.mkdtemp(prefix="ew-bench-"))
    model, calib = mobilenet_v2(folder, SAMPLES)
    exe = str(Path(sys.executable).with_name("edgewizard"))
    ours, direct = [], []
    for i in range(repeats):
        out = folder / f"ours{i}"
        ours.append(timed([exe, "convert", str(model), "--target", "tflite-int8", "--target", "openvino-fp16",
                           "--calib", str(calib), "--calib-samples", str(SAMPLES), "-o", str(out)]))
        out = folder / f"direct{i}"
        out.mkdir()
        direct.append(timed([sys.executable, "-c", DIRECT, str(model), str(calib), str(out)]))
    o, d = statistics.median(ours), statistics.median(direct)
    print(f"Keras MobileNetV2 -> tflite-int8 ({SAMPLES} calibration samples) + openvino-fp16, median of {repeats}, fresh processes")
    print(f"  edgewizard convert:          {o:6.1f} s")
    print(f"  TensorFlow/OpenVINO directly: {d:6.1f} s")
    print(f"  overhead:                    {100 * (o / d - 1):+6.1f} %   (goal: at most +10 %)")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
