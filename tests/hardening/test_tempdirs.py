"""The private per-session temp folder (core/tempdirs.py): mode 0700, removed at exit, swept after a crash
on the next start but never while any process of that session lives, and used by the worker and the agents."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgewizard.core import tempdirs
from edgewizard.core.convert.run import STAGING_PREFIX, remove_partials
from edgewizard.core.jobs import JobRunner
from tests.hardening.fault_steps import (EXE, env_with_tmp, holds_lock, listing, py, sessions, wait_for, wait_gone,
                                         worker_of)
from tests.models.bench_models import tiny_tflite

UID = os.getuid()


def mode(p: Path) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def test_session_folder_is_private_lazy_and_removed_at_exit(tmp_path):
    code = """if True:
        import json, os, stat
        from edgewizard.core import tempdirs
        os.umask(0)  # even a careless umask gives nobody else a way in
        lazy = list(os.scandir(tempdirs.root().parent))
        s = tempdirs.session(); d = tempdirs.mkdtemp("x-")
        m = lambda p: stat.S_IMODE(os.lstat(p).st_mode)
        print(json.dumps({"lazy": [e.name for e in lazy], "session": str(s), "sub": str(d),
                          "modes": [m(tempdirs.root()), m(s), m(d)], "again": str(tempdirs.session())}))
    """
    r = py(code, tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["lazy"] == []  # importing the module makes nothing
    session = Path(out["session"])
    assert session.parent == tmp_path / f"edgewizard-{UID}" and session.name.startswith("session-")
    assert Path(out["sub"]).parent == session and out["again"] == out["session"]
    assert out["modes"] == [0o700, 0o700, 0o700]
    assert not session.exists() and sessions(tmp_path) == []  # removed at exit (atexit)


def test_cli_inspect_keeps_its_temp_in_the_session_and_removes_it_at_exit(tmp_path):
    proc = subprocess.Popen([EXE, "inspect"], env=env_with_tmp(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    worker_of(proc.pid)  # the worker runs: the session and its worker folder exist now
    found = sessions(tmp_path)
    assert len(found) == 1 and mode(found[0]) == 0o700 and mode(found[0].parent) == 0o700
    assert any(p.name.startswith("worker-") and mode(p) == 0o700 for p in found[0].iterdir())
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "Format:      Keras 3 (.keras)" in out
    assert sessions(tmp_path) == [] and list((tmp_path / f"edgewizard-{UID}").iterdir()) == []


def test_sigkilled_cli_leaves_a_session_the_next_start_sweeps(tmp_path):
    proc = subprocess.Popen([EXE, "inspect"], env=env_with_tmp(tmp_path), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    worker = worker_of(proc.pid)
    [left] = sessions(tmp_path)
    wait_for(lambda: holds_lock(worker, left / ".lock"), what="the worker to join the session")
    proc.kill()
    proc.wait()
    # The orphaned worker ends by itself at its next word to the dead CLI (while it lives, it holds the
    # session's lock, so no other start sweeps the folder from under it: see the test below).
    wait_gone(worker, timeout=120)
    assert left.is_dir() and listing(left)  # nobody could remove it at exit...
    r = subprocess.run([EXE, "bench", "--probe"], env=env_with_tmp(tmp_path), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert not left.exists() and sessions(tmp_path) == []  # ...so the next start swept it


def test_sweep_goes_by_the_lock_never_by_a_pid(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from edgewizard.core import tempdirs; "
                                  "print(tempdirs.session(), flush=True); sys.stdin.read()"],
        env=env_with_tmp(tmp_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        live = Path(holder.stdout.readline().strip())
        base = live.parent
        # A dead session whose PID now belongs to a live process (PID reuse): its lock is free, so it goes.
        reused = base / f"session-{holder.pid}-dead"
        reused.mkdir(mode=0o700)
        (reused / ".lock").touch()
        (reused / "cut.pb").write_bytes(b"left by a crash")
        young = base / "session-1-creating"  # no lock file yet: may be being created right now
        young.mkdir(mode=0o700)
        old = base / "session-2-crashed-before-locking"
        old.mkdir(mode=0o700)
        os.utime(old, (time.time() - 7200, time.time() - 7200))
        other = base / "not-a-session"
        other.mkdir()
        r = py("from edgewizard.core import tempdirs; import json; print(json.dumps([p.name for p in tempdirs.sweep()]))", tmp_path)
        assert r.returncode == 0, r.stderr
        assert live.is_dir() and young.is_dir() and other.is_dir()
        assert not reused.exists() and not old.exists()
        assert sorted(json.loads(r.stdout)) == sorted([reused.name, old.name])
    finally:
        holder.stdin.close()
        holder.wait(30)
        holder.stdout.close()
    assert not live.exists()  # its owner ended normally and removed it


def test_a_root_folder_that_is_not_ours_is_never_used(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / f"edgewizard-{UID}").symlink_to(elsewhere)  # planted by someone else in a shared /tmp
    r = py("from edgewizard.core import tempdirs; print(tempdirs.session())", tmp_path)
    assert r.returncode == 0, r.stderr
    used = Path(r.stdout.strip())
    assert elsewhere not in used.parents and list(elsewhere.iterdir()) == []
    assert used.parent.parent == tmp_path and not used.exists() and not used.parent.exists()  # fresh, private, gone at exit


def test_a_too_open_root_of_ours_is_made_private(tmp_path):
    root = tmp_path / f"edgewizard-{UID}"
    root.mkdir()
    root.chmod(0o777)
    r = py("from edgewizard.core import tempdirs; print(tempdirs.session())", tmp_path)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()).parent == root and mode(root) == 0o700


def test_worker_temp_files_land_in_the_session_and_go_with_the_worker():
    session = tempdirs.session()
    before = listing(session)
    with JobRunner() as runner:
        got = runner.run("tests.hardening.fault_steps:probe_temp")
        worker_dir = Path(got["TMPDIR"])
        assert worker_dir.parent == session and worker_dir.name.startswith("worker-")
        assert got["gettempdir"] == str(worker_dir) and got["session"] == str(worker_dir)
        assert Path(got["made"]).parent == worker_dir and Path(got["own"]).parent == worker_dir
        assert Path(got["made"], "scratch.bin").is_file()
    assert not worker_dir.exists()  # what the worker left goes with it
    assert listing(session) == before


def test_a_local_bench_agent_keeps_its_files_in_the_session(tmp_path):
    from edgewizard.core.bench.runner import BenchRequest, BenchRun

    model = tiny_tflite(tmp_path / "tiny.tflite")
    session = tempdirs.session()
    run = BenchRun(BenchRequest(str(model), warmup=0)).start()  # until stopped
    deadline = time.monotonic() + 60
    while len(run.samples) < 50:
        assert time.monotonic() < deadline and not run.done, run.error
        time.sleep(0.02)
    agent_dir = run._agent.tmp
    assert agent_dir.parent == session and agent_dir.name.startswith("agent-")
    assert [p.name.startswith("edgewizard-agent-") for p in agent_dir.iterdir()] == [True]  # its model folder
    run.stop()
    assert run.wait(30) and run.state == "stopped"
    assert not agent_dir.exists()


def test_stale_staging_folders_go_and_a_live_conversions_stays(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dead = out / f"{STAGING_PREFIX}dead"  # its process was killed: the lock file is there, nobody holds it
    dead.mkdir()
    Path(f"{dead}.lock").touch()
    (dead / "half.tflite").write_bytes(b"half")
    orphan = out / f"{STAGING_PREFIX}orphan"  # no lock file: the lock comes first, so this is an orphan
    orphan.mkdir()
    lone = out / f"{STAGING_PREFIX}lone.lock"  # killed between making the lock and the folder
    lone.touch()
    mine = out / "model.tflite"
    mine.write_bytes(b"the person's own file")
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import sys; from edgewizard.core import tempdirs; "
                               f"d, fd = tempdirs.make_held_dir({str(out)!r}, {STAGING_PREFIX!r}); "
                               f"print(d, flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        live = Path(holder.stdout.readline().strip())
        remove_partials(out)
        assert sorted(p.name for p in out.iterdir()) == sorted([live.name, f"{live.name}.lock", mine.name])
    finally:
        holder.stdin.close()
        holder.wait(30)
        holder.stdout.close()
    remove_partials(out)  # its conversion was killed before it could tidy up: now it goes too
    assert [p.name for p in out.iterdir()] == [mine.name]


@pytest.mark.parametrize("missing", ["gone", "not private"])
def test_a_child_given_a_bad_folder_makes_its_own(tmp_path, missing):
    bad = tmp_path / "given"
    if missing == "not private":
        bad.mkdir()
        bad.chmod(0o755)
    r = subprocess.run([sys.executable, "-c", "from edgewizard.core import tempdirs; print(tempdirs.session())"],
                       env=env_with_tmp(tmp_path, EDGEWIZARD_TMP=str(bad)), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()).parent == tmp_path / f"edgewizard-{UID}"


def test_sigterm_closes_the_window_stops_the_worker_and_removes_the_session(tmp_path):
    """A logout (SIGTERM) ends the GUI as its window's X does, minus the question: worker stopped,
    settings saved, the session's temp folder removed; nothing is left for a sweep."""
    home = tmp_path / "home"
    home.mkdir()
    env = env_with_tmp(tmp_path, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), QT_QPA_PLATFORM="offscreen")
    log = tmp_path / "gui.log"
    with open(log, "wb") as out:
        gui = subprocess.Popen([EXE, str(tiny_tflite(tmp_path / "tiny.tflite"))], env=env, stdout=out, stderr=out)
    try:
        worker = worker_of(gui.pid)
        wait_for(lambda: len(sessions(tmp_path)) == 1, what="the GUI's session folder")
        [session] = sessions(tmp_path)
        wait_for(lambda: holds_lock(worker, session / ".lock"), what="the worker to join the session")
        gui.terminate()
        assert gui.wait(timeout=60) == 0, log.read_text(errors="replace")[-2000:]
    finally:
        if gui.poll() is None:
            gui.kill()
    wait_gone(worker, timeout=30)
    assert not session.exists() and sessions(tmp_path) == []
    assert list(home.rglob("EdgeWizard.conf")), "the settings were not saved on the way out"
