"""Prints the memory growth of a 100,000-inference `edgewizard bench` run on a tiny model: the CLI
process's resident memory (RSS) before and after the run and at its peak, and the bench agent's RSS
once measuring began vs at the end. The CLI runs in this process (cli.main), so /proc/self is it.
Goal (issue 7): growth well under 50 MB.

Run: .venv/bin/python tests/bench/bench_memory.py [inferences]"""
from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from contextlib import redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.models.bench_models import tiny_tflite  # noqa: E402


def rss_kb(pid: str = "self") -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children() -> list[str]:
    kids = []
    for task in os.listdir("/proc/self/task"):
        try:
            kids += open(f"/proc/self/task/{task}/children").read().split()
        except OSError:
            pass
    return kids


def main() -> None:
    from edgewizard.core.cli import main as cli

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    folder = Path(tempfile.mkdtemp(prefix="ew-memory-"))
    model = tiny_tflite(folder / "tiny.tflite", n=128, layers=8)  # ~10-30 µs per inference
    with redirect_stdout(io.StringIO()):  # warm: first imports and allocations out of the way
        cli(["bench", str(model), "-n", "1000", "--json"])
    timeline: list[tuple[float, int, int]] = []  # (t, CLI RSS, agent RSS)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            kids = children()
            timeline.append((time.monotonic(), rss_kb(), rss_kb(kids[0]) if kids else 0))
            time.sleep(0.01)

    before = rss_kb()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = io.StringIO()
    t0 = time.monotonic()
    with redirect_stdout(out):
        code = cli(["bench", str(model), "-n", str(n), "--warmup", "5", "--json", "--csv", str(folder / "s.csv")])
    wall = time.monotonic() - t0
    after = rss_kb()
    done.set()
    sampler.join()
    result = json.loads(out.getvalue())
    agent = [a for _, _, a in timeline if a]
    peak = max(c for _, c, _ in timeline)
    # The agent's RSS once it reached its working size (a quarter into the run) vs its last reading.
    settled = agent[len(agent) // 4] if agent else 0
    print(f"edgewizard bench, tiny LiteRT model (8 x FC 128), {result['count']:,} inferences in {wall:.1f} s, exit {code}")
    print(f"  median {result['median_ms']:.4f} ms, {result['throughput_fps']:,.0f}/s")
    print(f"  CLI process RSS: before {before / 1024:6.1f} MB, after {after / 1024:6.1f} MB, peak {peak / 1024:6.1f} MB "
          f"-> growth {(after - before) / 1024:+.1f} MB (peak {(peak - before) / 1024:+.1f} MB)")
    if agent:
        print(f"  bench agent RSS: measuring {settled / 1024:6.1f} MB, last seen {agent[-1] / 1024:6.1f} MB "
              f"-> growth {(agent[-1] - settled) / 1024:+.1f} MB ({len(agent)} readings)")
    print("  goal: growth under 50 MB")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
