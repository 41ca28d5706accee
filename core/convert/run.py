"""Convert one model to several targets with one load and one cut, writing safely.

Each target writes into a private staging folder inside the output folder; finished files are
moved into place with os.replace (atomic on one filesystem), so a failed, cancelled or killed
conversion never leaves a half-written model where the person looks. manifest.json records what
was made, from what, with which tools and options."""
from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Optional

from .. import tempdirs
from ..errors import UserError
from ..files import disk_problem, sha256_of
from ..loaders import load
from ..progress import ProgressFn, no_progress, sub_range
from ..manifest import Artifact, CutRecord, FileEntry, Manifest, SourceRecord, read_manifest, write_manifest
from ..plan import LoadOptions, Selection
from .base import ConvertOptions, TargetJob, UnavailableTarget, get_target

STAGING_PREFIX = ".edgewizard-partial-"
PREPARE = 0.2  # share of the overall progress spent loading and cutting, before the first target


def target_progress(fraction: Optional[float], n_targets: int) -> tuple[Optional[int], Optional[float]]:
    """Map convert()'s overall progress to (index of the target running, its own 0..1 progress);
    index None while loading and cutting. For progress bars per target."""
    if fraction is None or fraction < PREPARE or n_targets < 1:
        return None, fraction and fraction / PREPARE
    span = (1 - PREPARE) / n_targets
    index = min(n_targets - 1, int((fraction - PREPARE) / span + 1e-9))
    return index, min(1.0, (fraction - PREPARE - index * span) / span)


def remove_partials(out_dir: str | os.PathLike) -> None:
    """Remove staging folders a killed or crashed conversion left in `out_dir` (called by the job's caller
    after a failure, and by convert() itself before it starts). A conversion still running into the same
    folder holds its staging folder's lock, so its folder is left alone."""
    folder = Path(out_dir)
    if not folder.is_dir():
        return
    tempdirs.remove_dead_held_dirs(folder, STAGING_PREFIX)


def finished_since(out_dir: str | os.PathLike, target_names: list[str], since: float) -> list[Artifact]:
    """After a failed, cancelled or killed conversion: the artifacts of `target_names` that this run
    finished (stamped at or after `since`, a time.time() taken before it started, on this machine), so
    the caller can say what was kept. Artifacts a run before left in the manifest are not this run's."""
    manifest = read_manifest(out_dir) if out_dir else None
    if manifest is None:
        return []
    return [a for a in manifest.artifacts if a.target in target_names and a.files and a.finished_at >= since]


def planned_outputs(target_names: list[str], stem: str) -> list[str]:
    names: list[str] = []
    for t in target_names:
        for n in get_target(t).output_names(stem):
            if n not in names:
                names.append(n)
    return names


def check_output_folder(out_dir: Path, names: list[str], source: Path, force: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"The output folder {out_dir} is a file; choose a folder.")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"Cannot create the output folder {out_dir}: {exc.strerror or exc}.") from exc
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise UserError(f"The output folder {out_dir} is not writable; choose another output folder.",
                        cli_hint="-o OUTDIR")
    src = source.resolve()
    for n in names:
        target = (out_dir / n).resolve()
        if target == src or (src.is_dir() and src in target.parents):
            raise UserError(f"Writing {n} would overwrite the input model {source}; choose another output folder.")
    existing = [n for n in names if (out_dir / n).exists()]
    if existing and not force:
        listed = ", ".join(existing[:3]) + (" ..." if len(existing) > 3 else "")
        one = len(existing) == 1
        raise UserError(f"{listed} already exist{'s' if one else ''} in {out_dir}; choose to replace "
                        f"{'it' if one else 'them'}, or choose another output folder.",
                        cli_hint=f"--force replaces {'it' if one else 'them'}")


def default_stem(source: Path) -> str:
    return source.name if source.is_dir() else source.stem


def _leaves_no_new_folder(func):
    """A conversion that fails leaves no output folder behind that it created itself, and a full or
    read-only disk under it is said in one sentence."""
    @functools.wraps(func)
    def wrapper(source, load_options, selection, target_names, out_dir, *args, **kwargs):
        out = Path(out_dir).expanduser()
        existed = out.exists()
        try:
            return func(source, load_options, selection, target_names, out_dir, *args, **kwargs)
        except BaseException as exc:
            if not existed:
                try:
                    out.rmdir()
                except OSError:
                    pass  # not empty (finished targets are kept) or never made
            problem = disk_problem(exc, out) if isinstance(exc, OSError) else None  # e.g. a full disk under staging
            if problem is None:
                raise
            raise problem from exc
    return wrapper


@_leaves_no_new_folder
def convert(
    source: str,
    load_options: LoadOptions,
    selection: Selection,
    target_names: list[str],
    out_dir: str,
    options: ConvertOptions = ConvertOptions(),
    force: bool = False,
    stem: Optional[str] = None,
    progress: ProgressFn = no_progress,
    plan_key: str = "",
) -> Manifest:
    """Runs in the worker. Returns the manifest (as written to out_dir/manifest.json), recording
    `plan_key` (core/plan.py conversion_key; core/steps.py convert_plan gives it)."""
    from ..calibrate import SYNTHETIC_WARNING, load_calibration
    from ..cut import cut as cut_model

    started = time.monotonic()
    src = Path(source).expanduser()
    out = Path(out_dir).expanduser()
    names = [get_target(t).name for t in target_names]
    names = list(dict.fromkeys(names))
    if not names:
        raise UserError("Choose at least one target to convert to, e.g. tflite-int8, edgetpu or openvino-fp16.",
                        cli_hint="--target T, once for each")
    targets = [get_target(n) for n in names]
    for t in targets:
        if isinstance(t, UnavailableTarget):  # refused before anything is loaded or written
            raise t.error()
    stem = stem or default_stem(src)
    needs_calib = [t.name for t in targets if t.needs_calibration]
    if needs_calib and not options.calibration.given:
        raise UserError(
            f"{', '.join(needs_calib)} need{'s' if len(needs_calib) == 1 else ''} calibration data for full-integer "
            "quantization: give a folder of images or a .npy/.npz file of typical inputs, or choose synthetic "
            "data and accept poor int8 accuracy.",
            cli_hint="--calib PATH, or --calib synthetic"
        )
    check_output_folder(out, planned_outputs(names, stem), src, force)

    loaded = load(src, load_options, sub_range(progress, 0.0, PREPARE / 2))
    progress(PREPARE / 2, "Cutting the model")
    remove_partials(out)  # staging folders of crashed conversions into this folder
    # Locked for as long as this conversion lives, so remove_partials() elsewhere leaves it alone.
    staging, staging_lock = tempdirs.make_held_dir(out, STAGING_PREFIX)
    workdir = None
    try:
        workdir = tempdirs.mkdtemp("cut-")
        cut = cut_model(loaded, selection, workdir, sub_range(progress, PREPARE / 2, PREPARE * 0.999))
        job = TargetJob(cut=cut, stem=stem, staging=staging, options=options, progress=progress,
                        original=loaded.info.graph)
        job._calibration_loader = lambda: load_calibration(options.calibration, cut.inputs)
        if needs_calib:  # bad calibration data fails here, before any target has written a file
            progress(PREPARE * 0.999, "Reading the calibration data")
            job.calibration_data()
        earlier = read_manifest(out)  # other targets converted into this folder before stay listed
        artifacts = {a.target: a for a in (earlier.artifacts if earlier is not None else ())}
        manifest = _header(src, loaded.info, cut, options, needs_calib, plan_key)
        span = (1 - PREPARE) / len(targets)
        for i, target in enumerate(targets):
            lo = PREPARE + i * span
            # Inside this target's span; a message without a figure keeps the last one.
            job.progress = sub_range(progress, lo, lo + span * 0.999, target.name, keep_last=True)
            t0 = time.monotonic()
            try:
                result = target.convert(job)
            except Exception as exc:
                problem = disk_problem(exc, out)  # now, while the partial file still fills the disk
                if problem is None:
                    raise
                raise problem from exc
            files, undo = _move_into_place(result.files, out, staging)
            notes = list(result.notes)
            if target.needs_calibration and options.calibration.synthetic and result.details.get("calibrated", True):
                notes.insert(0, SYNTHETIC_WARNING)
            artifacts[target.name] = Artifact(
                target=target.name, title=target.title, status=result.status, files=files,
                op_counts_before=dict(cut.op_counts), op_counts_after=dict(result.op_counts),
                seconds=round(time.monotonic() - t0, 3),
                finished_at=round(time.time(), 3),  # tells a caller which artifacts this run wrote
                notes=tuple(notes), details=dict(result.details),
            )
            manifest = dataclasses.replace(manifest, artifacts=tuple(artifacts.values()),
                                           total_seconds=round(time.monotonic() - started, 3))
            try:
                write_manifest(out, manifest)
            except BaseException:
                undo()  # this target's files are not in the manifest: put back what was there before
                raise  # a full disk is said by _leaves_no_new_folder
        progress(1.0, "Conversion finished")
        return manifest
    finally:
        tempdirs.remove_held_dir(staging, staging_lock)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def _move_into_place(staged: list[Path], out: Path, staging: Path):
    """Move a target's finished files from staging into `out`. Files they replace are moved aside into
    staging (a rename, which needs no free space) so that undo() can put them back; they go when staging
    is removed. Returns the manifest's file entries (a tuple) and undo()."""
    aside = Path(tempfile.mkdtemp(prefix="replaced-", dir=staging))
    moved: list[tuple[Path, Optional[Path]]] = []

    def undo() -> None:
        for final, old in reversed(moved):
            if old is not None:
                os.replace(old, final)
            elif final.is_dir() and not final.is_symlink():
                shutil.rmtree(final, ignore_errors=True)
            else:
                final.unlink(missing_ok=True)

    try:
        entries = []
        for f in staged:
            final = out / f.name
            old = aside / f.name if final.exists() else None
            if old is not None:
                os.replace(final, old)
            moved.append((final, old))
            os.replace(f, final)
            entries.append(FileEntry(name=f.name, size_bytes=final.stat().st_size, sha256=sha256_of(final)))
    except BaseException:
        undo()
        raise
    return tuple(entries), undo


def _header(src: Path, info, cut, options: ConvertOptions, needs_calib: list[str], plan_key: str) -> Manifest:
    from ..cli import version
    from ..codec import to_data
    from ..environment import library_versions
    from .edgetpu_compiler import find_compiler

    tools = {"edgewizard": version(), **library_versions(), "edgetpu_compiler": find_compiler()}
    return Manifest(
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        source=SourceRecord(path=str(src.resolve()), format=info.format, sha256=sha256_of(src),
                            size_bytes=info.size_bytes, op_counts=info.graph.op_counts()),
        cut=CutRecord(inputs=tuple(cut.inputs), outputs=tuple(cut.outputs), removed_inputs=tuple(cut.removed_inputs),
                      source_nodes=dict(cut.source_nodes)),
        options={
            "io_type": options.io_type,
            "calibration": options.calibration.describe() if needs_calib else None,
            "edgetpu": to_data(options.edgetpu),
            "keep_float": list(options.keep_float),
        },
        tools=tools,
        plan_key=plan_key,
    )
