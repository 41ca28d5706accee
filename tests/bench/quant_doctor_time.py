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


def time_budget(model: Path, data, target: str, folder: Path, max_candidates: int = 4):
    """The accuracy-budget search (max drop 1 point) on labelled data: the float model's own top-1 on the noise,
    so "accuracy" is agreement with float (MobileNetV2 has no trained weights here). Returns (seconds, result)."""
    import numpy as np

    from edgewizard.core.calibrate import CalibrationSpec
    from edgewizard.core.convert.base import ConvertOptions
    from edgewizard.core.plan import LoadOptions, Selection
    from edgewizard.core.quant.budget import search
    from edgewizard.core.verify import VerifyData
    from edgewizard.core.verify.runners import GraphDefRunner  # noqa: F401  (the worker has TF imported)

    import keras

    with np.load(data.path) if data.path.endswith(".npz") else _npy(data.path) as arrays:
        x = arrays["x"][:SAMPLES]
    y = keras.models.load_model(model, compile=False).predict(x, verbose=0).argmax(1)
    labelled = folder / f"labelled-{target}.npz"
    np.savez(labelled, x=x, y=y)
    spec = CalibrationSpec(sources=((None, data.path),), samples=CALIBRATION_SAMPLES)
    return timed(lambda: search(str(model), LoadOptions(), Selection(), target, ConvertOptions(calibration=spec),
                                VerifyData.from_path(str(labelled)), 1.0, str(folder / f"budget-{target}"),
                                max_candidates=max_candidates))


def time_candidate(model: Path, data, target: str, folder: Path, keep: list) -> float:
    """What each candidate after the first costs the search: a conversion keeping `keep` in float (the search
    also runs it on the data; that is a verify run's share)."""
    from edgewizard.core.calibrate import CalibrationSpec
    from edgewizard.core.convert.base import ConvertOptions
    from edgewizard.core.convert.run import convert
    from edgewizard.core.plan import LoadOptions, Selection

    spec = CalibrationSpec(sources=((None, data.path),), samples=CALIBRATION_SAMPLES)
    seconds, _ = timed(lambda: convert(str(model), LoadOptions(), Selection(), [target], str(folder / f"cand-{target}"),
                                       ConvertOptions(calibration=spec, keep_float=tuple(keep)), force=True))
    return seconds


class _npy:
    def __init__(self, path):
        import numpy as np

        self.x = np.load(path)

    def __enter__(self):
        return {"x": self.x}

    def __exit__(self, *exc):
        return False


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
        candidate_s = time_candidate(model, data, target, folder, report.worst_nodes(1))
        print(f"  {target:<14} one further candidate (keeping {', '.join(report.worst_nodes(1))} in float), its "
              f"conversion: {candidate_s:6.1f} s (the search then runs it on the data: about a verify run)")
        budget_s, result = time_budget(model, data, target, folder)
        print(f"  {target:<14} accuracy budget (1 point, at most 4 candidates): {budget_s:6.1f} s = "
              f"{budget_s / verify_s:.1f}x one verify run; {len(result.candidates)} candidates, "
              f"{budget_s / len(result.candidates):.1f} s each; {result.message}")


if __name__ == "__main__":
    main()
