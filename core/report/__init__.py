"""The report a person can hand on: one self-contained HTML file made from an output folder's results.

Pure Python and quick (it only reads JSON), so the GUI can call it directly: `render_report(folder)`
for a preview, `write_report(folder)` for "Save report". Inputs and file names: sources.py."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from ..errors import UserError
from ..files import write_atomic
from .sources import ReportInputs, collect

REPORT_FILE = "report.html"

__all__ = ["REPORT_FILE", "ReportInputs", "collect", "render_report", "write_report"]


def render_report(folder: str | os.PathLike) -> str:
    """The report's HTML for `folder` (raises UserError when there is nothing to report)."""
    from ..cli import version
    from .html import render

    return render(collect(folder), version())


def write_report(folder: str | os.PathLike, output: Optional[str | os.PathLike] = None) -> Path:
    """Write the report atomically to `output` (default: folder/report.html) and return its path."""
    text = render_report(folder)
    target = Path(output).expanduser() if output else Path(folder).expanduser() / REPORT_FILE
    if target.is_dir():
        target = target / REPORT_FILE
    if not target.parent.is_dir():
        raise UserError(f"The folder {target.parent} does not exist; create it or choose another place for the report.")
    try:
        write_atomic(target, text)  # a reader never sees half a report
    except OSError as exc:
        raise UserError(f"Cannot write the report to {target}: {exc.strerror or exc}.") from exc
    return target
