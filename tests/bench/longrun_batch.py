"""Prints how the CLI process and its warm worker grow over a batch conversion of 50 small models in
ONE `edgewizard convert` call (issue 10, "Long runs"): resident memory, open file descriptors and
threads, read from /proc from outside after model 1, 10, 25 and 50, plus the peaks.

The models are distinct tiny Keras CNNs the size of the bundled sample (tests/hardening/long_batch.py).
Goal: no per-model leak of fds or threads, and memory levelling off rather than climbing by a fixed
amount per model. tests/hardening/test_long_runs.py asserts a shorter version in CI.

Run: .venv/bin/python tests/bench/longrun_batch.py [models] [targets, comma-separated]"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.hardening.long_batch import convert_watched, make_models  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    targets = (sys.argv[2] if len(sys.argv) > 2 else "tflite-float,openvino-fp16").split(",")
    marks = sorted({1, min(10, n), min(25, n), n})
    folder = Path(tempfile.mkdtemp(prefix="ew-longrun-batch-"))
    t0 = time.monotonic()
    models = make_models(folder / "models", n)
    print(f"{len(models)} distinct sample-size Keras CNNs written in {time.monotonic() - t0:.0f} s; "
          f"converting them to {', '.join(targets)} in one `edgewizard convert` call")
    run = convert_watched(models, folder / "out", targets, set(marks))
    print(f"  {run.summary or '(no summary line)'}  exit {run.exit_code}, {run.seconds:.0f} s "
          f"({run.seconds / max(1, n):.1f} s per model)")
    if run.stderr.strip():
        print("  stderr: " + "\n          ".join(run.stderr.strip().splitlines()[-5:]))
    print(f"  {'after model':>11}   {'CLI process':<44}   worker process")
    for k in marks:
        c, w, pid = run.after.get(k, (None, None, None))
        print(f"  {k:>11}   {c.line() if c else 'not sampled':<44}   {w.line() + f' (pid {pid})' if w else 'gone'}")
    first, last = run.after.get(1), run.after.get(n)
    if first and last and first[0] and last[0]:
        print(f"  growth 1 -> {n}:  CLI {last[0].minus(first[0]).growth()}")
        if first[1] and last[1]:
            per = (last[1].rss_kb - first[1].rss_kb) / 1024 / max(1, n - 1)
            print(f"               worker {last[1].minus(first[1]).growth()}  ({per:+.2f} MB per model)")
    if 10 in run.after and last and run.after[10][1] and last[1] and n > 10:
        per = (last[1].rss_kb - run.after[10][1].rss_kb) / 1024 / (n - 10)
        print(f"  worker growth per model after the 10th: {per:+.2f} MB")
    print(f"  peaks: CLI {run.peak_cli_kb / 1024:.1f} MB, worker {run.peak_worker_kb / 1024:.1f} MB; "
          f"{len(run.workers)} worker process(es) seen (1 = one warm worker for all); "
          f"processes left behind after exit: {run.left_behind or 'none'}")
    print(f"  machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
