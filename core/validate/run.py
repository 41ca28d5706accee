"""Validate one model for several devices with one load and one cut: the worker's job function.

    validate(source, load_options, selection, devices, options, progress) -> list[ValidationReport]

A device that cannot be judged gives a report saying why (unavailable, not checked, failed to
convert) instead of stopping the others; unsupported ops are a result, never an error."""
from __future__ import annotations

import dataclasses
import shutil
import time
import traceback
from pathlib import Path

from .. import tempdirs
from ..errors import Cancelled, InternalError, MissingDependency, UserError
from ..loaders import load
from ..progress import ProgressFn, no_progress, sub_range
from ..plan import ConvertOptions, LoadOptions, Selection
from .base import ValidationContext, get_validator, report_for
from .report import CHECKED, ValidationReport, failed, unavailable


def validate(
    source: str,
    load_options: LoadOptions,
    selection: Selection,
    devices: list[str],
    options: ConvertOptions = ConvertOptions(),
    progress: ProgressFn = no_progress,
    run_compiler: bool = True,
) -> list[ValidationReport]:
    """Runs in the worker. `devices` are registry names ("edgetpu", "openvino:CPU", ...); the
    reports come back in the same order. `options` are the conversion options the person will
    convert with (calibration, io type, Edge TPU compiler options), so that the judged model is
    the one conversion makes; without calibration data, synthetic data is used and noted."""
    from ..cut import cut as cut_model
    from .source_map import source_verdicts

    validators = [get_validator(d) for d in devices]  # unknown names fail before any work
    validators = list({v.name: v for v in validators}.values())
    if not validators:
        raise UserError("Choose at least one device to check.",
                        cli_hint="--device D: edgetpu, myriad, openvino:CPU, tflite:CPU, ...")

    loaded = load(Path(source).expanduser(), load_options, sub_range(progress, 0.0, 0.1))
    progress(0.1, "Cutting the model")
    workdir = tempdirs.mkdtemp("validate-")
    try:
        cut = cut_model(loaded, selection, workdir, sub_range(progress, 0.1, 0.25))
        ctx = ValidationContext(cut=cut, original=loaded.info.graph, options=options, workdir=workdir,
                                progress=progress, run_compiler=run_compiler)
        common = _batch_notes(loaded.info.graph, cut)
        span = 0.75 / len(validators)
        reports = []
        for i, v in enumerate(validators):
            lo = 0.25 + i * span
            one = dataclasses.replace(ctx, progress=sub_range(progress, lo, lo + span, v.title))
            started = time.monotonic()
            try:
                report = report_for(v, one)
            except MissingDependency as exc:
                report = unavailable(v.name, v.title, exc.message)
            except UserError as exc:  # the model cannot be made into this device's format
                report = failed(v.name, v.title, exc.message, exc.details[:20000], exc.message_id, exc.message_args)
            except (Cancelled, InternalError):
                raise
            except Exception as exc:  # noqa: BLE001 - a crash in one device's library must not lose the others
                report = failed(v.name, v.title, f"Checking {v.title} failed unexpectedly ({type(exc).__name__}: "
                                f"{str(exc)[:200]}); this is a bug, please report it.", traceback.format_exc()[-20000:])
            extra = {"notes": tuple(dict.fromkeys(common + report.notes)) if report.status == CHECKED else report.notes,
                     "seconds": round(time.monotonic() - started, 3)}
            if report.status == CHECKED:
                extra["source_verdicts"] = source_verdicts(loaded.info.graph, cut, report.nodes)
            reports.append(dataclasses.replace(report, **extra))
        progress(1.0, "Validation finished")
        return reports
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _batch_notes(original, cut) -> tuple[str, ...]:
    """Say so when the cut fixed a dynamic batch (for TensorFlow/Keras models the cut does it)."""
    if cut.kind != "graphdef":
        return ()
    fixed = []
    for t in cut.inputs:
        asked = cut.source_nodes.get(t.name, t.name)
        own = next((o for o in original.inputs if o.name in (asked, t.name)), None)
        if own is None:
            producer = original.producer(asked)
            own = producer.outputs[0] if producer is not None and producer.outputs else None
        if own is not None and own.shape and own.shape[0] is None and t.shape and t.shape[0] == 1:
            fixed.append(f"'{asked}' {own.shape_text()}")
    if not fixed:
        return ()
    return (f"The batch of {', '.join(fixed)} is dynamic; EdgeWizard fixes it to 1 for validation and conversion, "
            "as the Edge TPU and the NCS2 need static shapes.",)
