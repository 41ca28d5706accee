"""Verify: does a converted model still give the original's answers on the same inputs?

`verify()` is the job function (run it in the worker: "edgewizard.core.verify:verify"); the result
types and verify.json handling import nothing heavy, so the GUI process can use them directly."""
from __future__ import annotations

from ..loaders import ProgressFn, _no_progress
from ..plan import LoadOptions, Selection
from .data import RANDOM_NOTE, VerifyData
from .results import (
    VERIFY_FILE,
    ArtifactCheck,
    DataSummary,
    Flag,
    Histogram,
    OutputCheck,
    Thresholds,
    VerifyReport,
    WorstSample,
    load_saved,
    save,
)

__all__ = [
    "VERIFY_FILE", "RANDOM_NOTE", "ArtifactCheck", "DataSummary", "Flag", "Histogram", "OutputCheck",
    "Thresholds", "VerifyData", "VerifyReport", "WorstSample", "load_saved", "save", "verify",
]


def verify(
    source: str,
    load_options: LoadOptions,
    selection: Selection,
    artifacts: list[str],
    data: VerifyData = VerifyData(),
    thresholds: Thresholds = Thresholds(),
    progress: ProgressFn = _no_progress,
) -> VerifyReport:
    """Run the cut of `source` and each artifact on `data`; compare every output. Raises UserError
    for a missing artifact, data that does not fit the inputs, or an artifact that is not this model."""
    from .run import verify as run_verify

    return run_verify(source, load_options, selection, artifacts, data, thresholds, progress)
