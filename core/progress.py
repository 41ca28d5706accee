"""How a step reports progress, and how a step's own 0..1 becomes part of a whole.

A ProgressFn is called as ``progress(fraction, message)``: ``fraction`` is 0..1 of the work done,
or None for "busy, no figure" (a line of a tool's output, a phase that cannot be measured)."""
from __future__ import annotations

from typing import Callable, Optional

ProgressFn = Callable[[Optional[float], str], None]


def no_progress(fraction: Optional[float], message: str = "") -> None:
    """The ProgressFn for a caller that does not follow progress."""


def sub_range(progress: ProgressFn, lo: float, hi: float, prefix: str = "", *,
              keep_last: bool = False) -> ProgressFn:
    """``progress`` for a step that fills [lo, hi] of the whole: the step's 0..1 (clamped to 0..1)
    maps linearly onto lo..hi, and with ``prefix`` each message reads "prefix: message".

    A None fraction passes through as None, unless ``keep_last``: then it repeats the step's last
    figure (lo before any), for a caller whose bar must always show a figure."""
    last = [0.0]

    def report(fraction: Optional[float], message: str = "") -> None:
        text = f"{prefix}: {message}" if prefix else message
        if fraction is None and not keep_last:
            progress(None, text)
            return
        if fraction is not None:
            last[0] = min(max(fraction, 0.0), 1.0)
        progress(lo + (hi - lo) * last[0], text)

    return report
