"""Prints how long validating full-size Keras MobileNetV2 (weights=None, 224x224) takes beyond
converting it, in one warm process (as in the worker), in the same run. Goal: under 10 s beyond
the conversion for the Edge TPU.

Both steps load the (cached) model, cut it and make the int8 model with the same 8 calibration
samples; validation then judges every op. "Beyond" = validate time - convert time, median of the
repeats; the time spent judging once the int8 model exists is printed as well. The time for all devices is printed too, against converting to tflite-int8 + openvino-fp16.

Run: .venv/bin/python tests/bench/validate_time.py [repeats]"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _models import mobilenet_v2  # noqa: E402

SAMPLES = 8


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    folder = Path(tempfile.mkdtemp(prefix="ew-bench-validate-"))
    model, calib = mobilenet_v2(folder, SAMPLES)

    import tensorflow  # noqa: F401  - imported before timing, as in the warm worker

    from edgewizard.core.calibrate import CalibrationSpec
    from edgewizard.core.convert.base import ConvertOptions
    from edgewizard.core.convert.run import convert
    from edgewizard.core.loaders import load
    from edgewizard.core.plan import LoadOptions, Selection
    from edgewizard.core.validate.run import validate

    options = ConvertOptions(calibration=CalibrationSpec(sources=((None, str(calib)),), samples=SAMPLES))
    load(model)  # the worker's loader cache holds the model after the first step

    def timed(fn) -> float:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    rows = {"convert tflite-int8": [], "validate edgetpu": [], "convert tflite-int8 + openvino-fp16": [],
            "validate all devices": []}
    stages: dict[str, float] = {}
    for i in range(repeats):
        rows["convert tflite-int8"].append(timed(lambda: convert(
            str(model), LoadOptions(), Selection(), ["tflite-int8"], str(folder / f"int8-{i}"), options)))
        reports = []
        rows["validate edgetpu"].append(timed(lambda: reports.extend(validate(
            str(model), LoadOptions(), Selection(), ["edgetpu"], options, progress=_stage_timer(stages)))))
        rows["convert tflite-int8 + openvino-fp16"].append(timed(lambda: convert(
            str(model), LoadOptions(), Selection(), ["tflite-int8", "openvino-fp16"], str(folder / f"all-{i}"),
            options)))
        rows["validate all devices"].append(timed(lambda: validate(
            str(model), LoadOptions(), Selection(), ["edgetpu", "myriad", "openvino:CPU", "openvino:GPU",
                                                     "openvino:NPU", "tflite:CPU"], options)))
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"Keras MobileNetV2 224x224 (weights=None), {SAMPLES} calibration samples, median of {repeats}:")
    for k, v in med.items():
        print(f"  {k:<38} {v:6.2f} s   ({', '.join(f'{x:.2f}' for x in rows[k])})")
    tpu = reports[0]
    print(f"  Edge TPU result: {tpu.summary()}")
    beyond = med["validate edgetpu"] - med["convert tflite-int8"]
    why = " (below 0: validating writes no files, so it can be faster than converting)" if beyond < 0 else ""
    print(f"Validation beyond conversion, Edge TPU:    {beyond:5.2f} s (goal < 10 s): "
          f"{'OK' if beyond < 10 else 'OVER'}{why}")
    judging = sum(v for k, v in stages.items() if k.startswith("Coral Edge TPU: Checking each op"))
    print(f"Judging the ops once the int8 model exists: {judging:5.2f} s")
    beyond_all = med["validate all devices"] - med["convert tflite-int8 + openvino-fp16"]
    print(f"Validation beyond conversion, all devices: {beyond_all:5.2f} s (tflite:CPU adds a float conversion)")
    print("Slowest stages of the last Edge TPU validation:")
    for message, seconds in sorted(stages.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  {seconds:6.2f} s  {message}")


def _stage_timer(stages: dict):
    """A progress callback that records how long each stage (message) lasted."""
    last = {"t": time.perf_counter(), "m": "start"}

    def progress(fraction, message):
        now = time.perf_counter()
        stages[last["m"]] = now - last["t"]
        last.update(t=now, m=message)

    return progress


if __name__ == "__main__":
    main()
