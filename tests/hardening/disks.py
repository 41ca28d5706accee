"""Disks that misbehave, for the hardening tests: small tmpfs mounts (full or read-only) where this
process may mount them, a folder made read-only for an unprivileged user, and a fault injection that
fills a real disk at the moment of a chosen write. Nothing here pretends a disk: the errors are the
kernel's own; only where mounting is not allowed does a named test double raise ENOSPC."""
from __future__ import annotations

import contextlib
import errno
import functools
import os
import subprocess
import tempfile
from pathlib import Path

CANNOT_MOUNT = "mounting a tmpfs is not allowed here (needs root with CAP_SYS_ADMIN), so there is no real small disk"


@functools.lru_cache(maxsize=None)
def can_mount() -> bool:
    if os.geteuid() != 0:
        return False
    with tempfile.TemporaryDirectory(prefix="ew-mount-probe-") as d:
        try:
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", d], capture_output=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return False
        if done.returncode != 0:
            return False
        _umount(d)
        return True


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "64k", readonly: bool = False):
    """A tmpfs of `size` mounted on `path` (created) for the block; always unmounted after."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode=0755" + (",ro" if readonly else "")
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], check=True, capture_output=True, timeout=20)
    try:
        yield path
    finally:
        _umount(str(path))


def _umount(path: str) -> None:
    if subprocess.run(["umount", path], capture_output=True, timeout=20).returncode != 0:
        subprocess.run(["umount", "-l", path], capture_output=True, timeout=20)  # something still holds it open


@contextlib.contextmanager
def read_only_folder(path: Path):
    """A folder nobody can write into: a read-only tmpfs for root (root ignores file modes), mode 0555 for
    anyone else. Yields None when neither is possible here (root without the right to mount)."""
    if os.geteuid() != 0:
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
    elif can_mount():
        with tmpfs(path, size="16k", readonly=True):
            yield path
    else:
        yield None


def fill(folder: Path) -> Path:
    """Write zeros into `folder` until its disk is full (a real ENOSPC ends it); returns the filler file."""
    filler = folder / "filler.bin"
    block = b"\0" * 4096
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(block)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    return filler


def fault_fill_disk_before(write, folder: Path, at_call: int = 1):
    """Fault injection for our own write path: wraps `write` so that its `at_call`-th call first fills
    the real disk under `folder`, then runs the real write, which meets the kernel's ENOSPC."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(args)
        if len(calls) == at_call:
            fill(folder)
        return write(*args, **kwargs)

    wrapper.calls = calls
    return wrapper


def fault_enospc_on(write, at_call: int = 1):
    """Test double where no small disk can be mounted: the `at_call`-th call raises ENOSPC, as a full disk
    would, without writing; the others write normally."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(args)
        if len(calls) == at_call:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write(*args, **kwargs)

    wrapper.calls = calls
    return wrapper


def listing(folder: Path) -> dict:
    """{relative path: bytes} of every file under `folder` (hidden ones included), to compare before/after."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
