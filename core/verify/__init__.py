"""Verify: does a converted model still give the original's answers on the same inputs?

`verify()` is the job function (run it in the worker: "edgewizard.core.verify:verify"); it imports
TensorFlow and the runtimes only when it runs, so the GUI process can import this package directly."""
from __future__ import annotations

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
from .run import verify

__all__ = [
    "VERIFY_FILE", "RANDOM_NOTE", "ArtifactCheck", "DataSummary", "Flag", "Histogram", "OutputCheck",
    "Thresholds", "VerifyData", "VerifyReport", "WorstSample", "load_saved", "save", "verify",
]

