"""Shared helpers for the fault and temp-folder tests: worker-side probes (run through JobRunner, named
as test doubles where they inject a fault), and ways to find and watch EdgeWizard's processes and folders."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXE = str(Path(sys.executable).with_name("edgewizard"))


# ---------------------------------------------------------------- run inside the worker


def probe_temp(progress=None) -> dict:
    """Not a fault: where the worker's temporary files go (and one made there, left for the runner to remove)."""
    from edgewizard.core import tempdirs

    made = tempfile.mkdtemp(prefix="probe-")
    Path(made, "scratch.bin").write_bytes(b"x" * 1024)
    return {"gettempdir": tempfile.gettempdir(), "made": made, "TMPDIR": os.environ.get("TMPDIR"),
            "session": str(tempdirs.session()), "own": str(tempdirs.mkdtemp("own-"))}


# ---------------------------------------------------------------- processes and folders


def children(pid: int) -> list[tuple[int, str]]:
    """Direct child processes of `pid` with their command lines (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found.append((int(entry.name), (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()))
        except (OSError, ValueError, IndexError):
            continue
    return found


def worker_of(pid: int, timeout: float = 120.0) -> int:
    """The pid of the JobRunner worker started by process `pid` (multiprocessing's spawn child)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child, cmdline in children(pid):
            if "spawn_main" in cmdline:
                return child
        time.sleep(0.05)
    raise AssertionError(f"process {pid} started no worker within {timeout} s")


def holds_lock(pid: int, path: Path) -> bool:
    """Whether process `pid` holds an flock on the file `path` (Linux /proc/locks)."""
    try:
        inode = os.stat(path).st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return False
    for line in lines:
        fields = line.split()
        if "FLOCK" in fields and len(fields) > 5:
            rest = fields[fields.index("FLOCK") + 3:]
            if rest and rest[0] == str(pid) and rest[1].rsplit(":", 1)[-1] == str(inode):
                return True
    return False


def wait_for(check, timeout: float = 120.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while alive(pid):
        assert time.monotonic() < deadline, f"process {pid} is still running"
        time.sleep(0.05)


def sessions(base: Path) -> list[Path]:
    """Session folders under a temp dir given as TMPDIR to an EdgeWizard process."""
    return sorted(base.glob("edgewizard-*/session-*"))


def listing(folder: Path) -> set[str]:
    """Everything under `folder`, as relative paths (the session's own lock file left out)."""
    if not folder.exists():
        return set()
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.name != ".lock"}


def env_with_tmp(tmp: Path, **extra) -> dict:
    """The environment of a CLI child whose temp dir is `tmp` and who inherits no session of ours."""
    env = {k: v for k, v in os.environ.items() if k not in ("EDGEWIZARD_TMP", "TMP", "TEMP")}
    return {**env, "TMPDIR": str(tmp), **extra}


def py(code: str, tmp: Path, timeout: float = 60.0, **kw) -> subprocess.CompletedProcess:
    """Run a Python snippet with `tmp` as its temp dir (a fresh process: module state of its own)."""
    return subprocess.run([sys.executable, "-c", code], env=env_with_tmp(tmp), capture_output=True, text=True,
                          timeout=timeout, **kw)
