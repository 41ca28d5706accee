"""Latency samples as they arrive (a thread-safe buffer read by cursor) and the BenchResult
statistics computed from them at any moment: first run, mean, median, p90, p99, min, max, throughput."""
from __future__ import annotations

import json
import threading
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ..files import write_atomic
from .profile import Profile

SUMMARY_KEYS = ("device", "runtime", "count", "first_ms", "mean_ms", "median_ms", "p90_ms", "p99_ms",
                "min_ms", "max_ms", "throughput_fps")


class SampleBuffer:
    """Append-only latencies in ms. One thread appends; any thread reads with a cursor, so a plot
    timer takes only what is new: `new, cursor = buf.read_from(cursor)`."""

    def __init__(self) -> None:
        self._data = array("d")
        self._lock = threading.Lock()

    def extend(self, values: Sequence[float]) -> None:
        with self._lock:
            self._data.extend(values)

    def read_from(self, cursor: int) -> tuple[list[float], int]:
        with self._lock:
            new = self._data[cursor:].tolist()
            return new, cursor + len(new)

    def snapshot(self) -> array:
        """A copy of every sample so far, as array('d') (8 bytes each; numpy reads it without copying)."""
        with self._lock:
            return array("d", self._data)

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)


@dataclass(frozen=True)
class BenchResult:
    device: str
    runtime: str  # "ai_edge_litert 2.3.0", "openvino 2026.4.1", "pycoral 2.0.0"
    count: int
    first_ms: Optional[float]  # the very first inference (cold), warm-up or not
    mean_ms: Optional[float]
    median_ms: Optional[float]
    p90_ms: Optional[float]
    p99_ms: Optional[float]
    min_ms: Optional[float]
    max_ms: Optional[float]
    stdev_ms: Optional[float]
    throughput_fps: Optional[float]  # measured inferences per second of wall time, as the agent saw it
    elapsed_s: float
    warmup_count: int
    load_ms: Optional[float]
    threads: Optional[int]
    model: str
    host: str
    status: str  # "running", "finished", "stopped" or "failed"
    error: Optional[str] = None
    device_name: str = ""  # "OpenVINO CPU (Intel Core i7-...)", "Coral Edge TPU"
    notes: tuple[str, ...] = ()  # the agent's remarks, e.g. a model not compiled for the Edge TPU
    # OpenVINO only (None elsewhere): what the device computed in, read back from the compiled model;
    # its default; and what was asked for (None: the default).
    precision: Optional[str] = None
    default_precision: Optional[str] = None
    precision_requested: Optional[str] = None
    plan_key: str = ""  # core/plan.py bench_key: the model's content, the device and the settings (BenchRequest.plan_key)
    profile: Optional[Profile] = None  # per-op time, when the run asked for it (measured after the latency run)

    @property
    def precision_label(self) -> str:
        """'bf16 (this device's default)', 'f32 (asked for; default bf16)', or '' where not OpenVINO."""
        if not self.precision:
            return ""
        if self.precision_requested is None:
            return f"{self.precision} (this device's default)"
        if self.precision != self.precision_requested:
            return f"{self.precision} (asked for {self.precision_requested}, which this device cannot compute)"
        default = f"; default {self.default_precision}" if self.default_precision and self.default_precision != self.precision else ""
        return f"{self.precision} (asked for{default})"

    @classmethod
    def from_samples(cls, samples: Sequence[float], *, elapsed_s: float = 0.0, first_ms: Optional[float] = None,
                     **context) -> "BenchResult":
        import numpy as np  # a million samples: one 8 MB array, not a million Python floats

        a = np.asarray(samples, dtype=np.float64)
        n = int(a.size)
        if not n:
            return cls(count=0, first_ms=first_ms, mean_ms=None, median_ms=None, p90_ms=None, p99_ms=None, min_ms=None,
                       max_ms=None, stdev_ms=None, throughput_fps=None, elapsed_s=elapsed_s, **context)
        p50, p90, p99 = (float(v) for v in np.percentile(a, [50, 90, 99]))  # linear interpolation between ranks
        mean = float(a.mean())
        fps = n / elapsed_s if elapsed_s > 0 else (1000.0 / mean if mean > 0 else None)
        return cls(count=n, first_ms=first_ms if first_ms is not None else float(a[0]), mean_ms=mean, median_ms=p50,
                   p90_ms=p90, p99_ms=p99, min_ms=float(a.min()), max_ms=float(a.max()),
                   stdev_ms=float(a.std(ddof=1)) if n > 1 else None, throughput_fps=fps, elapsed_s=elapsed_s, **context)

    def to_dict(self) -> dict:
        from ..codec import to_data

        d = to_data(self)
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = round(v, 6)
        return d

    @staticmethod
    def from_dict(d: dict) -> "BenchResult":
        from ..codec import from_data

        return from_data(BenchResult, d)

    def line(self) -> str:
        """One short line of running statistics (the CLI's live line, a status bar)."""
        if not self.count:
            return f"{self.status}…"
        return (f"{self.count:,} runs {self.throughput_fps:,.0f}/s | ms mean {_ms(self.mean_ms)} p50 {_ms(self.median_ms)} "
                f"p90 {_ms(self.p90_ms)} p99 {_ms(self.p99_ms)} max {_ms(self.max_ms)}")


def _ms(value: float) -> str:
    """Three or four significant digits: 0.0123, 1.23, 12.3, 123."""
    return f"{value:.4f}" if value < 0.1 else f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def write_csv(path: Path, samples: Sequence[float], warmup: Sequence[float] = ()) -> None:
    """index, phase (warmup/run), latency_ms: one row per inference, written atomically."""

    lines = ["index,phase,latency_ms\n"]
    for phase, values in (("warmup", warmup), ("run", samples)):
        lines.extend(f"{i},{phase},{v:.5f}\n" for i, v in enumerate(values))
    write_atomic(path, "".join(lines))


def write_json(path: Path, result: BenchResult) -> None:
    write_atomic(path, json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
