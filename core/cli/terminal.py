"""A one-line progress bar on stderr while a job runs (only on a terminal)."""
from __future__ import annotations

import contextlib
import shutil
import sys
from typing import Callable, Iterator

from ..jobs import Event, Progress


@contextlib.contextmanager
def progress_printer(enabled: bool = True, prefix: str = "") -> Iterator[Callable[[Event], None]]:
    live = enabled and sys.stderr.isatty()
    shown = [False]

    def show(event: Event) -> None:
        if not live or not isinstance(event, Progress):
            return
        width = max(10, min(30, shutil.get_terminal_size((80, 20)).columns - 50))
        if event.fraction is None:
            bar = " " * width
            pct = "  …"
        else:
            done = int(round(width * max(0.0, min(1.0, event.fraction))))
            bar = "#" * done + " " * (width - done)
            pct = f"{int(100 * event.fraction):3d}%"
        text = f"\r{prefix}[{bar}] {pct} {event.message}"[: shutil.get_terminal_size((80, 20)).columns - 1]
        sys.stderr.write(text.ljust(shutil.get_terminal_size((80, 20)).columns - 1))
        sys.stderr.flush()
        shown[0] = True

    try:
        yield show
    finally:
        if shown[0]:
            sys.stderr.write("\r" + " " * (shutil.get_terminal_size((80, 20)).columns - 1) + "\r")
            sys.stderr.flush()
