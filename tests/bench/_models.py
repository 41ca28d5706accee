"""Models for the figure scripts: Keras MobileNetV2 (weights=None, so nothing is downloaded)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MAKE = r"""
import sys, numpy as np, keras
m = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
m.save(sys.argv[1])
rng = np.random.default_rng(0)
np.save(sys.argv[2], rng.uniform(-1, 1, size=(int(sys.argv[3]), 224, 224, 3)).astype("float32"))
"""


def mobilenet_v2(folder: Path, calib_samples: int = 32) -> tuple[Path, Path]:
    model, calib = folder / "mobilenet_v2.keras", folder / "calib.npy"
    if not model.exists():
        subprocess.run([sys.executable, "-c", MAKE, str(model), str(calib), str(calib_samples)], check=True,
                       stderr=subprocess.DEVNULL)
    return model, calib
