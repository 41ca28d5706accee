"""What a verification shows, in one banner sentence that depends on the data it ran on: agreement on
real data a person did not calibrate with is good news (green); on random inputs it only shows the
conversion kept the arithmetic, and on the calibration data it is a best case, so neither is green."""
from __future__ import annotations

import html
from pathlib import Path
from typing import Optional

from edgewizard.core.calibrate import SYNTHETIC, CalibrationSpec

from .plain_words import TARGET_WORDS

STYLES = {
    "success": "background:#e6f4ea; border:1px solid #9fd3ae; color:#0f4d21;",
    "info": "background:#e8f4fd; border:1px solid #9cc9ef; color:#0d3c61;",
    "warning": "background:#fff4e5; border:1px solid #e8c28c; color:#663c00;",
    "error": "background:#fdecea; border:1px solid #e0a8a1; color:#611a15;",
}

RANDOM = ("These models agree on random inputs. That shows the conversion kept the arithmetic, not that the model "
          "is still accurate on real data: verify on labelled data you did not calibrate with.")
CALIBRATION = ("These models agree on the data used to calibrate the int8 model: a best case; use other data to "
               "see the accuracy you will get.")


def same_path(a: Optional[str], b: Optional[str]) -> bool:
    if not a or not b:
        return False
    try:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
    except (OSError, RuntimeError):
        return False


def data_kind(report, calibration: CalibrationSpec) -> str:
    """What the report's data was, for what its agreement shows: "random" (random inputs, or calibration
    data that was itself random), "calibration" (the data the int8 models were calibrated with), "real"."""
    from edgewizard.core.convert.base import get_target

    data = report.data
    if data.kind == "random" or (data.kind == "calibration" and calibration.synthetic):
        return "random"
    calibrated = any(get_target(t).needs_calibration for a in report.artifacts for t in a.targets
                     if t in TARGET_WORDS)
    if not calibrated:
        return "real"  # nothing here was calibrated: any data is simply data
    if data.kind == "calibration":
        return "calibration"
    sources = [src for _, src in calibration.sources if src != SYNTHETIC]
    if data.kind == "path" and any(same_path(data.source, s) for s in sources):
        return "calibration"
    return "real"


def verdict(report, calibration: CalibrationSpec) -> tuple[str, str]:
    """(kind, html): the banner's colour ("success", "info", "warning", "error") and its sentences."""
    kind = data_kind(report, calibration)
    flagged = sum(a.status == "flagged" for a in report.artifacts)
    files = f"{flagged} model file{'s' if flagged != 1 else ''}"
    compared = f" Compared on {html.escape(report.data.description)}."
    if flagged:
        if kind == "random":
            return "warning", (f"<b>{files} flagged on random inputs.</b> Random inputs can fall outside the range an "
                               "int8 model was calibrated for, so this may overstate the problem: verify on real "
                               f"data to be sure.{compared}")
        best = " even on the data used to calibrate the int8 model (a best case)" if kind == "calibration" else ""
        return "error", f"<b>{files} flagged{best}:</b> see the rows marked Flagged and their advice below.{compared}"
    if kind == "random":
        return "warning", f"<b>{RANDOM}</b>{compared}"
    if kind == "calibration":
        return "info", f"<b>{CALIBRATION}</b>{compared}"
    unlabelled = "" if report.data.labelled else (" Without labels this shows the answers agree, not how often "
                                                 "they are right.")
    return "success", f"<b>All converted models agree with the original.</b>{compared}{unlabelled}"
