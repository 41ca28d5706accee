"""Where the bundled sample model and its data live (found through importlib.resources)."""
from __future__ import annotations

from pathlib import Path


def sample_dir() -> Path:
    from edgewizard.resources import path

    return path("samples")


def sample_model_path() -> Path:
    return sample_dir() / "digits_cnn.keras"


def sample_calibration_path() -> Path:
    return sample_dir() / "digits_calib.npz"


def sample_test_path() -> Path:
    return sample_dir() / "digits_test.npz"
