"""Calibration data a person might really hand to `convert -t tflite-int8 --calib`: folders of
non-images, damaged and oversized images, mixed sizes and colour modes, pickled and mis-shaped arrays.
Each bad one is refused with one sentence naming the file or folder, before any file is written."""
from __future__ import annotations

import os
import struct
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgewizard.core.calibrate import CalibrationSpec, load_calibration
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.errors import UserError
from edgewizard.core.graph import TensorInfo
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.samples import sample_model_path

from .cli_run import cli_error, ew, one_sentence

SAMPLE_INPUT = TensorInfo("image", (1, 32, 32, 1), "float32")  # what the sample model takes
RGB_INPUT = TensorInfo("photo", (1, 24, 24, 3), "float32")
LIMIT_S = 60.0  # issue 10: each refusal comes in well under a minute


# ---------------------------------------------------------------- the corpus of bad calibration data


class OpenOnUnpickle:
    """Unpickling this creates a marker file: proof that a pickle was (or was not) loaded."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _noise_image(path: Path, size=(48, 40), mode="RGB") -> Path:
    Image.effect_noise(size, 60).convert(mode).save(path)
    return path


def _truncated(path: Path) -> None:
    whole = path.with_suffix(".whole" + path.suffix)
    _noise_image(whole, (96, 96))
    data = whole.read_bytes()
    whole.unlink()
    path.write_bytes(data[: len(data) // 2])


def _png_claiming(path: Path, width: int, height: int) -> None:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb for a naive reader)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def make_non_images(d: Path) -> Path:
    (d / "readme.txt").write_text("photos go here\n")
    (d / "scan.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    (d / "holiday.jpg").write_bytes(os.urandom(3000))
    return d / "holiday.jpg"


def make_text_and_pdf_only(d: Path) -> Path:
    (d / "readme.txt").write_text("photos go here\n")
    (d / "scan.pdf").write_bytes(b"%PDF-1.7\n")
    return d


def make_truncated_jpeg(d: Path) -> Path:
    _noise_image(d / "a.png")
    _truncated(d / "b.jpg")
    return d / "b.jpg"


def make_truncated_png(d: Path) -> Path:
    _truncated(d / "half.png")
    return d / "half.png"


def make_png_header_only(d: Path) -> Path:
    _noise_image(d / "x.png")
    (d / "x.png").write_bytes((d / "x.png").read_bytes()[:33])
    return d / "x.png"


def make_decompression_bomb(d: Path) -> Path:
    _png_claiming(d / "bomb.png", 100_000, 100_000)
    return d / "bomb.png"


def make_empty_folder(d: Path) -> Path:
    return d


def make_object_npy(d: Path) -> Path:
    np.save(d / "calib.npy", np.array([OpenOnUnpickle(d.parent / "UNPICKLED")], dtype=object), allow_pickle=True)
    return d / "calib.npy"


def make_object_npz(d: Path) -> Path:
    np.savez(d / "calib.npz", x=np.array([OpenOnUnpickle(d.parent / "UNPICKLED")], dtype=object))
    return d / "calib.npz"


def make_npz_wrong_shape(d: Path) -> Path:
    np.savez(d / "mnist.npz", x=np.zeros((10, 28, 28), np.float32))
    return d / "mnist.npz"


def make_npz_unnamed_arrays(d: Path) -> Path:
    np.savez(d / "two.npz", train=np.zeros((3, 32, 32, 1), np.float32), test=np.zeros((3, 32, 32, 1), np.float32))
    return d / "two.npz"


def make_npz_not_zip(d: Path) -> Path:
    (d / "calib.npz").write_bytes(b"PK\x03\x04" + os.urandom(200))
    return d / "calib.npz"


def make_npz_damaged(d: Path) -> Path:
    np.savez_compressed(d / "calib.npz", x=np.random.default_rng(0).random((50, 32, 32, 1), np.float32))
    data = bytearray((d / "calib.npz").read_bytes())
    data[200:400] = bytes(b ^ 0xFF for b in data[200:400])  # inside the deflate stream of 'x'
    (d / "calib.npz").write_bytes(bytes(data))
    return d / "calib.npz"


def make_npy_random_bytes(d: Path) -> Path:
    (d / "calib.npy").write_bytes(os.urandom(500))
    return d / "calib.npy"


def make_npy_truncated(d: Path) -> Path:
    np.save(d / "calib.npy", np.ones((20, 32, 32, 1), np.float32))
    data = (d / "calib.npy").read_bytes()
    (d / "calib.npy").write_bytes(data[: len(data) // 3])
    return d / "calib.npy"


def make_npy_nan(d: Path) -> Path:
    x = np.random.default_rng(0).random((8, 32, 32, 1), np.float32)
    x[3, 4, 5, 0] = np.nan
    np.save(d / "calib.npy", x)
    return d / "calib.npy"


def make_npy_no_samples(d: Path) -> Path:
    np.save(d / "calib.npy", np.zeros((0, 32, 32, 1), np.float32))
    return d / "calib.npy"


def make_npy_strings(d: Path) -> Path:
    np.save(d / "calib.npy", np.full((4, 32, 32, 1), "x"))
    return d / "calib.npy"


def make_text_file(d: Path) -> Path:
    (d / "calib.csv").write_text("1,2,3\n")
    return d / "calib.csv"


def make_missing(d: Path) -> Path:
    return d / "no such folder"


# id: (maker, what the sentence says); the maker returns the path the sentence must name.
BAD = {
    "non-images (text, PDF, random .jpg)": (make_non_images, "holiday.jpg cannot be read: it is not an image"),
    "only text and a PDF": (make_text_and_pdf_only, "holds no images"),
    "truncated JPEG": (make_truncated_jpeg, "it is truncated"),
    "truncated PNG": (make_truncated_png, "it is truncated"),
    "PNG cut inside its header": (make_png_header_only, "cannot be read"),
    "decompression-bomb PNG": (make_decompression_bomb, "more pixels than can be decoded safely"),
    "empty folder": (make_empty_folder, "holds no images"),
    ".npy of objects (pickle)": (make_object_npy, "pickled data"),
    ".npz of objects (pickle)": (make_object_npz, "pickled data"),
    ".npz of the wrong shape": (make_npz_wrong_shape, "has shape (10, 28, 28), but input 'image' takes samples of shape (32, 32, 1)"),
    ".npz with unnamed arrays": (make_npz_unnamed_arrays, "name one after input 'image' or call it 'x'"),
    ".npz that is not a zip": (make_npz_not_zip, "not a NumPy .npz archive"),
    ".npz damaged inside": (make_npz_damaged, "damaged"),
    ".npy of random bytes": (make_npy_random_bytes, "not a NumPy array file"),
    ".npy truncated": (make_npy_truncated, "it is truncated"),
    ".npy with NaN": (make_npy_nan, "NaN or infinite"),
    ".npy with no samples": (make_npy_no_samples, "holds no samples"),
    ".npy of strings": (make_npy_strings, "does not fit input 'image'"),
    "a .csv file": (make_text_file, "must be a folder of images or a .npy/.npz file"),
    "a path that is not there": (make_missing, "does not exist"),
}


def bad_case(tmp_path: Path, case: str) -> tuple[Path, Path]:
    """(the path given to --calib, the path the sentence must name)"""
    folder = tmp_path / "calib data"
    folder.mkdir()
    named = BAD[case][0](folder)
    given = named if named.suffix in (".npy", ".npz", ".csv") or named == folder or not named.exists() else folder
    return given, named


def convert_int8(calib: Path, out: Path, samples: int = 100):
    from edgewizard.core.convert.run import convert

    options = ConvertOptions(calibration=CalibrationSpec(sources=((None, str(calib)),), samples=samples))
    return convert(str(sample_model_path()), LoadOptions(), Selection(), ["tflite-int8"], str(out), options)


@pytest.mark.parametrize("case", list(BAD))
def test_bad_calibration_is_refused_before_anything_is_written(tmp_path, case):
    given, named = bad_case(tmp_path, case)
    out = tmp_path / "out"
    started = time.monotonic()
    with pytest.raises(UserError) as err:
        convert_int8(given, out)
    assert time.monotonic() - started < LIMIT_S
    message = one_sentence(err.value.message, given, named)
    assert BAD[case][1] in message and str(named) in message
    assert not out.exists()  # not even the output folder it would have made
    assert not (tmp_path / "UNPICKLED").exists()  # the pickle was never loaded


def test_bad_calibration_after_a_good_target_leaves_the_folder_as_it_was(tmp_path):
    """tflite-float first, then int8 with bad data: the data is read before any target, so nothing lands."""
    from edgewizard.core.convert.run import convert

    given, _ = bad_case(tmp_path, "truncated JPEG")
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    options = ConvertOptions(calibration=CalibrationSpec(sources=((None, str(given)),)))
    with pytest.raises(UserError, match="b.jpg cannot be read"):
        convert(str(sample_model_path()), LoadOptions(), Selection(), ["tflite-float", "tflite-int8"], str(out), options)
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]


def test_mixed_sizes_and_colour_modes_are_resized_and_converted(tmp_path):
    """core/calibrate.py documents images as resized to the input and converted to its channels: RGB,
    RGBA, palette, CMYK and grayscale photos of any size all feed the sample's 32x32x1 input."""
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    _noise_image(folder / "big rgb.jpg", (640, 480))
    _noise_image(folder / "tall.png", (20, 90), "RGBA")
    _noise_image(folder / "nested" / "tiny.gif", (3, 5), "P")
    _noise_image(folder / "gray.bmp", (32, 32), "L")
    _noise_image(folder / "print.jpg", (50, 50), "CMYK")
    samples = load_calibration(CalibrationSpec(sources=((None, str(folder)),)), (SAMPLE_INPUT,))
    assert [s[0].shape for s in samples] == [(1, 32, 32, 1)] * 5
    assert all(0.0 <= s[0].min() and s[0].max() <= 1.0 for s in samples)
    manifest = convert_int8(folder, tmp_path / "out")
    assert [f.name for f in manifest.artifacts[0].files] == ["digits_cnn_int8.tflite"]


def test_grayscale_photos_feed_an_rgb_input(tmp_path):
    folder = tmp_path / "gray"
    folder.mkdir()
    Image.new("L", (10, 10), 51).save(folder / "g.png")
    (x,), = load_calibration(CalibrationSpec(sources=((None, str(folder)),)), (RGB_INPUT,))
    assert x.shape == (1, 24, 24, 3) and np.allclose(x, 51 / 255)


def test_a_folder_with_one_image_converts(tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    _noise_image(folder / "only.png", (32, 32), "L")
    manifest = convert_int8(folder, tmp_path / "out")
    assert (tmp_path / "out" / "digits_cnn_int8.tflite").is_file()
    assert manifest.options["calibration"]["sources"] == [{"input": None, "source": str(folder)}]


def _zip_bomb_npz(path: Path, samples: int) -> None:
    """An .npz whose array 'x' unpacks to samples x 32x32x1 float32 zeros, streamed so that making it
    costs no memory either."""
    header = {"descr": "<f4", "fortran_order": False, "shape": (samples, 32, 32, 1)}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, z.open("x.npy", "w", force_zip64=True) as f:
        np.lib.format.write_array_header_1_0(f, header)
        row = bytes(32 * 32 * 4)
        for _ in range(samples // 1000):
            f.write(row * 1000)


def test_a_huge_npz_costs_only_the_samples_it_gives(tmp_path):
    path = tmp_path / "bomb.npz"
    _zip_bomb_npz(path, 25_000)  # 102 MB unpacked, ~0.1 MB on disk
    assert path.stat().st_size < 2**20
    tracemalloc.start()
    try:
        samples = load_calibration(CalibrationSpec(sources=((None, str(path)),), samples=50), (SAMPLE_INPUT,))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(samples) == 50 and peak < 20 * 2**20, peak


def test_column_major_arrays_give_the_right_samples(tmp_path):
    x = np.random.default_rng(1).random((6, 32, 32, 1), np.float32)
    np.save(tmp_path / "f.npy", np.asfortranarray(x))
    samples = load_calibration(CalibrationSpec(sources=((None, str(tmp_path / "f.npy")),), samples=4), (SAMPLE_INPUT,))
    assert len(samples) == 4 and np.array_equal(samples[3][0], x[3:4])


# ---------------------------------------------------------------- the same through the command line


@pytest.mark.parametrize("case", [".npy of objects (pickle)"])  # the other cases differ only in-process
def test_command_line_exit_2_one_sentence_nothing_written(tmp_path, case):
    given, named = bad_case(tmp_path, case)
    out = tmp_path / "out"
    started = time.monotonic()
    r = ew("convert", "-t", "tflite-int8", "--calib", given, "-o", out, cwd=tmp_path)
    assert time.monotonic() - started < LIMIT_S
    line = cli_error(r, 2)
    assert BAD[case][1] in line and str(named) in line
    one_sentence(line, given, named)
    assert not out.exists() and not (tmp_path / "UNPICKLED").exists()


def test_a_zip_bomb_npz_as_verification_data_is_refused_before_unpacking(tmp_path):
    from edgewizard.core.verify.data import VerifyData, load_inputs

    path = tmp_path / "bomb.npz"
    _zip_bomb_npz(path, 25_000)  # 102 MB unpacked from ~0.1 MB: verify reads whole arrays, so it must not open it
    tracemalloc.start()
    try:
        with pytest.raises(UserError, match=r"bomb.npz is refused: its member x.npy would unpack to 97.7 MB .* "
                                            r"which no real set of samples does \(a zip bomb\); nothing was extracted\."):
            load_inputs(VerifyData.from_path(str(path)), (SAMPLE_INPUT,))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2**20, peak
