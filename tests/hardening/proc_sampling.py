"""Reads a process's resident memory, open file descriptors and threads from /proc, for the long-run
test and the long-run figure scripts (Linux only; a process that is gone reads as None)."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Usage:
    rss_kb: int
    fds: int
    threads: int

    @property
    def rss_mb(self) -> float:
        return self.rss_kb / 1024

    def minus(self, other: "Usage") -> "Usage":
        return Usage(self.rss_kb - other.rss_kb, self.fds - other.fds, self.threads - other.threads)

    def line(self) -> str:
        return f"RSS {self.rss_mb:7.1f} MB, {self.fds:4d} fds, {self.threads:3d} threads"

    def growth(self) -> str:
        return f"RSS {self.rss_mb:+7.1f} MB, {self.fds:+4d} fds, {self.threads:+3d} threads"


def usage(pid: int | str = "self") -> Optional[Usage]:
    try:
        rss = 0
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                    break
        return Usage(rss, len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task")))
    except (OSError, ValueError):
        return None


def open_files(pid: int | str = "self") -> dict[int, str]:
    """fd -> what it points at (a file, pipe:[n], socket:[n], anon_inode:...), to name a leak."""
    found = {}
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return found
    for name in names:
        try:
            found[int(name)] = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            pass  # closed while we looked (our own listdir's fd, for one)
    return found


def _per_thread(pid: int | str, name: str) -> list[str]:
    """The text of /proc/PID/task/*/NAME, one entry per thread still there when read."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    texts = []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/{name}") as f:
                texts.append(f.read())
        except OSError:
            pass  # the thread ended while we looked
    return texts


def thread_names(pid: int | str = "self") -> list[str]:
    return sorted(t.strip() for t in _per_thread(pid, "comm"))


def children(pid: int | str = "self") -> list[int]:
    """Direct child processes, oldest first."""
    return sorted(int(k) for t in _per_thread(pid, "children") for k in t.split())


def settle(pid: int | str, baseline: Usage, timeout_s: float = 10.0, fd_slack: int = 0, thread_slack: int = 0) -> Usage:
    """The process's usage once its fds and threads are back within slack of `baseline`, or after
    timeout_s (threads of a finished run exit a moment after it reports the end)."""
    deadline = time.monotonic() + timeout_s
    while True:
        now = usage(pid)
        if now is None or time.monotonic() >= deadline or (
                now.fds <= baseline.fds + fd_slack and now.threads <= baseline.threads + thread_slack):
            return now
        time.sleep(0.1)


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def job_worker(pid: int | str) -> Optional[int]:
    """The JobRunner worker among a process's children (not multiprocessing's resource tracker)."""
    for kid in children(pid):
        if "spawn_main" in cmdline(kid):
            return kid
    return None
