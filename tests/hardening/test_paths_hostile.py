"""Hostile paths: spaces, both quotes, $(...), backticks, ';', '&', '|', a newline, a leading dash and
non-ASCII in model, calibration, output, data, CSV and report paths, through inspect, convert, verify,
bench (tflite:CPU), report and the GUI's Model step. They work, and nothing they name ever runs: no
PWNED file appears. ssh host strings that smuggle options or shell words are refused before ssh starts."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from edgewizard.core.bench.launch import Where  # noqa: E402
from edgewizard.core.errors import UserError  # noqa: E402
from edgewizard.core.samples import sample_calibration_path, sample_model_path, sample_test_path  # noqa: E402

from .cli_run import cli_error, ew, one_sentence  # noqa: E402

# Every shell trick in one folder name; a shell that ever saw one of these paths would create PWNED.
FOLDER = "sp ace 'q' \"dq\" $(touch PWNED) `touch PWNED` ; touch PWNED & | > x\nline modèle 模型 モデル"
MODEL = "-m $(touch PWNED) 'q' modèle 模型.keras"  # leading dash: argparse takes it as a path for its spaces
TIMEOUT = 240_000


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """(working folder, hostile folder) with the sample model, its calibration and test data inside."""
    cwd = tmp_path_factory.mktemp("hostile")
    folder = cwd / FOLDER
    folder.mkdir()
    shutil.copy(sample_model_path(), folder / MODEL)
    shutil.copy(sample_calibration_path(), folder / "calib $(touch PWNED) `touch PWNED`.npz")
    with np.load(sample_test_path()) as d:
        np.savez(folder / "test; touch PWNED 'data'.npz", x=d["x"][:40], y=d["y"][:40])
        np.save(folder / "inputs | touch PWNED.npy", d["x"][:8])
    yield cwd, folder
    assert_nothing_ran(cwd)


def assert_nothing_ran(*folders) -> None:
    places = [*folders, Path.cwd(), Path.home(), Path("/tmp")]
    for place in places:
        assert not (place / "PWNED").exists(), place
    for folder in folders:
        assert not [p for p in folder.rglob("PWNED")], folder


def test_every_command_takes_hostile_paths_and_runs_nothing(hostile):
    cwd, folder = hostile
    # inspect, with the model given relative to the working folder so its name starts with a dash
    r = ew("inspect", Path(FOLDER) / MODEL, cwd=cwd)
    assert r.returncode == 0, r.stderr
    assert "image  [?, 32, 32, 1]" in r.stdout
    # convert: model after "--", calibration and output folder hostile too
    out = folder / "out ; touch PWNED 出力"
    calib = folder / "calib $(touch PWNED) `touch PWNED`.npz"
    r = ew("convert", "-t", "tflite-float", "-t", "tflite-int8", "--calib", calib, "-o", out, "--", folder / MODEL, cwd=cwd)
    assert r.returncode == 0, r.stderr
    stem = Path(MODEL).stem
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{stem}_float.tflite", f"{stem}_int8.tflite", "manifest.json"])
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["source"]["path"] == str(folder / MODEL)
    assert manifest["options"]["calibration"]["sources"] == [{"input": None, "source": str(calib)}]
    # verify against labelled data; the original comes from the manifest's (hostile) source path
    r = ew("verify", out, "--data", folder / "test; touch PWNED 'data'.npz", "--json", cwd=cwd)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert {Path(a["path"]).name for a in report["artifacts"]} == {f"{stem}_float.tflite", f"{stem}_int8.tflite"}
    assert (out / "verify.json").is_file()
    # bench on this computer's LiteRT CPU, with hostile data and CSV paths
    csv = folder / "latency $(touch PWNED) 'q'.csv"
    r = ew("bench", out / f"{stem}_float.tflite", "-d", "tflite:CPU", "-n", "20", "--warmup", "1",
           "--data", folder / "inputs | touch PWNED.npy", "--csv", csv, "--json", cwd=cwd)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["count"] == 20
    assert len(csv.read_text().splitlines()) == 1 + 1 + 20  # header, warm-up, runs
    # report
    page = folder / "report `touch PWNED` 報告.html"
    r = ew("report", out, "-o", page, cwd=cwd)
    assert r.returncode == 0, r.stderr
    assert page.stat().st_size > 1000
    assert_nothing_ran(cwd)


def test_a_dash_name_without_spaces_needs_double_dash_and_is_refused_clearly(hostile):
    cwd, folder = hostile
    r = ew("inspect", "-x.keras", cwd=folder)
    assert r.returncode == 2 and "unrecognized arguments: -x.keras" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_gui_model_step_opens_a_hostile_path(qtbot, tmp_path, hostile):
    from PySide6.QtCore import QSettings

    from edgewizard.gui.main_window import MainWindow
    from edgewizard.gui.settings import Settings

    cwd, folder = hostile
    w = MainWindow(settings=Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)), welcome=False)
    qtbot.addWidget(w)
    w.show()
    try:
        page = w.page("Model")
        with qtbot.waitSignal(w.jobs.finished, timeout=TIMEOUT):
            page.open_model(str(folder / MODEL))
        assert w.state.model is not None and w.state.source == str(folder / MODEL)
        assert page.facts["Format"].text() == "Keras 3 (.keras)"
        assert not page.banner.text
    finally:
        w.jobs.shutdown()
        w.sink.uninstall()
    assert_nothing_ran(cwd)


# ---------------------------------------------------------------- ssh hosts

SMUGGLING = ["-oProxyCommand=touch /tmp/PWNED", "h;touch PWNED", "$(touch PWNED)@h", "user@h -p 1", "`touch PWNED`",
             "h\n-oProxyCommand=x", "h'", 'h"', "user@@h", "-p", "h -oX=y", "", " "]
PLAIN = ["raspberrypi", "pi@raspberrypi", "pi@raspberrypi.local", "my_pi-2", "192.168.1.20", "pi@fe80::1%eth0", "[::1]"]


@pytest.mark.parametrize("host", SMUGGLING)
def test_smuggling_ssh_hosts_are_refused(host):
    with pytest.raises(UserError) as err:
        Where(ssh_host=host)
    assert "is not an ssh host name" in err.value.message


@pytest.mark.parametrize("host", PLAIN)
def test_plain_ssh_hosts_pass_as_one_argument(host):
    argv = Where(ssh_host=host).argv()
    assert argv[argv.index("--") + 1] == host and argv.count(host) == 1


SENTINEL_SSH = """#!{python}
# Sentinel (a test double): records that it was started and with what, then fails as an unreachable
# host does (exit 255). It never pretends to connect.
import json, sys
with open({record!r}, "a", encoding="utf-8") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
sys.exit(255)
"""


@pytest.fixture
def sentinel_ssh(tmp_path):
    """PATH with a recording `ssh` first; yields the file where each start is recorded."""
    bin_dir, record = tmp_path / "bin", tmp_path / "ssh-starts.jsonl"
    bin_dir.mkdir()
    ssh = bin_dir / "ssh"
    ssh.write_text(SENTINEL_SSH.format(python=sys.executable, record=str(record)))
    ssh.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return env, record


@pytest.mark.parametrize("host", ["-oProxyCommand=touch PWNED", "h;touch PWNED", "$(touch PWNED)@h", "user@h -p 1"])
def test_bench_refuses_a_smuggling_host_before_ssh_starts(tmp_path, sentinel_ssh, host):
    env, record = sentinel_ssh
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3 not started anyway")
    line = cli_error(ew("bench", model, "--ssh", host, "-n", "5", cwd=tmp_path, env=env), 2)
    assert "is not an ssh host name" in line
    one_sentence(line.removeprefix("edgewizard: "), repr(host))
    assert not record.exists()  # ssh never started
    assert_nothing_ran(tmp_path)


def test_the_sentinel_sees_a_plain_host_so_its_silence_above_means_something(tmp_path, sentinel_ssh):
    env, record = sentinel_ssh
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3")
    r = ew("bench", model, "--ssh", "pi@raspberrypi", "-n", "5", "--timeout", "20", cwd=tmp_path, env=env)
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "ssh could not reach pi@raspberrypi" in r.stderr
    (argv,) = [json.loads(ln) for ln in record.read_text().splitlines()]
    assert argv[argv.index("--") + 1] == "pi@raspberrypi"
