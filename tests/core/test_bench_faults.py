"""What the runner does when the agent misbehaves (a fault-injection test double of the agent, see
tests/models/bench_fault_agent.py): samples measured before are kept, hung agents time out, garbage
and other protocol versions are refused; and stop() keeps everything."""
from __future__ import annotations

import time

import pytest

from edgewizard.core.bench import protocol
from edgewizard.core.bench.runner import STOP_GRACE_S, BenchRequest, BenchRun
from edgewizard.core.errors import InternalError
from tests.models.bench_fault_agent import fault_agent
from tests.models.bench_models import tiny_tflite


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_tflite(tmp_path_factory.mktemp("bench") / "tiny.tflite")


def run_fault(model, mode, after=300, **kw):
    request = BenchRequest(str(model), "tflite:CPU", count=100_000, warmup=0, agent_source=fault_agent(mode, after), **kw)
    run = BenchRun(request).start()
    assert run.wait(60), "the run did not end"
    return run


def test_runtime_failing_mid_run_keeps_every_earlier_sample(model):
    run = run_fault(model, "raise", after=300)
    assert run.state == "failed" and len(run.samples) == 300  # the agent sends its last batch before the error
    assert "failed after 300 inferences" in run.error.message and "device unplugged" in run.error.message
    r = run.result()
    assert r.status == "failed" and r.count == 300 and r.error == run.error.message and r.median_ms >= 1.0


def test_agent_dying_mid_run_keeps_the_samples_it_sent(model):
    run = run_fault(model, "exit", after=300)
    assert run.state == "failed" and isinstance(run.error, InternalError)
    assert "stopped unexpectedly (exit code 9)" in run.error.message
    # Batches leave every 50 ms; what was still in the dying agent's hands is lost, the rest is kept.
    assert 0 < len(run.samples) <= 300 and run.result().count == len(run.samples)


def test_hung_agent_times_out_while_measuring(model):
    t0 = time.monotonic()
    run = run_fault(model, "hang", after=200, idle_timeout_s=1.0)
    assert time.monotonic() - t0 < 20
    assert run.state == "failed" and "sent nothing for 1 s while measuring" in run.error.message
    assert 0 < len(run.samples) <= 200 and f"the {len(run.samples)} inferences measured before are kept" in run.error.message
    assert run._agent.proc.returncode is not None  # killed, not left behind


def test_hung_model_load_times_out(model):
    run = run_fault(model, "hang-load", load_timeout_s=1.0)
    assert run.state == "failed" and "while loading the model" in run.error.message and len(run.samples) == 0


def test_agent_that_never_says_hello_times_out_on_the_idle_limit(model):
    t0 = time.monotonic()
    run = run_fault(model, "hang-hello", idle_timeout_s=1.0)  # load_timeout_s stays 300 s
    assert time.monotonic() - t0 < 20
    assert run.state == "failed" and run.error.message.endswith("sent nothing for 1 s while starting, so it was stopped as hung.")


def test_stop_while_a_load_hangs_ends_after_the_grace_period(model):
    run = BenchRun(BenchRequest(str(model), warmup=0, agent_source=fault_agent("hang-load"))).start()
    while run.state != "loading":
        assert not run.wait(0.02)
    t0 = time.monotonic()
    run.stop()
    assert run.wait(STOP_GRACE_S + 5) and time.monotonic() - t0 >= STOP_GRACE_S - 0.5
    assert run.state == "stopped" and run.error is None and run._agent.proc.returncode < 0  # killed


def test_garbage_line_is_refused_and_earlier_samples_stay(model):
    run = run_fault(model, "garbage")
    assert run.state == "failed" and isinstance(run.error, protocol.ProtocolError)
    assert "not part of EdgeWizard's bench protocol: 'Segmentation fault (core dumped)'" in run.error.message
    assert len(run.samples) > 0


def test_text_before_hello_is_refused_with_a_hint(model):
    run = run_fault(model, "banner")
    assert run.state == "failed" and "'Welcome to Raspberry Pi OS!'" in run.error.message
    assert ".bashrc" in run.error.message


def test_other_protocol_version_is_refused(model):
    run = run_fault(model, "protocol-99")
    assert run.state == "failed" and isinstance(run.error, protocol.ProtocolError)
    assert "speaks bench protocol 99, but this EdgeWizard speaks protocol 1" in run.error.message


@pytest.mark.parametrize("line,problem", [
    (b"hello world", "not part of EdgeWizard's bench protocol"),
    (b"[1, 2]", "not part of EdgeWizard's bench protocol"),
    (b'{"type": "launch"}', "not part of EdgeWizard's bench protocol"),
    (b'{"type": "batch", "ms": [1.0]}', "without a valid 't'"),
    (b'{"type": "batch", "ms": [1.0, -2], "t": 1}', "not non-negative numbers"),
    (b'{"type": "batch", "ms": [true], "t": 1}', "not non-negative numbers"),
    (b'{"type": "hello", "protocol": "1", "python": "3.6"}', "without a valid 'protocol'"),
    (b"\xff\xfe", "not part of EdgeWizard's bench protocol"),
])
def test_protocol_parser_refuses_bad_lines(line, problem):
    with pytest.raises(protocol.ProtocolError, match=problem):
        protocol.parse(line)


def test_stop_keeps_every_sample_and_the_agent_ends_cleanly(model):
    run = BenchRun(BenchRequest(str(model), warmup=0)).start()  # no count, no duration: until stopped
    deadline = time.monotonic() + 30
    while len(run.samples) < 2000 and time.monotonic() < deadline:
        time.sleep(0.02)
    before = len(run.samples)
    run.stop()
    assert run.wait(10)
    assert run.state == "stopped" and run.error is None and len(run.samples) >= before >= 2000
    assert run._agent.proc.returncode == 0  # it said "end" and left on its own; nothing was killed
    assert run.result().status == "stopped"
