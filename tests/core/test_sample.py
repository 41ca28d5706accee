"""The bundled sample model: found through the installed package, loads safely, and is as good as it says."""
from __future__ import annotations

import json

import numpy as np
import pytest

import edgewizard.resources as res

FILES = ("digits_cnn.keras", "digits_test.npz", "digits_calib.npz", "sample.json", "README.md")


@pytest.fixture(scope="module")
def meta():
    return json.loads(res.files().joinpath("samples", "sample.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def model():
    import keras

    return keras.saving.load_model(res.path("samples", "digits_cnn.keras"), compile=False, safe_mode=True)


def test_files_are_bundled():
    for name in FILES:
        entry = res.files() / "samples" / name
        assert entry.is_file(), f"{name} is not in edgewizard.resources.samples"
        assert res.path("samples", name).is_file()
    assert res.path("samples", "digits_cnn.keras").stat().st_size < 300_000


def test_model_matches_its_description(model, meta):
    assert meta["preprocessing"] == "pixels scaled to [0,1]"
    assert meta["classes"] == [str(i) for i in range(10)]
    (inp,) = model.inputs
    assert inp.name == meta["input"]["name"] == "image"
    assert tuple(inp.shape) == tuple(meta["input"]["shape"]) == (None, 32, 32, 1)
    assert model.layers[-1].name == "probabilities"
    assert tuple(model.outputs[0].shape) == (None, 10)
    assert model.count_params() == meta["param_count"]


def test_accuracy_on_held_back_digits(model, meta):
    with np.load(res.path("samples", "digits_test.npz")) as data:
        x, y = data["x"], data["y"]
    assert x.dtype == np.float32 and x.shape[1:] == (32, 32, 1) and y.dtype == np.int64
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert len(y) == meta["test_samples"] and set(y.tolist()) == set(range(10))
    probs = np.asarray(model.predict(x, batch_size=128, verbose=0))
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    accuracy = float(np.mean(np.argmax(probs, axis=1) == y))
    assert accuracy >= 0.95
    assert abs(accuracy - meta["test_accuracy"]) <= 0.005


def test_calibration_set(model, meta):
    with np.load(res.path("samples", "digits_calib.npz")) as data:
        x = data["x"]
    assert x.shape == (100, 32, 32, 1) == (meta["calibration_samples"], *model.inputs[0].shape[1:])
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert len({sample.tobytes() for sample in x}) == 100  # 100 distinct digits, not one repeated
