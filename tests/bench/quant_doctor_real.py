"""Figures for the quantization doctor's closing note: float, full int8 and the doctor's result, for the outlier
test model (digits, real labels) and for a real model of the corpus, FER's emotion classifier.

Run: .venv/bin/python tests/bench/quant_doctor_real.py

FER ships no face images, so its figures are measured on 64x64 grey crops of the two photographs scikit-learn
bundles (load_sample_images), labelled with the float model's own top-1 class: "accuracy" there is agreement
with the float model, which is what int8 can lose. Every figure is printed with the float model's as the
reference of the same run."""
from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from edgewizard.core.calibrate import CalibrationSpec  # noqa: E402
from edgewizard.core.convert.run import convert  # noqa: E402
from edgewizard.core.plan import ConvertOptions, LoadOptions, Selection  # noqa: E402
from edgewizard.core.quant.budget import search  # noqa: E402
from edgewizard.core.quant.layers import per_layer  # noqa: E402
from edgewizard.core.samples import sample_calibration_path, sample_test_path  # noqa: E402
from edgewizard.core.verify import VerifyData  # noqa: E402

TARGETS = ("tflite-int8", "openvino-int8")


def fer_data(model: Path, folder: Path) -> tuple[Path, Path]:
    """Calibration crops and labelled test crops (labels = the float model's top-1) from scikit-learn's photos."""
    import keras
    from sklearn.datasets import load_sample_images

    rng = np.random.default_rng(0)
    crops = []
    for img in load_sample_images().images:
        grey = img.astype(np.float32).mean(axis=2) / 255.0
        for _ in range(250):
            size = int(rng.integers(64, 200))
            y, x = rng.integers(0, grey.shape[0] - size), rng.integers(0, grey.shape[1] - size)
            patch = grey[y:y + size, x:x + size]
            idx = np.linspace(0, size - 1, 64).astype(int)
            crops.append(patch[np.ix_(idx, idx)])
    x = np.stack(crops)[..., None].astype(np.float32)
    x = x * 2.0 - 1.0  # fer feeds faces scaled to [-1, 1]
    rng.shuffle(x)
    net = keras.models.load_model(model, compile=False)
    y = net.predict(x, verbose=0).argmax(1)
    calib, test = folder / "fer_calib.npz", folder / "fer_test.npz"
    np.savez(calib, x=x[:100])
    np.savez(test, x=x[100:], y=y[100:])
    return calib, test


def figures(name: str, model: Path, calib: Path, test: Path, work: Path) -> None:
    options = ConvertOptions(calibration=CalibrationSpec(sources=((None, str(calib)),)))
    data = VerifyData.from_path(str(test))
    for target in TARGETS:
        t0 = time.monotonic()
        result = search(str(model), LoadOptions(), Selection(), target, options, data, 1.0, str(work / target))
        full, chosen = result.candidates[0], result.candidates[result.chosen]
        print(f"{name} {target}: float {100 * result.float_accuracy:.2f}%, full int8 {100 * full.accuracy:.2f}% "
              f"(drop {full.drop:.2f} points), doctor's choice '{chosen.label}' {100 * chosen.accuracy:.2f}% "
              f"(drop {chosen.drop:.2f}); {len(result.candidates)} candidates in {time.monotonic() - t0:.1f} s")
        model_file = next(f for f in full.files if f.endswith((".tflite", ".xml")))
        report = per_layer(str(model), LoadOptions(), Selection(), model_file, data)
        top = ", ".join(f"{r.label} ({r.op}) +{r.added:.3f}" for r in report.rows[:3])
        print(f"  worst layers of full int8: {top}")


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="doctor-figures-"))
    from tests.models.outlier import make_outlier_model

    figures("outlier digits CNN", make_outlier_model(work), sample_calibration_path(), sample_test_path(), work / "o")
    from tests.real.corpus import ensure, load

    entry = next(e for e in load() if e.id == "fer-emotion-h5")
    try:
        model = ensure(entry)
    except Exception as exc:  # noqa: BLE001 - a figure script: say why the real model is missing and stop
        print(f"fer-emotion-h5 not available here ({exc}); real-model figures skipped.")
        return 0
    calib, test = fer_data(model, work)
    figures("FER emotion (real, pseudo-labels)", model, calib, test, work / "f")
    return 0


if __name__ == "__main__":
    sys.exit(main())
