"""The pipeline's steps as job functions: what the worker process runs for the GUI and the CLI.

Each is a plain function of plan dataclasses with a `progress` callback; the worker's loader cache
makes a cut or conversion right after an inspect of the same file cheap."""
from __future__ import annotations

from pathlib import Path

from .graph import ModelInfo
from .loaders import ProgressFn, _no_progress, load
from .plan import CutModel, LoadOptions, Selection


def inspect(path: str, options: LoadOptions = LoadOptions(), progress: ProgressFn = _no_progress) -> ModelInfo:
    return load(path, options, progress).info


def cut(
    path: str, options: LoadOptions, selection: Selection, workdir: str, progress: ProgressFn = _no_progress
) -> CutModel:
    from .cut import cut as cut_model

    loaded = load(path, options, lambda f, m: progress(None if f is None else 0.5 * f, m))
    return cut_model(loaded, selection, Path(workdir), lambda f, m: progress(None if f is None else 0.5 + 0.5 * f, m))
