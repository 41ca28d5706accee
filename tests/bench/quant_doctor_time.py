"""Prints how long the quantization doctor takes on full-size Keras MobileNetV2 (weights=None, 224x224),
against one verify run of the same int8 model on the same data, in one warm process (as in the worker).
Goal: the per-layer analysis takes no more than 3x one verify run.

The model is converted to tflite-int8 and openvino-int8 on a few calibration samples; verify() and
per_layer() then each load and cut the model and run on the same SAMPLES samples (the calibration data
file, a .npy of uniform noise in [-1, 1]). One function per measurement, so more (the accuracy-budget
search) can be added beside them.

Run: .venv/bin/python tests/bench/quant_doctor_time.py [samples]"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _models import mobilenet_v2  # noqa: E402

CALIBRATION_SAMPLES = 8
SAMPLES = 32
TARGETS = {"tflite-int8": "mobilenet_v2_int8.tflite", "openvino-int8": "mobilenet_v2_int8.xml"}
GOAL = 3.0


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def prepare(folder: Path, samples: int):
    """(model, data, output folder): MobileNetV2 converted to both int8 targets."""
    import edgewizard.core.convert.openvino_int8  # noqa: F401  (registers openvino-int8)
    from edgewizard.core.calibrate import CalibrationSpec
    from edgewizard.core.convert.base import ConvertOptions
    from edgewizard.core.convert.run import convert
    from edgewizard.core.loaders import load
    from edgewizard.core.plan import LoadOptions, Selection
    from edgewizard.core.verify import VerifyData

    model, calib = mobilenet_v2(folder, max(samples, CALIBRATION_SAMPLES))
    load(model)  # the worker's loader cache holds the model after the first step
    out = folder / "out"
    spec = CalibrationSpec(sources=((None, str(calib)),), samples=CALIBRATION_SAMPLES)
    seconds, _ = timed(lambda: convert(str(model), LoadOptions(), Selection(), list(TARGETS), str(out),
                                       ConvertOptions(calibration=spec)))
    print(f"Converted to {', '.join(TARGETS)} on {CALIBRATION_SAMPLES} calibration samples in {seconds:.1f} s")
    return model, VerifyData.from_path(str(calib), max_samples=samples, label="calibration noise"), out


def time_verify(model: Path, artifact: Path, data) -> float:
    from edgewizard.core.plan import LoadOptions, Selection
    from edgewizard.core.verify import verify

    seconds, _ = timed(lambda: verify(str(model), LoadOptions(), Selection(), [str(artifact)], data))
    return seconds


def time_per_layer(model: Path, artifact: Path, data, samples: int):
    from edgewizard.core.plan import LoadOptions, Selection
    from edgewizard.core.quant.layers import per_layer

    return timed(lambda: per_layer(str(model), LoadOptions(), Selection(), str(artifact), data, samples=samples))


def main() -> None:
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else SAMPLES
    folder = Path(tempfile.mkdtemp(prefix="ew-bench-quant-"))
    import tensorflow  # noqa: F401  - imported before timing, as in the warm worker

    model, data, out = prepare(folder, samples)
    print(f"Keras MobileNetV2 224x224 (weights=None), {samples} samples:")
    for target, name in TARGETS.items():
        artifact = out / name
        verify_s = time_verify(model, artifact, data)
        layers_s, report = time_per_layer(model, artifact, data, samples)
        ratio = layers_s / verify_s
        print(f"  {target:<14} verify {verify_s:6.2f} s   per-layer {layers_s:6.2f} s   ratio {ratio:4.2f} "
              f"(goal <= {GOAL:g}): {'OK' if ratio <= GOAL else 'OVER'}   {len(report.rows)} layers, "
              f"{sum(1 for r in report.rows if r.source_nodes)} named; worst: {report.rows[0].label if report.rows else '-'}")


if __name__ == "__main__":
    main()
