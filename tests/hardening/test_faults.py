"""Faults (issue 10): the worker killed (SIGKILL) or aborted (SIGABRT) mid-conversion, cancels at seeded random
points of every step, and bench agents stopped or killed mid-run. Each time: the user is told in one sentence,
finished targets stay (with a manifest saying which ran), nothing partial or temporary is left, and the next
job works."""
from __future__ import annotations

import json
import os
import pty
import random
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

from edgewizard.core import tempdirs
from edgewizard.core.calibrate import CalibrationSpec
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.convert.run import STAGING_PREFIX, remove_partials
from edgewizard.core.errors import Cancelled, InternalError
from edgewizard.core.jobs import Done, Failed, JobRunner, Progress
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.samples import sample_calibration_path, sample_model_path
from tests.hardening.fault_steps import EXE, env_with_tmp, listing, wait_gone, worker_of

SAMPLE = str(sample_model_path())
CALIB = str(sample_calibration_path())
TARGETS = ["tflite-float", "openvino-fp32", "tflite-int8"]
OPTIONS = ConvertOptions(calibration=CalibrationSpec(sources=((None, CALIB),)))
CONVERT = "edgewizard.core.convert.run:convert"


def assert_only_finished_files(out: Path, requested=TARGETS) -> list[str]:
    """What a failed conversion may leave: the files its manifest lists, the manifest, nothing else."""
    names = {p.name for p in out.iterdir()} if out.exists() else set()
    assert not any(n.startswith(STAGING_PREFIX) or n.endswith(".tmp") for n in names), names
    if not names:
        return []
    manifest = json.loads((out / "manifest.json").read_text())
    listed = {f["name"] for a in manifest["artifacts"] for f in a["files"]}
    assert names == listed | {"manifest.json"}
    for a in manifest["artifacts"]:
        for f in a["files"]:
            assert (out / f["name"]).stat().st_size == f["size_bytes"]  # whole files, as recorded
    done = [a["target"] for a in manifest["artifacts"]]
    assert set(done) <= set(requested)
    return done


def one_sentence(stderr: str) -> str:
    """The CLI's error line (the terminal also carries progress bars drawn with carriage returns)."""
    lines = [seg.strip() for line in stderr.splitlines() for seg in line.split("\r") if seg.strip()]
    errors = [ln for ln in lines if ln.startswith("edgewizard:")]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr
    return errors[0]


def cli_with_signal(args: list[str], tmp: Path, signum: int, at: str) -> tuple[int, str]:
    """Run the CLI with a terminal for stderr (so it draws progress), and send `signum` to its worker
    as soon as the progress line shows `at`. Returns the exit code and everything on the terminal."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([EXE, *args], env=env_with_tmp(tmp, COLUMNS="200"), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    worker = worker_of(proc.pid)
    seen, sent = b"", False
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every writer closed the terminal
                    chunk = b""
                seen += chunk
                if not sent and at.encode() in seen:
                    os.kill(worker, signum)
                    sent = True
                if chunk:
                    continue
            if proc.poll() is not None:
                break
        proc.wait(timeout=120)
    finally:
        os.close(master)
    assert sent, f"the progress never showed {at!r}: {seen[-2000:]!r}"
    return proc.returncode, seen.decode("utf-8", "replace")


def test_worker_killed_mid_conversion_from_the_cli_keeps_what_was_finished(tmp_path):
    out = tmp_path / "out"
    args = ["convert", SAMPLE, *[a for t in TARGETS for a in ("-t", t)], "--calib", CALIB, "-o", str(out)]
    code, terminal = cli_with_signal(args, tmp_path / "tmp", signal.SIGKILL, at="openvino-fp32:")
    assert code == 1
    line = one_sentence(terminal)
    assert "killed by SIGKILL" in line and "'convert'" in line and line.count(". ") == 0, line
    done = assert_only_finished_files(out)
    assert "tflite-float" in done and len(done) < len(TARGETS), done  # finished before the kill: kept
    assert f"Kept in {out} (finished before it stopped): digits_cnn_float.tflite" in terminal  # and said so
    assert tempdirs_left(tmp_path / "tmp") == []  # the CLI removed its session at exit


def test_cli_killed_mid_conversion_leaves_no_partial_files(tmp_path):
    """The app itself killed (not its worker): the orphaned worker stops at its next word to the dead CLI and
    its own clean-up removes the staging folder; what finished is kept."""
    out = tmp_path / "out"
    args = ["convert", SAMPLE, *[a for t in TARGETS for a in ("-t", t)], "--calib", CALIB, "-o", str(out)]
    master, slave = pty.openpty()
    proc = subprocess.Popen([EXE, *args], env=env_with_tmp(tmp_path / "tmp", COLUMNS="200"),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    worker = worker_of(proc.pid)
    seen = b""
    try:
        while b"openvino-fp32:" not in seen:
            ready, _, _ = select.select([master], [], [], 60)
            assert ready and proc.poll() is None, seen[-2000:]
            seen += os.read(master, 65536)
        proc.kill()
        proc.wait()
    finally:
        os.close(master)
    wait_gone(worker, timeout=60)
    done = assert_only_finished_files(out)  # no staging folder, no lock file, no half model
    assert "tflite-float" in done and len(done) < len(TARGETS), done


def tempdirs_left(tmp: Path) -> list[str]:
    return sorted(str(p.relative_to(tmp)) for p in tmp.glob("edgewizard-*/*"))


# ---------------------------------------------------------------- through JobRunner, as the GUI runs steps


@pytest.fixture(scope="module")
def runner():
    with JobRunner() as r:
        yield r


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    """The folder the SIGABRT test converts into (and finally converts completely)."""
    return tmp_path_factory.mktemp("converted")


@pytest.fixture(scope="module")
def artifacts(runner, converted):
    """Converted files of the sample for the verify step: the SIGABRT test's, or made here when run alone."""
    files = [converted / "digits_cnn_float.tflite", converted / "digits_cnn_fp32.xml"]
    if not all(f.is_file() for f in files):
        runner.run(CONVERT, SAMPLE, LoadOptions(), Selection(), TARGETS, str(converted), OPTIONS, force=True)
    return [str(f) for f in files]


def test_worker_aborted_mid_conversion_keeps_what_was_finished(runner, converted):
    session = tempdirs.session()
    before = listing(session)
    out = converted
    job = runner.submit(CONVERT, SAMPLE, LoadOptions(), Selection(), TARGETS, str(out), OPTIONS)
    final = None
    for event in job.events():
        if isinstance(event, Progress) and event.message.startswith("openvino-fp32:") and runner.worker_pid:
            os.kill(runner.worker_pid, signal.SIGABRT)  # what a crash inside a native library does
        final = event
    assert isinstance(final, Failed) and isinstance(final.error, InternalError)
    message = final.error.message
    assert "killed by SIGABRT" in message and "'convert'" in message and message.count(". ") == 0
    remove_partials(out)  # what the CLI and the GUI do after a failed conversion
    done = assert_only_finished_files(out)
    assert "tflite-float" in done and len(done) < len(TARGETS)
    assert listing(session) == before  # the dead worker's scratch files went with it
    # A crashed run elsewhere left a staging folder here: the next conversion into this folder removes it.
    stale = out / f"{STAGING_PREFIX}crashed"
    stale.mkdir()
    (stale / ".lock").touch()
    (stale / "digits_cnn_int8.tflite").write_bytes(b"half a model")
    # The next job works, in a fresh worker, into the same folder.
    manifest = runner.run(CONVERT, SAMPLE, LoadOptions(), Selection(), TARGETS, str(out), OPTIONS, force=True)
    assert [a.target for a in manifest.artifacts] == TARGETS
    assert sorted(assert_only_finished_files(out)) == sorted(TARGETS)


def step_call(step: str, out: Path, artifacts_of) -> tuple:
    if step == "inspect":
        return ("edgewizard.core.steps:inspect", SAMPLE)
    if step == "validate":
        return ("edgewizard.core.validate.run:validate", SAMPLE, LoadOptions(), Selection(),
                ["edgetpu", "openvino:CPU", "tflite:CPU"], OPTIONS)
    if step == "convert":
        return (CONVERT, SAMPLE, LoadOptions(), Selection(), TARGETS, str(out), OPTIONS)
    return ("edgewizard.core.verify.run:verify", SAMPLE, LoadOptions(), Selection(), artifacts_of())


# Progress events each step sends on the sample in a warm worker (measured; a fresh one sends a few more
# while loading): a cancel point is drawn among them.
EVENTS = {"inspect": 4, "validate": 17, "convert": 15, "verify": 10}
STEPS = list(EVENTS)


def cancel_cases(seeds):
    return [pytest.param(step, seed, id=f"{step}-{seed}") for seed in seeds for step in STEPS]


def cancel_once(runner, step, seed, tmp_path, request):
    """Cancel `step` at a seeded random point (the k-th progress event, 0 = right after submitting)."""
    rng = random.Random(f"{step}/{seed}")
    k = 0 if seed == "at-submit" else rng.randint(1, EVENTS[step])
    runner.shutdown()  # a fresh worker: no model cached from an earlier job, so the step does all its work
    session = tempdirs.session()
    before = listing(session)
    out = tmp_path / "out"
    job = runner.submit(*step_call(step, out, lambda: request.getfixturevalue("artifacts")))
    if k == 0:
        job.cancel()
    seen = 0
    final = None
    for event in job.events():
        if isinstance(event, Progress):
            seen += 1
            if seen == k:
                time.sleep(rng.uniform(0, 0.05))
                job.cancel()
        final = event
    # Cancelled, or finished first when the point drawn was past the end: both must leave things whole.
    assert isinstance(final, Done) or isinstance(final.error, Cancelled), final
    if step == "convert":
        remove_partials(out)
        done = assert_only_finished_files(out)
        assert isinstance(final, Done) or len(done) < len(TARGETS)
    else:
        assert not out.exists()  # inspect, validate and verify write nothing outside the temp folder
    left = listing(session)
    assert not left - before, "temporary files were left behind"
    if seen >= k:  # cancel() killed the worker: its folder went with it
        assert not [n for n in left if n.startswith("worker-")], left
    # The next job works: a fresh worker answers (cheap; the heavy steps run again in the next case).
    got = runner.run("tests.hardening.fault_steps:probe_temp")
    assert Path(got["session"]).parent == session
    return final


@pytest.mark.parametrize("step,seed", cancel_cases([0, 1]))
def test_cancel_at_random_points_leaves_nothing(runner, step, seed, tmp_path, request):
    final = cancel_once(runner, step, seed, tmp_path, request)
    assert not isinstance(final, Done), "these seeds cancel mid-step; the step finished first"


@pytest.mark.longrun
@pytest.mark.parametrize("step,seed", cancel_cases([2, 3, 4, "at-submit"]))
def test_cancel_at_more_random_points_leaves_nothing(runner, step, seed, tmp_path, request):
    cancel_once(runner, step, seed, tmp_path, request)


def test_after_those_faults_every_step_runs_to_the_end(runner, tmp_path, artifacts):
    info = runner.run("edgewizard.core.steps:inspect", SAMPLE)
    assert [t.name for t in info.graph.inputs] == ["image"]
    reports = runner.run(*step_call("validate", tmp_path, None))
    assert len(reports) == 3
    report = runner.run(*step_call("verify", tmp_path, lambda: artifacts))
    assert [c.status for c in report.artifacts] == ["ok", "ok"]


# ---------------------------------------------------------------- bench agents


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tests.models.bench_models import tiny_tflite

    return tiny_tflite(tmp_path_factory.mktemp("bench") / "tiny.tflite")


def bench(model, **kw):
    from edgewizard.core.bench.runner import BenchRequest, BenchRun

    return BenchRun(BenchRequest(str(model), warmup=0, **kw)).start()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bench_stopped_at_a_random_point_keeps_its_samples_and_leaves_nothing(tiny, seed):
    session = tempdirs.session()
    before = listing(session)
    run = bench(tiny, count=200_000)
    time.sleep(random.Random(seed).uniform(0, 1.0))  # starting, loading or measuring
    run.stop()
    assert run.wait(30)
    assert run.state in ("stopped", "finished") and run.error is None
    assert run.result().count == len(run.samples)
    assert listing(session) == before
    again = bench(tiny, count=50)
    assert again.wait(60) and again.state == "finished" and len(again.samples) == 50


def test_bench_agent_killed_mid_run_says_so_and_keeps_the_samples(tiny):
    session = tempdirs.session()
    before = listing(session)
    run = bench(tiny)  # until stopped
    deadline = time.monotonic() + 60
    while len(run.samples) < 500:
        assert time.monotonic() < deadline and not run.done, run.error
        time.sleep(0.02)
    os.kill(run._agent.proc.pid, signal.SIGKILL)
    assert run.wait(30)
    assert run.state == "failed" and "stopped unexpectedly (killed by SIGKILL)" in run.error.message
    assert "those are kept" in run.error.message and len(run.samples) >= 500
    assert run.result().count == len(run.samples)
    assert listing(session) == before  # the agent's copy of the model went with it
    again = bench(tiny, count=50)
    assert again.wait(60) and again.state == "finished"
