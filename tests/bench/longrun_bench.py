"""Prints how the GUI process and the bench agent grow over a 100,000-inference benchmark run in the
wizard's Benchmark step with the live plot on screen (issue 10, "Long runs"): resident memory, open
file descriptors and threads, sampled from /proc every few seconds; growth from the start of
measuring to the end; and the GUI's fds and threads before the run and after it ended (leaks).

The model is the bundled sample converted to tflite-float, run on tflite:CPU. A short run first
creates the plot and imports pyqtgraph, so the figures are about the long run, not first use.
tests/bench/bench_memory.py is the same figure for the CLI (`edgewizard bench`).

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python tests/bench/longrun_bench.py [inferences] [every_s]
 or: xvfb-run -a .venv/bin/python tests/bench/longrun_bench.py"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.hardening.proc_sampling import children, open_files, settle, thread_names, usage  # noqa: E402


def convert_sample(folder: Path) -> str:
    exe = str(Path(sys.executable).with_name("edgewizard"))
    subprocess.run([exe, "convert", "--target", "tflite-float", "-o", str(folder)], check=True, capture_output=True)
    return str(folder / "digits_cnn_float.tflite")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    every = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    folder = Path(tempfile.mkdtemp(prefix="ew-longrun-bench-"))
    model = convert_sample(folder)

    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from edgewizard.gui.main_window import MainWindow
    from edgewizard.gui.settings import Settings

    app = QApplication([])
    w = MainWindow(settings=Settings(QSettings(str(folder / "s.ini"), QSettings.IniFormat)), welcome=False)
    w.show()
    page = w.page("Benchmark")
    w.stack.setCurrentWidget(page)  # the plot is on screen and repainted, as a person would watch it
    page.model.addItem(Path(model).name, model)
    page.model.setCurrentIndex(page.model.count() - 1)
    page.device.setCurrentIndex(page.device.findData("tflite:CPU"))

    def wait_for(condition, timeout_s: float) -> None:
        loop, check = QEventLoop(), QTimer()
        deadline = time.monotonic() + timeout_s
        check.timeout.connect(lambda: loop.quit() if condition() or time.monotonic() > deadline else None)
        check.start(50)
        loop.exec()
        check.stop()

    wait_for(lambda: not w.jobs.busy, 120)  # the window's TensorFlow warm-up in the worker is over
    wait_for(lambda: False, 1.0)
    before_any, threads_any = usage(), thread_names()
    page.count.setValue(2000)
    page.start()
    wait_for(lambda: page.active is None, 120)
    # Baseline of the long run: after a first run, which creates the plot and imports numpy (whose
    # BLAS pool adds a thread) and pyqtgraph, so the figures are about the long run.
    before = settle("self", before_any, fd_slack=0, thread_slack=1)
    before_fds, before_threads = open_files(), thread_names()

    kids_before = set(children())
    timeline = []  # (t, measured, GUI usage, agent usage, run state)
    page.count.setValue(count)
    t0 = time.monotonic()
    page.start()
    run = page.active
    agent_pid = [None]

    def sample() -> None:
        if agent_pid[0] is None:
            new = [k for k in children() if k not in kids_before]
            agent_pid[0] = new[0] if new else None
        timeline.append((time.monotonic() - t0, len(run.bench.samples), usage(),
                         usage(agent_pid[0]) if agent_pid[0] else None, run.bench.state))

    sampler = QTimer()
    sampler.timeout.connect(sample)
    sampler.start(int(every * 1000))
    QTimer.singleShot(300, sample)
    wait_for(lambda: page.active is None, 3600)
    sampler.stop()
    wall = time.monotonic() - t0
    end = usage()
    after = settle("self", before, timeout_s=10)
    result = run.result
    print(f"Benchmark step, live plot on screen ({os.environ.get('QT_QPA_PLATFORM') or 'xcb'}): sample CNN tflite-float "
          f"on tflite:CPU, {result.count:,} inferences in {wall:.0f} s, status {result.status}")
    print(f"  median {result.median_ms:.4f} ms, {result.throughput_fps:,.0f}/s; the plot's buffer holds {run.n:,} points")
    print(f"  {'t (s)':>6} {'measured':>9}   {'GUI process':<44}   bench agent")
    for t, n, g, a, state in timeline:
        print(f"  {t:6.0f} {n:9,}   {g.line():<44}   {a.line() if a else '(' + state + ')'}")
    measuring = [row for row in timeline if row[1] > 0 and row[3] is not None]
    if measuring:
        first, last = measuring[0], measuring[-1]
        print(f"  growth while measuring ({first[1]:,} -> {last[1]:,} inferences): GUI {last[2].minus(first[2]).growth()}; "
              f"agent {last[3].minus(first[3]).growth()}")
    print(f"  GUI before any run:        {before_any.line()}")
    print(f"  GUI before the long run:   {before.line()}  (after a 2,000-inference first run; new threads: "
          f"{sorted((Counter(before_threads) - Counter(threads_any)).elements()) or 'none'})")
    print(f"  GUI at the end of the run: {end.line()}")
    print(f"  GUI after it ended:        {after.line()}  -> {after.minus(before).growth()} vs before the long run")
    leaked_fds = {fd: p for fd, p in open_files().items() if before_fds.get(fd) != p}
    extra_threads = sorted((Counter(thread_names()) - Counter(before_threads)).elements())
    ours = [t.name for t in threading.enumerate() if t.name.startswith(("edgewizard-agent", "edgewizard-bench"))]
    print(f"  fds not there before: {leaked_fds or 'none'}; new thread names: {extra_threads or 'none'}; "
          f"run threads still alive: {ours or 'none'}")
    print(f"  agent after the end: {'gone' if agent_pid[0] and usage(agent_pid[0]) is None else agent_pid[0]}")
    print(f"  machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end; goal: growth under 50 MB, "
          "fds and threads back to before")
    w.close()
    del w
    app.shutdown()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
