"""core.arrays: the one reader of .npy/.npz files, with its zip-bomb guard."""
from __future__ import annotations

import tracemalloc
import zipfile

import numpy as np
import pytest

from edgewizard.core import arrays
from edgewizard.core.arrays import ArrayFile
from edgewizard.core.errors import UserError


def _lying_npz(path, members: int, claimed: int) -> None:
    """An .npz whose members each claim `claimed` bytes unpacked in the zip directory, while
    holding only a few real bytes: the directory is all a bomb check may read."""
    with zipfile.ZipFile(path, "w") as z:
        for k in range(members):
            z.writestr(f"a{k}.npy", b"tiny")
    data = bytearray(path.read_bytes())
    # Patch the central directory's uncompressed size (offset 24 in each record).
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        data[pos + 24:pos + 28] = claimed.to_bytes(4, "little")
        pos = data.find(b"PK\x01\x02", pos + 4)
    path.write_bytes(bytes(data))


def test_a_normal_npz_and_npy_load(tmp_path):
    x = np.arange(24, dtype=np.float32).reshape(4, 3, 2)
    y = np.array([0, 1, 1, 0])
    np.savez(tmp_path / "d.npz", x=x, y=y)
    np.save(tmp_path / "d.npy", x)
    with ArrayFile(tmp_path / "d.npz", "test data") as f:
        assert f.is_archive and f.names == ("x", "y")
        assert f.header("x").shape == (4, 3, 2)
        assert np.array_equal(f.read("x"), x) and np.array_equal(f.read("y"), y)
        assert np.array_equal(f.read("x", rows=2), x[:2])
    with ArrayFile(tmp_path / "d.npy", "test data") as f:
        assert not f.is_archive and f.names == ()
        got = f.read()
        assert np.array_equal(got, x) and got.flags.writeable


def test_a_compressed_npz_and_a_column_major_array_read_right(tmp_path):
    x = np.random.default_rng(0).random((6, 5, 3)).astype(np.float32)
    np.savez_compressed(tmp_path / "c.npz", x=np.asfortranarray(x), big_endian=x.astype(">f4"))
    with ArrayFile(tmp_path / "c.npz", "test data") as f:
        assert np.array_equal(f.read("x"), x)
        assert np.array_equal(f.read("x", rows=4), x[:4])
        assert np.array_equal(f.read("big_endian"), x)


def test_members_claiming_a_huge_total_are_refused_from_the_directory(tmp_path):
    path = tmp_path / "bomb.npz"
    per_member = 2**32 - 1  # the most a zip without zip64 can claim
    _lying_npz(path, members=arrays.MAX_UNPACKED_BYTES // per_member + 1, claimed=per_member)
    with pytest.raises(UserError) as err:
        ArrayFile(path, "verification data")
    message = err.value.message
    assert message.startswith(f"{path} is refused: its arrays would unpack to ") and message.endswith(
        "EdgeWizard reads; nothing was extracted.")
    assert message.count(". ") == 0  # one sentence


def _packed_bomb(path) -> None:
    """An .npz whose one member, x.npy (25,000 samples of 32x32x1 float32, 97.7 MB), packs to a few hundred KB."""
    header = {"descr": "<f4", "fortran_order": False, "shape": (25_000, 32, 32, 1)}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, z.open("x.npy", "w", force_zip64=True) as f:
        np.lib.format.write_array_header_1_0(f, header)
        for _ in range(25):
            f.write(bytes(32 * 32 * 4) * 1000)


def test_a_member_packed_like_a_bomb_is_refused_before_it_is_read_whole(tmp_path):
    path = tmp_path / "bomb.npz"
    _packed_bomb(path)
    tracemalloc.start()
    try:
        with ArrayFile(path, "verification data") as f:
            assert f.read("x", rows=3).shape == (3, 32, 32, 1)  # a few samples unpack only a little
            with pytest.raises(UserError, match=r"bomb.npz is refused: its member x.npy would unpack to 97.7 MB "
                                                r".*\(a zip bomb\); nothing was extracted\.$"):
                f.read("x")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2**20, peak


@pytest.mark.parametrize("archive", [False, True])
def test_a_pickled_object_array_is_refused_and_never_unpickled(tmp_path, archive):
    marker = tmp_path / "UNPICKLED"

    class Boom:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    obj = np.array([Boom()], dtype=object)
    path = tmp_path / ("o.npz" if archive else "o.npy")
    if archive:
        np.savez(path, x=obj)
    else:
        np.save(path, obj, allow_pickle=True)
    with ArrayFile(path, "calibration data") as f, pytest.raises(UserError) as err:
        f.read("x" if archive else None)
    subject = "array 'x'" if archive else "it"
    assert err.value.message == (
        f"Cannot read the calibration data {path}: {subject} holds Python objects (pickled data), which EdgeWizard "
        "never loads because unpickling can run code; save a numeric array instead.")
    assert not marker.exists()


def test_bad_files_are_said_in_one_sentence(tmp_path):
    (tmp_path / "r.npy").write_bytes(b"not numpy at all")
    (tmp_path / "z.npz").write_bytes(b"plain text")
    np.save(tmp_path / "t.npy", np.ones((20, 8), np.float32))
    (tmp_path / "t.npy").write_bytes((tmp_path / "t.npy").read_bytes()[:300])
    cases = {"r.npy": "it is not a NumPy array file.", "z.npz": "it is not a NumPy .npz archive (or it is damaged).",
             "t.npy": "it is truncated (the file ends before its data does)."}
    for name, problem in cases.items():
        with pytest.raises(UserError) as err:
            with ArrayFile(tmp_path / name, "test data") as f:
                f.read()
        assert err.value.message == f"Cannot read the test data {tmp_path / name}: {problem}"


def test_a_damaged_member_is_said_to_be_damaged(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.arange(4000, dtype=np.float32))
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped data byte: the zip's CRC check fails at the member's end
    path.write_bytes(bytes(raw))
    with ArrayFile(path, "test data") as f, pytest.raises(UserError) as err:
        f.read("x")
    assert err.value.message == f"Cannot read the test data {path}: array 'x' is damaged."


def test_bench_input_data_that_would_unpack_a_bomb_is_refused_before_the_agent_gets_it(tmp_path):
    """The bench agent reads --data whole wherever it runs (a Pi over ssh); the host refuses a bomb first."""
    from edgewizard.core.bench.launch import Where
    from edgewizard.core.bench.runner import BenchRequest, BenchRun

    path = tmp_path / "bomb.npz"
    _packed_bomb(path)
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3" + bytes(64))
    run = BenchRun(BenchRequest(model=str(model), device="tflite:CPU", where=Where(), data=str(path)))
    with pytest.raises(UserError, match=r"bomb.npz is refused: .*\(a zip bomb\); nothing was extracted\.$"):
        run.start()
    assert run.plan_key == ""  # nothing was started
