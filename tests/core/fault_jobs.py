"""Test doubles for the job runner: jobs that inject faults into our own worker code.

Each is named for the fault it injects; none pretends to be a real tool or device."""
from __future__ import annotations

import os
import sys
import time

from edgewizard.core.errors import UserError


def fault_echo(value, progress=None):
    progress(0.5, "half way")
    print("a line on stdout from the worker")
    return {"value": value, "pid": os.getpid()}


def fault_abort_after_progress(progress=None):
    progress(0.1, "about to abort")
    print("last words", file=sys.stderr)
    time.sleep(0.2)
    os.abort()


def fault_sleep_forever(progress=None):
    progress(0.0, "sleeping")
    while True:
        time.sleep(0.05)


def fault_raise_user_error():
    raise UserError("The file fake.h5 is not a model (a test double).")


def fault_raise_bug():
    return 1 / 0


def fault_heavy_imports():
    return sorted(m for m in ("tensorflow", "openvino", "keras") if m in sys.modules)


def fault_abort_any(*args, progress=None, **kwargs):
    """Takes any step's arguments, then aborts the worker like a crash inside TensorFlow would."""
    progress(0.05, "about to crash")
    os.abort()


def probe_telemetry_blocked():
    """Not a fault: reports whether the worker silenced vendor telemetry before any step ran."""
    try:
        import openvino_telemetry  # noqa: F401
    except ImportError:
        importable = False
    else:
        importable = True
    return importable, os.environ.get("NNCF_CI")
