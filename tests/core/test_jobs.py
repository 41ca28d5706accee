"""The worker process: results, progress and logs, user errors, crashes, cancel, warm reuse."""
from __future__ import annotations

import threading
import time

import pytest

from edgewizard.core.errors import Cancelled, InternalError, UserError
from edgewizard.core.jobs import Done, JobRunner, Log, Progress

J = "tests.core.fault_jobs:"


@pytest.fixture
def runner():
    r = JobRunner()
    yield r
    r.shutdown()


def test_result_progress_and_log_lines_arrive(runner):
    events = list(runner.submit(J + "fault_echo", 42).events())
    assert isinstance(events[-1], Done)
    assert events[-1].result["value"] == 42
    assert Progress(0.5, "half way") in events
    assert Log("a line on stdout from the worker") in events


def test_worker_stays_warm_between_jobs(runner):
    first = runner.run(J + "fault_echo", 1)["pid"]
    second = runner.run(J + "fault_echo", 2)["pid"]
    assert first == second == runner.worker_pid


def test_user_error_crosses_the_process_boundary_intact(runner):
    with pytest.raises(UserError, match="fake.h5 is not a model"):
        runner.run(J + "fault_raise_user_error")
    assert runner.run(J + "fault_echo", 3)["value"] == 3  # the worker survived


def test_an_unexpected_exception_is_an_internal_error_with_traceback(runner):
    with pytest.raises(InternalError) as info:
        runner.run(J + "fault_raise_bug")
    assert "ZeroDivisionError" in info.value.message
    assert "Traceback" in info.value.details


def test_abort_in_worker_is_reported_and_the_next_job_works(runner):
    job = runner.submit(J + "fault_abort_after_progress")
    with pytest.raises(InternalError) as info:
        job.result()
    assert "SIGABRT" in info.value.message
    assert "abort_after_progress" in info.value.message
    assert "last words" in info.value.details  # the log up to the crash is kept for the person
    assert runner.run(J + "fault_echo", 4)["value"] == 4


def test_cancel_kills_the_worker_and_the_next_job_gets_a_fresh_one(runner):
    job = runner.submit(J + "fault_sleep_forever")
    pid = runner.worker_pid
    events = job.events()
    assert isinstance(next(events), Progress)  # it is running
    threading.Timer(0.2, job.cancel).start()
    t0 = time.monotonic()
    with pytest.raises(Cancelled):
        for _ in events:
            pass
        job.result()
    assert time.monotonic() - t0 < 10
    result = runner.run(J + "fault_echo", 5)
    assert result["value"] == 5 and result["pid"] != pid


def test_submitting_while_busy_is_refused(runner):
    job = runner.submit(J + "fault_sleep_forever")
    with pytest.raises(InternalError, match="already running"):
        runner.submit(J + "fault_echo", 1)
    job.cancel()
    with pytest.raises(Cancelled):
        job.result()


def test_only_our_own_functions_run_in_the_worker(runner):
    with pytest.raises(InternalError, match="only EdgeWizard's own steps"):
        runner.run("os:system", "true")


def test_every_worker_silences_vendor_telemetry_before_any_step(runner):
    assert runner.run(J + "probe_telemetry_blocked") == (False, "1")
