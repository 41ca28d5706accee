"""Long runs (issue 10), shortened for CI: a 20,000-inference benchmark in the Benchmark step with the
live plot on screen, and a 12-model batch conversion in one `edgewizard convert` call. Memory stays
bounded and no file descriptor, thread or process outlives the run. The full-size figures (100,000
inferences, 50 models) are printed by tests/bench/longrun_bench.py and tests/bench/longrun_batch.py.

Slack, where a count may move without a leak. The GUI's baseline is taken after a short first run,
so the plot, numpy and pyqtgraph are already set up: after the long run it must hold no more fds than
before (a leaked pipe to the agent is one fd) and at most 1 more thread (a Qt pool thread may start
lazily); our own threads (edgewizard-agent*, edgewizard-bench) must all be gone, exactly. The batch
worker may differ by 2 fds and 1 thread between model 1 and model 12 (TensorFlow and OpenVINO open
files and start pools on first use; a per-model leak would show as 11 or more); the CLI process,
which is all ours, gets no slack."""
from __future__ import annotations

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from tests.hardening.long_batch import convert_watched, make_models  # noqa: E402
from tests.hardening.proc_sampling import children, settle, usage  # noqa: E402

pytestmark = pytest.mark.longrun

MB = 1024  # usage() counts kB
GROWTH_LIMIT_KB = 50 * MB
GUI_FD_SLACK, WORKER_FD_SLACK, THREAD_SLACK = 0, 2, 1


def our_threads() -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t.name.startswith(("edgewizard-agent", "edgewizard-bench")))


@pytest.fixture
def sample_tflite(tmp_path_factory):
    from edgewizard.core.cli import main

    out = tmp_path_factory.mktemp("sample")
    assert main(["convert", "-t", "tflite-float", "-o", str(out)]) == 0
    return out / "digits_cnn_float.tflite"


@pytest.fixture
def window(window):
    """The shared wizard (tests/conftest.py), with the Benchmark page's own threads ended before it goes."""
    yield window
    window.page("Benchmark").shutdown()


def test_20000_inferences_with_the_live_plot_leak_nothing(qtbot, window, sample_tflite):
    w = window
    page = w.page("Benchmark")
    w.stack.setCurrentWidget(page)  # the plot is on screen and repainted while it runs
    page.model.addItem(sample_tflite.name, str(sample_tflite))
    page.model.setCurrentIndex(page.model.count() - 1)
    page.device.setCurrentIndex(page.device.findData("tflite:CPU"))
    qtbot.waitUntil(lambda: not w.jobs.busy, timeout=180_000)  # the window's warm-up of the worker
    # A short first run creates the plot and imports numpy and pyqtgraph (numpy starts a BLAS
    # thread): the baseline is taken after it, so it measures the long run, not first use.
    page.count.setValue(300)
    page.start()
    qtbot.waitUntil(lambda: page.active is None, timeout=60_000)
    qtbot.waitUntil(lambda: not our_threads(), timeout=10_000)
    before, kids = usage(), set(children())

    page.count.setValue(20_000)
    page.start()
    run = page.active
    qtbot.waitUntil(lambda: run.bench.state == "running", timeout=60_000)
    agent = [k for k in children() if k not in kids]
    assert len(agent) == 1, "the run started one agent process"
    peak = [0]

    def watch() -> bool:
        peak[0] = max(peak[0], usage().rss_kb)
        return page.active is None

    qtbot.waitUntil(watch, timeout=180_000)
    assert run.result.status == "finished" and run.result.count == 20_000 and run.n == 20_000
    after = settle("self", before, timeout_s=10, fd_slack=GUI_FD_SLACK, thread_slack=THREAD_SLACK)
    assert peak[0] - before.rss_kb < GROWTH_LIMIT_KB, (before, peak[0])
    assert after.rss_kb - before.rss_kb < GROWTH_LIMIT_KB, (before, after)
    assert after.fds <= before.fds + GUI_FD_SLACK, (before, after)
    assert after.threads <= before.threads + THREAD_SLACK, (before, after)
    assert our_threads() == []
    assert usage(agent[0]) is None, "the agent process was reaped"


def test_a_12_model_batch_in_one_call_leaks_nothing(tmp_path):
    models = make_models(tmp_path / "models", 12)
    run = convert_watched(models, tmp_path / "out", ["tflite-float", "openvino-fp16"], {1, 12})
    assert run.exit_code == 0, run.stderr[-2000:]
    assert run.summary == f"12 models into {tmp_path / 'out'}: 12 converted, 0 failed."
    assert len(run.workers) == 1, "one warm worker converted every model"
    (cli1, worker1, pid1), (cli12, worker12, pid12) = run.after[1], run.after[12]
    assert pid1 == pid12 and worker1 and worker12
    assert (cli12.fds, cli12.threads) == (cli1.fds, cli1.threads)
    assert cli12.rss_kb - cli1.rss_kb < GROWTH_LIMIT_KB
    assert abs(worker12.fds - worker1.fds) <= WORKER_FD_SLACK, (worker1, worker12)
    assert abs(worker12.threads - worker1.threads) <= THREAD_SLACK, (worker1, worker12)
    assert worker12.rss_kb - worker1.rss_kb < GROWTH_LIMIT_KB, (worker1, worker12)
    assert run.left_behind == [], "the worker (and multiprocessing's tracker) ended with the CLI"
    for m in models:
        stem = os.path.basename(m)[:-len(".keras")]
        assert (tmp_path / "out" / stem / f"{stem}_float.tflite").is_file()
        assert (tmp_path / "out" / stem / f"{stem}_fp16.xml").is_file()
