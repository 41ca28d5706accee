"""Prints the time of `edgewizard inspect` on Keras MobileNetV2 (weights=None): cold (a fresh
`edgewizard` process: Python, worker start, TensorFlow import, load) vs with a warm worker
(TensorFlow already imported; a new file, and the same file again from the worker's cache).

Run: .venv/bin/python tests/bench/inspect_warm_vs_cold.py"""
from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _models import mobilenet_v2  # noqa: E402

from edgewizard.core.jobs import JobRunner  # noqa: E402

REPEAT = 3


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="ew-bench-"))
    model, _ = mobilenet_v2(folder)
    exe = str(Path(sys.executable).with_name("edgewizard"))
    cold = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        subprocess.run([exe, "inspect", str(model)], check=True, stdout=subprocess.DEVNULL)
        cold.append(time.perf_counter() - t0)
    warm_new, warm_cached = [], []
    with JobRunner() as runner:
        runner.run("edgewizard.core.jobs:_import_heavy")
        for i in range(REPEAT):
            copy = folder / f"copy{i}.keras"
            shutil.copy(model, copy)
            t0 = time.perf_counter()
            runner.run("edgewizard.core.steps:inspect", str(copy))
            warm_new.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            runner.run("edgewizard.core.steps:inspect", str(copy))
            warm_cached.append(time.perf_counter() - t0)
    med = statistics.median
    print("edgewizard inspect, Keras MobileNetV2 (weights=None), median of", REPEAT)
    print(f"  cold (new process, TF import, load):  {med(cold):6.2f} s")
    print(f"  warm worker, file not seen before:    {med(warm_new):6.2f} s   ({med(cold) / med(warm_new):.1f}x faster)")
    print(f"  warm worker, same file (cached):      {med(warm_cached) * 1000:6.1f} ms")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
