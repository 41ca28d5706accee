"""The steps as job functions for the worker, each taking the plan (core/plan.py) and stamping its result
with the key of the parts of the plan it depends on. The GUI and the CLI both call these.

    inspect(path, load_options)      -> ModelInfo (with the file's sha256, for the plan's Source)
    validate_plan(plan)              -> tuple[ValidationReport, ...]   stamped with validation_key(plan)
    convert_plan(plan, force=False)  -> Manifest                        stamped with conversion_key(plan)

Verification stamps its own keys (core/verify/run.py: verify_key over each artifact's content, the data
and the thresholds). The worker's loader cache makes a step right after an inspect of the same file cheap."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from .graph import ModelInfo
from .manifest import Manifest
from .plan import LoadOptions, Plan, Source, conversion_key, default_output_dir, validation_key
from .progress import ProgressFn, no_progress


def inspect(path: str, load_options: LoadOptions = LoadOptions(), progress: ProgressFn = no_progress) -> ModelInfo:
    from .files import sha256_of
    from .loaders import load

    info = load(path, load_options, progress).info
    return dataclasses.replace(info, sha256=sha256_of(Path(path).expanduser()))


def source_of(path: str, load_options: LoadOptions = LoadOptions(), info: ModelInfo | None = None) -> Source:
    """The plan's Source for a model file: from an inspect's ModelInfo when there is one, else by reading the
    file's format and hashing it here (cheap next to loading it)."""
    if info is not None:
        return Source(path=str(path), format=info.format, sha256=info.sha256, load_options=load_options)
    from .files import sha256_of
    from .loaders import detect_format

    p = Path(path).expanduser()
    return Source(path=str(path), format=detect_format(p), sha256=sha256_of(p), load_options=load_options)


def validate_plan(plan: Plan, progress: ProgressFn = no_progress, run_compiler: bool = True) -> tuple:
    """Validate the plan's cut for the plan's devices, judged as converted with the plan's options."""
    from .validate.run import validate

    key = validation_key(plan)
    reports = validate(plan.source.path, plan.source.load_options, plan.selection, list(plan.devices), plan.options,
                       progress, run_compiler=run_compiler)
    return tuple(dataclasses.replace(r, plan_key=key) for r in reports)


def convert_plan(plan: Plan, force: bool = False, progress: ProgressFn = no_progress, stem: str | None = None) -> Manifest:
    """Convert the plan's cut to the plan's targets into its output folder (the model's default when empty)."""
    from .convert.run import convert

    out = plan.output_dir or default_output_dir(plan.source.path)
    return convert(plan.source.path, plan.source.load_options, plan.selection, list(plan.targets), out, plan.options,
                   force=force, stem=stem, progress=progress, plan_key=conversion_key(plan))
