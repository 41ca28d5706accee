"""Files EdgeWizard writes follow the person's umask and are never world-writable: the atomic writer,
the bench exports, the settings file and a saved plot in-process; convert (models + manifest.json),
verify, bench --csv and report from the command line under umask 027, which tells apart honouring the
umask (0640) from mkstemp's fixed 0600 and from a fixed 0644/0666."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from edgewizard.core.files import write_atomic

EXE = str(Path(sys.executable).with_name("edgewizard"))


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, want", [(0o022, 0o644), (0o077, 0o600), (0o027, 0o640), (0o002, 0o664), (0o000, 0o664)])
@pytest.mark.parametrize("data", ["text ü", b"\x00bytes"])
def test_write_atomic_follows_the_umask_and_never_gives_others_write(tmp_path, mask, want, data):
    with umask(mask):
        path = write_atomic(tmp_path / "out.json", data)
    assert mode(path) == want
    assert path.read_bytes() == (data.encode() if isinstance(data, str) else data)
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_write_atomic_replacing_a_file_takes_the_umask_not_the_old_mode(tmp_path):
    old = tmp_path / "manifest.json"
    old.write_text("old")
    old.chmod(0o666)
    with umask(0o022):
        write_atomic(old, "new")
    assert mode(old) == 0o644 and old.read_text() == "new"


@pytest.mark.parametrize("mask, want", [(0o022, 0o644), (0o077, 0o600)])
def test_bench_exports_follow_the_umask(tmp_path, mask, want):
    from edgewizard.core.bench.result import BenchResult, write_csv, write_json

    with umask(mask):
        write_csv(tmp_path / "samples.csv", [1.0, 2.0], [3.0])
        write_json(tmp_path / "summary.json", BenchResult.from_samples(
            [1.0, 2.0], device="tflite:CPU", runtime="test", warmup_count=1, load_ms=None, threads=None, model="m.tflite",
            host="here", status="finished"))
    assert {p.name: mode(p) for p in tmp_path.iterdir()} == {"samples.csv": want, "summary.json": want}


@pytest.mark.parametrize("mask, want", [(0o022, 0o644), (0o027, 0o640)])
def test_settings_and_a_saved_plot_follow_the_umask(qtbot, tmp_path, mask, want):
    """The settings file (QSettings) and a plot saved as the Benchmark page does (widget.grab().save())."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QLabel

    from edgewizard.gui.settings import Settings

    label = QLabel("plot")
    qtbot.addWidget(label)
    with umask(mask):
        settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
        settings.set_value("bench/last", "x")
        settings.sync()
        assert label.grab().save(str(tmp_path / "plot.png"))
    assert {p.name: mode(p) for p in tmp_path.iterdir() if not p.name.startswith(".")} == \
           {"settings.ini": want, "plot.png": want}


def _ew(*args):
    r = subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, timeout=600, umask=0o027)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r


def test_command_line_outputs_follow_the_umask(tmp_path):
    """convert into a folder it creates, verify (verify.json), bench --csv and report, all under umask 027."""
    out = tmp_path / "new" / "converted"
    _ew("convert", "--target", "tflite-float", "--target", "openvino-fp16", "-o", out)
    model = next(out.glob("*.tflite"))
    _ew("verify", out, "--random-samples", "8")
    _ew("bench", model, "--device", "tflite:CPU", "-n", "20", "--csv", out / "bench.csv")
    _ew("report", out)
    files = {p.relative_to(tmp_path).as_posix(): mode(p) for p in tmp_path.rglob("*")}
    names = {Path(k).name for k in files}
    assert {"manifest.json", "verify.json", "bench.csv", "report.html", model.name} <= names
    assert any(n.endswith(".xml") for n in names) and any(n.endswith(".bin") for n in names)
    want = {k: (0o750 if (tmp_path / k).is_dir() else 0o640) for k in files}
    assert files == want
    assert not any(n.startswith(".") for n in names), "a staging folder or temp file was left behind"
