"""A batch conversion watched from outside: many distinct sample-size Keras CNNs converted in ONE
`edgewizard convert` call, with the CLI's and its worker's memory, fds and threads read from /proc
after chosen models (for tests/hardening/test_long_runs.py and tests/bench/longrun_batch.py)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .proc_sampling import Usage, children, job_worker, usage

ROOT = Path(__file__).resolve().parents[2]
HEADER = re.compile(r"^\[(\d+)/(\d+)\] ")  # "[k/N] model -> folder", printed before model k is submitted
SUMMARY = re.compile(r"^\d+ models into ")  # printed after the last model, before the worker shuts down


def tiny_cnn(i: int):
    """Model i: 32x32x1 in, 10 classes out like the sample; two conv blocks with (4 + i % 8, 8 + i % 5)
    filters, its own seed, and every other one ending in global pooling instead of Flatten."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(1000 + i)
    x = inputs = keras.Input((32, 32, 1), name="image")
    x = layers.Conv2D(4 + i % 8, 3, padding="same", activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(name="pool1")(x)
    x = layers.Conv2D(8 + i % 5, 3, padding="same", activation="relu", name="conv2")(x)
    if i % 2:
        x = layers.GlobalAveragePooling2D(name="gap")(x)
    else:
        x = layers.Flatten(name="flat")(layers.MaxPooling2D(name="pool2")(x))
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=f"cnn_{i + 1:03d}")


def make_models(folder: Path, n: int) -> list[str]:
    """n distinct models as folder/cnn_001.keras ..., written by a child process (Keras stays out of ours)."""
    folder.mkdir(parents=True, exist_ok=True)
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "from tests.hardening.long_batch import tiny_cnn\n"
            f"for i in range({n}):\n"
            f"    tiny_cnn(i).save({str(folder)!r} + f'/cnn_{{i + 1:03d}}.keras')\n")
    made = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""})
    if made.returncode:
        raise RuntimeError(f"Making the test models failed:\n{made.stderr[-2000:]}")
    return sorted(str(p) for p in folder.glob("cnn_*.keras"))


@dataclass
class BatchRun:
    exit_code: int = -1
    seconds: float = 0.0
    summary: str = ""
    stderr: str = ""
    # after model k: (CLI usage, worker usage, worker pid)
    after: dict[int, tuple[Optional[Usage], Optional[Usage], Optional[int]]] = field(default_factory=dict)
    peak_cli_kb: int = 0
    peak_worker_kb: int = 0
    workers: set[int] = field(default_factory=set)  # worker pids seen: one warm worker means one pid
    left_behind: list[int] = field(default_factory=list)  # the CLI's children still alive once it exited


def convert_watched(models: list[str], out: Path, targets: list[str], marks: set[int]) -> BatchRun:
    """Run `edgewizard convert MODELS -t ... -o out` and sample it after each model in marks."""
    exe = str(Path(sys.executable).with_name("edgewizard"))
    argv = [exe, "convert", *models, "-o", str(out)]
    for t in targets:
        argv += ["-t", t]
    run = BatchRun()
    started = time.monotonic()
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as cli:
        kids = _follow(cli, run, len(models), marks)
    run.seconds = time.monotonic() - started
    # multiprocessing's resource tracker ends on its own a moment after the CLI (at EOF on its pipe).
    deadline = time.monotonic() + 5
    while (alive := [k for k in sorted(kids) if usage(k) is not None]) and time.monotonic() < deadline:
        time.sleep(0.1)
    run.left_behind = alive
    return run


def _follow(cli, run: BatchRun, n: int, marks: set[int]) -> set[int]:
    """Read the CLI's output to its end, sampling as models finish; returns every child pid seen."""
    stop = threading.Event()
    kids: set[int] = set()

    def watch() -> None:  # peaks and the worker pids, five times a second
        while not stop.is_set():
            c, w = usage(cli.pid), job_worker(cli.pid)
            kids.update(children(cli.pid))
            if c:
                run.peak_cli_kb = max(run.peak_cli_kb, c.rss_kb)
            if w and (wu := usage(w)):
                run.workers.add(w)
                run.peak_worker_kb = max(run.peak_worker_kb, wu.rss_kb)
            time.sleep(0.2)

    errors: list[str] = []
    watcher = threading.Thread(target=watch, daemon=True)
    reader = threading.Thread(target=lambda: errors.append(cli.stderr.read()), daemon=True)  # never blocks the CLI
    watcher.start()
    reader.start()

    def sample(done: int) -> None:
        w = job_worker(cli.pid)
        run.after[done] = (usage(cli.pid), usage(w) if w else None, w)

    for line in cli.stdout:
        m = HEADER.match(line)
        if m and int(m.group(1)) - 1 in marks:
            sample(int(m.group(1)) - 1)
        elif SUMMARY.match(line):
            sample(n)
            run.summary = line.strip()
    run.exit_code = cli.wait()
    reader.join()
    run.stderr = "".join(errors)
    stop.set()
    watcher.join()
    return kids
