"""Inspecting a model as a job function for the worker (convert, validate and verify have their own
in core/convert/run.py, core/validate/run.py, core/verify); the worker's loader cache makes a
conversion right after an inspect of the same file cheap."""
from __future__ import annotations

from .graph import ModelInfo
from .loaders import ProgressFn, _no_progress, load
from .plan import LoadOptions


def inspect(path: str, options: LoadOptions = LoadOptions(), progress: ProgressFn = _no_progress) -> ModelInfo:
    return load(path, options, progress).info

