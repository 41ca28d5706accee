"""Output folders on a read-only disk, on a full disk, and on a disk that fills during the last write:
exit 2 with one sentence, no partial file, what was there before untouched, and the next conversion
into a good folder works (CLI, in-process core, and the GUI's Convert step). Real small tmpfs disks
where this process may mount them; a named ENOSPC double otherwise."""
from __future__ import annotations

import contextlib
import errno
import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from edgewizard.core import manifest as manifest_io  # whose write_atomic writes manifest.json
from edgewizard.core.convert import run as convert_run
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.errors import UserError
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.samples import sample_model_path

from .disks import CANNOT_MOUNT, can_mount, fault_enospc_on, fault_fill_disk_before, fill, listing, read_only_folder, tmpfs
from .cli_run import cli_error, ew, one_sentence

needs_mount = pytest.mark.skipif(not can_mount(), reason=CANNOT_MOUNT)
NO_SPACE = "No space left on the disk holding {}; free some space or choose another output folder."


def convert(out, targets=("tflite-float",), force=False):
    return convert_run.convert(str(sample_model_path()), LoadOptions(), Selection(), list(targets), str(out),
                               ConvertOptions(), force=force)


def no_partials(folder) -> bool:
    return not any(p.name.startswith(".") or p.name.startswith(convert_run.STAGING_PREFIX) for p in folder.rglob("*"))


# ---------------------------------------------------------------- read-only


def test_read_only_output_folder_is_refused_with_nothing_written(tmp_path):
    with read_only_folder(tmp_path / "ro") as ro:
        if ro is None:
            pytest.skip(f"running as root and {CANNOT_MOUNT}: no folder here is read-only for root")
        with pytest.raises(UserError) as err:
            convert(ro)
        assert one_sentence(err.value.message, ro) == f"The output folder {ro} is not writable; choose another output folder."
        with pytest.raises(UserError) as err:
            convert(ro / "new folder")
        assert err.value.message.startswith(f"Cannot create the output folder {ro / 'new folder'}: ")
        one_sentence(err.value.message, ro / "new folder")
        # The command line: exit 2, one line, and still nothing there.
        line = cli_error(ew("convert", "-t", "tflite-float", "-o", ro / "out", cwd=tmp_path))
        assert f"Cannot create the output folder {ro / 'out'}" in line
        assert listing(ro) == {}
    convert(tmp_path / "good")
    assert (tmp_path / "good" / "digits_cnn_float.tflite").is_file()


# ---------------------------------------------------------------- a full disk


@needs_mount
@pytest.mark.parametrize("target", ["tflite-float", "openvino-fp32"])
def test_a_full_disk_is_said_and_leaves_the_folder_as_it_was(tmp_path, target):
    """The model file itself does not fit (64 KB disk). OpenVINO's writer says only "iostream error";
    the disk found full explains it."""
    with tmpfs(tmp_path / "disk", size="64k") as disk:
        out = disk / "out 出力"
        out.mkdir()
        (out / "earlier.txt").write_text("made before")
        before = listing(out)
        with pytest.raises(UserError) as err:
            convert(out, [target])
        assert one_sentence(err.value.message, out) == NO_SPACE.format(out)
        assert listing(out) == before and no_partials(out)
    manifest = convert(tmp_path / "good", [target])
    assert manifest.artifacts[0].target == target


@pytest.mark.parametrize("disk_kind", ["tmpfs", "ENOSPC double"])
def test_the_disk_filling_during_the_last_write_keeps_the_earlier_files(tmp_path, monkeypatch, disk_kind):
    """The manifest write (the conversion's last write) meets a full disk, after the new model was moved in
    over the earlier one (--force): the earlier model and manifest are put back, byte for byte."""
    if disk_kind == "tmpfs" and not can_mount():
        pytest.skip(CANNOT_MOUNT + "; the ENOSPC double covers this case")
    with (tmpfs(tmp_path / "disk", size="1m") if disk_kind == "tmpfs" else _plain(tmp_path / "disk")) as disk:
        out = disk / "out"
        convert(out)
        earlier = out / "digits_cnn_float.tflite"
        earlier.write_bytes(earlier.read_bytes() + b"made earlier")  # so a new copy could not pass for it
        before = listing(out)
        assert set(before) == {"digits_cnn_float.tflite", "manifest.json"}
        write = manifest_io.write_atomic
        fault = fault_fill_disk_before(write, disk) if disk_kind == "tmpfs" else fault_enospc_on(write)
        monkeypatch.setattr(manifest_io, "write_atomic", fault)
        with pytest.raises(UserError) as err:
            convert(out, force=True)
        assert len(fault.calls) == 1 and err.value.message == NO_SPACE.format(out)
        assert listing(out) == before and no_partials(out)
        monkeypatch.undo()
        (disk / "filler.bin").unlink(missing_ok=True)  # the person frees some space
        convert(out, force=True)
        assert set(listing(out)) == set(before)


@pytest.mark.parametrize("disk_kind", ["tmpfs", "ENOSPC double"])
def test_a_full_disk_at_the_second_target_keeps_the_first(tmp_path, monkeypatch, disk_kind):
    if disk_kind == "tmpfs" and not can_mount():
        pytest.skip(CANNOT_MOUNT + "; the ENOSPC double covers this case")
    with (tmpfs(tmp_path / "disk", size="1m") if disk_kind == "tmpfs" else _plain(tmp_path / "disk")) as disk:
        out = disk / "out"
        write = manifest_io.write_atomic
        fault = fault_fill_disk_before(write, disk, 2) if disk_kind == "tmpfs" else fault_enospc_on(write, 2)
        monkeypatch.setattr(manifest_io, "write_atomic", fault)
        with pytest.raises(UserError, match="No space left on the disk holding"):
            convert(out, ["tflite-float", "tflite-fp16"])
        assert len(fault.calls) == 2
        assert sorted(listing(out)) == ["digits_cnn_float.tflite", "manifest.json"] and no_partials(out)
        manifest = json.loads((out / "manifest.json").read_text())
        assert [a["target"] for a in manifest["artifacts"]] == ["tflite-float"]


@needs_mount
def test_a_full_disk_elsewhere_is_named_not_the_output_folder(tmp_path):
    """write() errors name no file: write_atomic adds its target, so a full temporary disk is the one named."""
    from edgewizard.core.files import disk_problem, write_atomic

    with tmpfs(tmp_path / "tmp disk", size="16k") as disk:
        fill(disk)
        with pytest.raises(OSError) as err:
            write_atomic(disk / "cut.pb", b"x" * 8192)
        assert err.value.filename == str(disk / "cut.pb") and sorted(listing(disk)) == ["filler.bin"]
    problem = disk_problem(err.value, tmp_path / "out")
    assert problem.message == f"No space left on the disk holding {disk}; free some space or set TMPDIR to a folder on another disk."


@pytest.mark.parametrize("code,words", [(errno.ENOSPC, "No space left on the disk holding"),
                                        (errno.EDQUOT, "(or your quota on it is used up)"),
                                        (errno.EROFS, "is read-only; choose another output folder.")])
def test_disk_errors_become_one_sentence_user_errors(tmp_path, code, words):
    from edgewizard.core.files import disk_problem

    problem = disk_problem(OSError(code, os.strerror(code)), tmp_path / "out")
    assert words in one_sentence(problem.message, tmp_path / "out") and str(tmp_path / "out") in problem.message
    assert disk_problem(OSError(errno.EIO, "I/O error"), tmp_path) is None  # not the person's disk filling: a bug report
    assert disk_problem(UserError("already said"), tmp_path) is None


@contextlib.contextmanager
def _plain(path):
    """An ordinary folder, for the ENOSPC double."""
    path.mkdir()
    yield path


# ---------------------------------------------------------------- the GUI's Convert step


TIMEOUT = 240_000


@needs_mount
def test_gui_convert_step_on_a_full_disk_shows_why_then_works_elsewhere(qtbot, window, tmp_path):
    w = window
    w.page("Model").use_sample.click()
    qtbot.waitUntil(lambda: w.state.model is not None, timeout=TIMEOUT)
    assert w.go(2)
    target = w.page("Target")
    target.device_checks["tflite"].setChecked(True)
    target.precision["tflite"].setCurrentIndex(target.precision["tflite"].findData("tflite-float"))
    with tmpfs(tmp_path / "disk", size="64k") as disk:
        out = disk / "out"
        target.output_dir.setText(str(out))
        assert w.go(3)
        page = w.page("Convert")
        with qtbot.waitSignal(w.jobs.failed, timeout=TIMEOUT):
            page.convert_button.click()
        assert page.banner.text == NO_SPACE.format(out)
        assert page.message.text() == "The conversion failed."
        assert page.files.rowCount() == 0 and page.results_box.isHidden()
        assert [s.text() for _, _, s in page.rows] in (["Failed"], ["Not run"])  # "Not run" if its start was not shown yet
        assert listing(disk) == {}
    # The app lives: the person picks another folder and converts again.
    assert w.go(2)
    target.output_dir.setText(str(tmp_path / "good"))
    assert w.go(3)
    with qtbot.waitSignal(w.jobs.finished, timeout=TIMEOUT):
        page.convert_button.click()
    assert [page.files.item(r, 0).text() for r in range(page.files.rowCount())] == ["digits_cnn_float.tflite"]
    assert not page.banner.text
