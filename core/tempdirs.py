"""One private temporary folder per EdgeWizard session (<tmp>/edgewizard-<uid>/session-<pid>-<rand>, mode
0700): every temporary file lives there, it is removed at exit, and one left by a crash is swept at the next start.

Child processes (the worker, local bench agents) get a sub-folder of it through EDGEWIZARD_TMP and TMPDIR.
Every process using a session holds a shared flock on its `.lock` file for its whole life; a sweeper that
gets the exclusive lock knows nobody uses the folder any more. Unlike a PID check this cannot be fooled by
PID reuse, and a worker orphaned by a killed GUI keeps its folder until it ends."""
from __future__ import annotations

import atexit
import os
import secrets
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

try:
    import fcntl
except ImportError:  # Windows: no flock; sessions are then only removed at exit, never swept
    fcntl = None

ENV = "EDGEWIZARD_TMP"
LOCK = ".lock"
SESSION_PREFIX = "session-"
# A folder with no lock file yet is being created (or its creator died in that instant): sweep it only
# once it is clearly old.
UNLOCKED_GRACE_S = 60.0

_guard = threading.RLock()
_folder: Optional[Path] = None
_lock_fd: Optional[int] = None
_owner = False
_atexit_registered = False


def root() -> Path:
    """The per-user parent of all sessions, e.g. /tmp/edgewizard-1000."""
    uid = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    return Path(tempfile.gettempdir()) / f"edgewizard-{uid}"


def session() -> Path:
    """This process's private temp folder, created on first use (or the parent's, for a child process)."""
    global _folder, _lock_fd, _owner, _atexit_registered
    with _guard:
        if _folder is not None and _folder.is_dir():
            return _folder
        _release()
        inherited = os.environ.get(ENV)
        if inherited and _is_private(Path(inherited)):
            _folder, _owner = Path(inherited), False
            _lock_fd = _hold_session_lock(_folder)
            return _folder
        _folder, _lock_fd = _create()
        _owner = True
        if not _atexit_registered:
            atexit.register(cleanup)
            _atexit_registered = True
        return _folder


def mkdtemp(prefix: str) -> Path:
    """A new private folder inside the session; the caller removes it when done (the session's end
    removes it anyway)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=session()))


def child_env(folder: Optional[Path] = None) -> dict:
    """Environment for a child process that should keep its temporary files in `folder` (a sub-folder of
    the session, so the caller can remove what a killed child left)."""
    path = str(folder or session())
    return {ENV: path, "TMPDIR": path, "TMP": path, "TEMP": path}


def use_in_this_process() -> None:
    """In a child started with child_env(): make Python's tempfile (and the libraries using it) write
    into our folder, and hold the session's lock so it is not swept while we run."""
    folder = session()
    tempfile.tempdir = str(folder)


def cleanup() -> None:
    """Remove the session folder (only the process that created it does); runs at exit."""
    global _folder, _owner
    with _guard:
        folder, owner = _folder, _owner
        _folder, _owner = None, False
        _release()
        if folder is not None and owner:
            shutil.rmtree(folder, ignore_errors=True)
            if folder.parent != root():  # the fresh private base _create() fell back to: empty now
                try:
                    folder.parent.rmdir()
                except OSError:
                    pass


def sweep(base: Optional[Path] = None) -> list[Path]:
    """Remove session folders no live process holds (left by a crash or kill); return what was removed."""
    base = base or root()
    removed = []
    try:
        entries = list(base.iterdir()) if _is_private(base) else []
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(SESSION_PREFIX) or entry == _folder:
            continue
        if remove_if_unused(entry):
            removed.append(entry)
    return removed


def hold(folder: Path) -> Optional[int]:
    """Mark `folder` as in use by this process (a shared lock on folder/.lock) until release(fd)."""
    if fcntl is None:
        return None
    path = Path(folder) / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        # A sweeper may have removed the folder between our open and our lock: then this lock is worthless.
        if not os.path.samestat(os.fstat(fd), os.stat(path)):
            raise FileNotFoundError(path)
    except OSError:
        os.close(fd)
        return None
    return fd


def release(fd: Optional[int]) -> None:
    if fd is not None:
        try:
            os.close(fd)  # closing the descriptor drops the flock
        except OSError:
            pass


def remove_if_unused(folder: Path, grace_s: float = UNLOCKED_GRACE_S) -> bool:
    """Remove `folder` unless a live process holds its lock; one without a lock file only once it is
    older than `grace_s` (it may be being created right now). True if removed."""
    folder = Path(folder)
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        return False
    if fcntl is None:
        return False
    try:
        fd = os.open(folder / LOCK, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        if time.time() - info.st_mtime < grace_s:
            return False
        shutil.rmtree(folder, ignore_errors=True)
        return not folder.exists()
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # someone alive holds it
    else:
        shutil.rmtree(folder, ignore_errors=True)  # while holding the lock, so nobody joins it meanwhile
        return not folder.exists()
    finally:
        os.close(fd)


def make_held_dir(parent: Path, prefix: str) -> tuple[Path, Optional[int]]:
    """A new folder parent/<prefix><random> for work that must not outlive its process (a conversion's
    staging folder in the output folder). Its lock is a sibling file, <name>.lock, created and held
    BEFORE the folder exists, so a folder without one is always an orphan: remove_dead_held_dirs() can
    then tidy at once after a kill, with no window where a live folder looks dead."""
    parent = Path(parent)
    for _ in range(20):
        name = prefix + secrets.token_hex(6)
        lock = parent / f"{name}{LOCK}"
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        except FileExistsError:
            continue
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                if not os.path.samestat(os.fstat(fd), os.stat(lock)):
                    raise FileNotFoundError(lock)  # tidied away by another process in between: take another
            except OSError:
                try:  # a stray lock file of ours would be left in the person's folder
                    ours = os.path.samestat(os.fstat(fd), os.stat(lock))
                except OSError:
                    ours = False
                os.close(fd)
                if ours:
                    lock.unlink(missing_ok=True)
                continue
        folder = parent / name
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            release(fd)
            lock.unlink(missing_ok=True)
            continue
        except OSError:
            release(fd)
            lock.unlink(missing_ok=True)
            raise
        return folder, fd
    raise OSError(f"Could not create a working folder in {parent}.")


def remove_held_dir(folder: Path, fd: Optional[int]) -> None:
    """The owner's end of make_held_dir(): the folder, then its lock file, then the lock."""
    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    Path(f"{folder}{LOCK}").unlink(missing_ok=True)
    release(fd)


def remove_dead_held_dirs(parent: Path, prefix: str) -> list[Path]:
    """Remove folders made by make_held_dir() whose process is gone; a live one is left alone."""
    parent = Path(parent)
    removed = []
    for lock in parent.glob(f"{prefix}*{LOCK}"):
        folder = Path(str(lock)[: -len(LOCK)])
        if _remove_if_free(lock, folder):
            removed.append(folder)
    for folder in parent.glob(f"{prefix}*"):
        if folder.name.endswith(LOCK) or Path(f"{folder}{LOCK}").exists():
            continue
        if folder.is_dir() and not folder.is_symlink():  # its lock came first: without one it is an orphan
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


# ---------------------------------------------------------------- internals


def _remove_if_free(lock: Path, folder: Path) -> bool:
    """Remove `folder` and its sibling `lock` when no live process holds the lock, doing it WHILE holding
    the lock exclusively: a make_held_dir() in another process cannot take it meanwhile (and one that
    takes it after finds the file gone and picks another name)."""
    if fcntl is None:
        try:  # Windows: a file a live process has open cannot be deleted
            lock.unlink()
        except OSError:
            return False
        shutil.rmtree(folder, ignore_errors=True)
        return True
    try:
        fd = os.open(lock, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False  # someone alive holds it
    try:
        shutil.rmtree(folder, ignore_errors=True)
        lock.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


def _create() -> tuple[Path, Optional[int]]:
    base = root()
    if not _make_private_dir(base):
        # Someone else owns <tmp>/edgewizard-<uid> (or it is a symlink): never write into it; use a fresh
        # private folder instead, which is removed at exit like any session.
        base = Path(tempfile.mkdtemp(prefix=f"{base.name}-"))
    else:
        sweep(base)
    for _ in range(10):
        folder = Path(tempfile.mkdtemp(prefix=f"{SESSION_PREFIX}{os.getpid()}-", dir=base))
        fd = hold(folder)
        if fd is not None or fcntl is None:
            return folder, fd
        shutil.rmtree(folder, ignore_errors=True)  # lost a race with a sweeper: take another
    raise OSError(f"Could not create a private temporary folder in {base}.")


def _make_private_dir(path: Path) -> bool:
    """Create `path` with mode 0700, or accept it if it is already a real folder of ours; fix its mode."""
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    except OSError:
        return False
    try:
        info = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        return False
    if stat.S_IMODE(info.st_mode) != 0o700:
        try:
            os.chmod(path, 0o700)
        except OSError:
            return False
    return True


def _is_private(path: Path) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        return False
    if hasattr(os, "getuid") and (info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077):
        return False
    return True


def _hold_session_lock(folder: Path) -> Optional[int]:
    """A child's folder is the session itself or a sub-folder of it: lock whichever has the lock file."""
    for candidate in (folder, folder.parent):
        if (candidate / LOCK).exists():
            return hold(candidate)
    return None


def _release() -> None:
    global _lock_fd
    release(_lock_fd)
    _lock_fd = None
