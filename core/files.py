"""Writing files so that nobody ever sees half of one, and sizes in words a person reads."""
from __future__ import annotations

import errno
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable, Optional, Union

# Below this much free space, a write that failed without saying why (OpenVINO's C++ writer throws a bare
# "iostream error") is taken to have filled the disk: the partial file it left has eaten the rest.
NEARLY_FULL_BYTES = 1 << 20
# New files: read-write for the owner and group, readable by all, then narrowed by the umask; never o+w.
FILE_MODE = 0o664


def write_atomic(path: Union[str, os.PathLike], data: Union[bytes, str],
                 check: Optional[Callable[[Path], None]] = None) -> Path:
    """Write `data` beside `path`, let `check(temp path)` inspect it, then move it into place.

    A failed check, an exception or a crash leaves the old file (if any) untouched and no temp file
    behind (a kill leaves only a hidden .tmp). The file gets the person's umask (022: 0644, 077: 0600),
    never world-writable even under umask 000 (mkstemp would make it 0600 whatever the umask)."""
    target = Path(path)
    tmp = target.parent / f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), FILE_MODE)
        with open(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        if check is not None:
            check(tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(target)  # write() errors name no file: say which one a full disk stopped
        raise
    return target


def disk_problem(exc: BaseException, folder: Union[str, os.PathLike]):
    """The UserError to raise instead of `exc` when a write into `folder` failed because of the person's disk
    (full, over quota, read-only), or None when `exc` is something else. Call it before partial files are
    removed: for errors that carry no errno, a disk found (nearly) full is the explanation."""
    from .errors import EdgeWizardError, UserError

    if isinstance(exc, EdgeWizardError) or not isinstance(exc, Exception):
        return None
    folder = Path(folder)
    where, advice = folder, "choose another output folder"
    if isinstance(exc, OSError) and exc.filename and folder not in Path(exc.filename).parents:
        where, advice = Path(exc.filename).parent, "set TMPDIR to a folder on another disk"  # temporary files
    code = exc.errno if isinstance(exc, OSError) else None
    if code in (errno.ENOSPC, errno.EDQUOT) or (code is None and _nearly_full(folder)):
        quota = " (or your quota on it is used up)" if code == errno.EDQUOT else ""
        return UserError(f"No space left on the disk holding {where}{quota}; free some space or {advice}.")
    if code == errno.EROFS:
        return UserError(f"The disk holding {where} is read-only; {advice}.")
    return None


def _nearly_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < NEARLY_FULL_BYTES
    except OSError:
        return False


def human_bytes(n) -> str:
    """1536 -> "1.5 KB"; not a number -> ""."""
    if isinstance(n, bool) or not isinstance(n, (int, float)):
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def sha256_of(p: Path) -> str:
    """The SHA-256 manifest.json records: of a file's bytes; of a folder (a SavedModel), its files'
    relative paths and contents, in sorted order."""
    import hashlib

    p = Path(p)
    h = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()
