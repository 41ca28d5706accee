"""Writing files so that nobody ever sees half of one, and sizes in words a person reads."""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable, Optional, Union


def write_atomic(path: Union[str, os.PathLike], data: Union[bytes, str],
                 check: Optional[Callable[[Path], None]] = None) -> Path:
    """Write `data` beside `path`, let `check(temp path)` inspect it, then move it into place.

    A failed check, an exception or a crash leaves the old file (if any) untouched and no temp file
    behind (a kill leaves only a hidden .tmp). open(..., "x") creates the file with the person's
    umask, never world-writable unless they want that."""
    target = Path(path)
    tmp = target.parent / f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    try:
        if isinstance(data, str):
            with open(tmp, "x", encoding="utf-8") as f:
                f.write(data)
        else:
            with open(tmp, "xb") as f:
                f.write(data)
        if check is not None:
            check(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


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
