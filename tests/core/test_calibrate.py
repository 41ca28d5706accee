"""Calibration data: image folders, array files, synthetic on request, and clear refusals."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edgewizard.core.calibrate import CalibrationSpec, load_calibration, parse_calib_args
from edgewizard.core.errors import UserError
from edgewizard.core.graph import TensorInfo

RGB = TensorInfo("image", (1, 8, 6, 3), "float32")
GRAY = TensorInfo("digit", (1, 4, 4, 1), "float32")


def _images(folder, n, size=(10, 12), mode="RGB", value=200):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new(mode, size, color=(value, 0, 50) if mode == "RGB" else value).save(folder / f"img{i}.png")
    return folder


def test_no_data_is_refused_with_what_to_give():
    with pytest.raises(UserError, match="needs calibration data: give a folder of images") as err:
        load_calibration(CalibrationSpec(), (RGB,))
    assert "--" not in err.value.message and "--calib" in err.value.cli_hint  # the option: command line only


def test_image_folder_is_resized_scaled_and_limited_to_the_sample_count(tmp_path):
    folder = _images(tmp_path / "photos in 文件夹", 5)
    samples = load_calibration(CalibrationSpec(sources=((None, str(folder)),), samples=3), (RGB,))
    assert len(samples) == 3
    x = samples[0][0]
    assert x.shape == (1, 8, 6, 3) and x.dtype == np.float32
    assert np.allclose(x[0, 0, 0], [200 / 255, 0, 50 / 255], atol=1e-6)  # default preset "unit"


def test_bgr_and_preset_symmetric(tmp_path):
    folder = _images(tmp_path / "p", 1)
    spec = CalibrationSpec(sources=((None, str(folder)),), preset="symmetric", color="BGR")
    x = load_calibration(spec, (RGB,))[0][0]
    assert np.allclose(x[0, 0, 0], [(50 - 127.5) / 127.5, -1.0, (200 - 127.5) / 127.5], atol=1e-6)


def test_mixed_sizes_and_grayscale_are_converted_to_the_input(tmp_path):
    folder = tmp_path / "mixed"
    _images(folder, 1, size=(30, 30), mode="L")
    _images(folder / "sub", 1, size=(3, 7))
    samples = load_calibration(CalibrationSpec(sources=((None, str(folder)),)), (RGB,))
    assert [s[0].shape for s in samples] == [(1, 8, 6, 3)] * 2


def test_a_non_image_in_the_folder_is_named(tmp_path):
    folder = _images(tmp_path / "p", 1)
    (folder / "notes.png").write_text("not an image")
    with pytest.raises(UserError, match="notes.png cannot be read"):
        load_calibration(CalibrationSpec(sources=((None, str(folder)),)), (RGB,))


def test_empty_folder_and_missing_path(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no images"):
        load_calibration(CalibrationSpec(sources=((None, str(tmp_path / "empty")),)), (RGB,))
    with pytest.raises(UserError, match="does not exist"):
        load_calibration(CalibrationSpec(sources=((None, str(tmp_path / "nope")),)), (RGB,))


def test_npy_and_npz_by_input_name_or_x(tmp_path):
    arr = np.arange(5 * 16, dtype=np.float32).reshape(5, 4, 4, 1)
    np.save(tmp_path / "a.npy", arr)
    np.savez(tmp_path / "b.npz", digit=arr * 2, other=arr)
    np.savez(tmp_path / "c.npz", x=arr * 3)
    for name, factor in (("a.npy", 1), ("b.npz", 2), ("c.npz", 3)):
        samples = load_calibration(CalibrationSpec(sources=((None, str(tmp_path / name)),)), (GRAY,))
        assert len(samples) == 5
        assert np.array_equal(samples[4][0], arr[4:5] * factor)


def test_array_of_the_wrong_shape_names_the_input(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((5, 4, 5, 1), np.float32))
    with pytest.raises(UserError, match="input 'digit' takes samples of shape \\(4, 4, 1\\)"):
        load_calibration(CalibrationSpec(sources=((None, str(tmp_path / "a.npy")),)), (GRAY,))


def test_pickled_arrays_are_not_loaded(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(UserError, match="Cannot read"):
        load_calibration(CalibrationSpec(sources=((None, str(tmp_path / "obj.npy")),)), (GRAY,))


def test_multi_input_needs_one_source_per_input(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((2, 4, 4, 1), np.float32))
    inputs = (GRAY, TensorInfo("mask", (1, 4, 4, 1), "float32"))
    with pytest.raises(UserError, match="'digit' has no calibration source; give one for each input"):
        load_calibration(CalibrationSpec(sources=((None, str(tmp_path / "a.npy")),)), inputs)
    spec = CalibrationSpec(sources=(("digit", str(tmp_path / "a.npy")), ("mask", "synthetic")), samples=2)
    samples = load_calibration(spec, inputs)
    assert len(samples) == 2 and [a.shape for a in samples[0]] == [(1, 4, 4, 1)] * 2
    with pytest.raises(UserError, match="'nope', which is not an input"):
        load_calibration(CalibrationSpec(sources=(("nope", "synthetic"),)), inputs)


def test_synthetic_only_when_asked_and_in_range():
    samples = load_calibration(CalibrationSpec(sources=((None, "synthetic"),), samples=7), (RGB,))
    assert len(samples) == 7
    x = np.concatenate([s[0] for s in samples])
    assert x.min() >= 0 and x.max() <= 1 and x.std() > 0.1


def test_command_line_forms(tmp_path):
    assert parse_calib_args(["photos", "image=photos", "synthetic"]) == ((None, "photos"), ("image", "photos"), (None, "synthetic"))
    odd = tmp_path / "a=b"
    odd.mkdir()
    assert parse_calib_args([str(odd)]) == ((None, str(odd)),)
