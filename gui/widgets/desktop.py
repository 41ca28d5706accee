"""Opening a folder or a file with the desktop's own application (a file manager, a browser), and the
plain sentence to show when there is none: QDesktopServices answers False then, which a button must
not swallow."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices


def open_with_desktop(path: str | Path) -> bool:
    """Asks the desktop to open PATH (a folder in its file manager, a file in its application); False
    when nothing could open it (no file manager, no browser, or the path is gone)."""
    p = Path(path)
    if not p.exists():
        return False
    return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(str(p))))


def not_opened(path: str | Path) -> str:
    """The sentence for a path the desktop could not open."""
    p = Path(path)
    if not p.exists():
        return f"{p} no longer exists."
    what = "folder" if p.is_dir() else "file"
    return (f"No application was found on this computer to open the {what}; it is {p} "
            "(select the text to copy it).")
