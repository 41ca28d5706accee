"""The agent started elsewhere: under another interpreter path, and over ssh to an OpenSSH server
this test starts on 127.0.0.1 (the model sent over the connection, nothing installed remotely)."""
from __future__ import annotations

import os
import stat
import sys

import pytest

from edgewizard.core.bench.devices import discover
from edgewizard.core.bench.launch import Where
from edgewizard.core.bench.runner import BenchRequest, BenchRun
from edgewizard.core.errors import MissingDependency, UserError
from tests.models import bench_sshd
from tests.models.bench_models import tiny_ir, tiny_tflite


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench models")
    return {"tflite": tiny_tflite(folder / "tiny.tflite"), "ir": tiny_ir(folder / "tiny.xml")}


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    server, why = bench_sshd.start(tmp_path_factory.mktemp("sshd"))
    if server is None:
        pytest.skip(f"cannot start a test OpenSSH server: {why}")
    yield server
    server.stop()


def test_second_interpreter_path(models, tmp_path):
    # Another path to a Python (here a wrapper around this one, in a folder with a space and CJK
    # characters); it leaves a mark so the test knows the run really went through it.
    folder = tmp_path / "其他 python"
    folder.mkdir()
    mark = folder / "used"
    wrapper = folder / "python"
    wrapper.write_text(f'#!/bin/sh\ntouch "{mark}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    run = BenchRun(BenchRequest(str(models["tflite"]), count=200, where=Where(python=str(wrapper)))).start()
    assert run.wait(60) and run.state == "finished", run.error
    assert mark.exists() and run.result().count == 200 and run.result().host == f"this computer ({wrapper})"


def test_interpreter_that_does_not_exist(models, tmp_path):
    with pytest.raises(UserError, match="does not exist; give the path to a python executable"):
        BenchRun(BenchRequest(str(models["tflite"]), where=Where(python=str(tmp_path / "python9")))).start()


def where(sshd, python=sys.executable) -> Where:
    return Where(python=python, ssh_host=bench_sshd.HOST_ALIAS, ssh_config=str(sshd.ssh_config))


@pytest.mark.parametrize("kind,device", [("tflite", "tflite:CPU"), ("ir", "openvino:CPU")])
def test_over_ssh(sshd, models, kind, device):
    run = BenchRun(BenchRequest(str(models[kind]), device, count=300, warmup=2, where=where(sshd))).start()
    assert run.wait(120), "the ssh run did not end"
    assert run.state == "finished", run.error
    r = run.result()
    assert r.count == 300 and r.host == bench_sshd.HOST_ALIAS and r.device == device and 0 < r.median_ms
    assert run.hello["pid"] != os.getpid() and run.ready["inputs"][0]["shape"] == [1, 64]


def test_stop_over_ssh_is_graceful(sshd, models):
    run = BenchRun(BenchRequest(str(models["tflite"]), warmup=0, where=where(sshd))).start()
    while len(run.samples) < 1000 and not run.done:
        run.wait(0.02)
    run.stop()
    assert run.wait(30) and run.state == "stopped" and run.error is None and len(run.samples) >= 1000


def test_probe_over_ssh(sshd):
    found = discover(where(sshd))
    assert found.where == bench_sshd.HOST_ALIAS and "tflite:CPU" in found.ready
    assert not found.status("edgetpu").ready


def test_missing_remote_python_and_unreachable_host(sshd, models):
    run = BenchRun(BenchRequest(str(models["tflite"]), count=5, where=where(sshd, "/opt/no/python3"))).start()
    assert run.wait(60) and isinstance(run.error, MissingDependency)
    assert run.error.message == (f"/opt/no/python3 was not found on {bench_sshd.HOST_ALIAS}: install Python 3 there "
                                 "or give the full path of a Python that is there.")
    cfg = sshd.ssh_config.read_text().replace(f"Port {sshd.port}", "Port 1")  # nothing listens on port 1
    (sshd.ssh_config.parent / "bad_config").write_text(cfg)
    bad = Where(python=sys.executable, ssh_host=bench_sshd.HOST_ALIAS, ssh_config=str(sshd.ssh_config.parent / "bad_config"))
    run = BenchRun(BenchRequest(str(models["tflite"]), count=5, where=bad)).start()
    assert run.wait(60) and isinstance(run.error, MissingDependency)
    assert run.error.message.startswith(f"ssh could not reach {bench_sshd.HOST_ALIAS} (") and "without asking for a password" in run.error.message


def test_host_names_cannot_smuggle_ssh_options():
    with pytest.raises(UserError, match="is not an ssh host name"):
        Where(ssh_host="-oProxyCommand=touch /tmp/x")
