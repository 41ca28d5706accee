"""Convert one model to several targets with one load and one cut, writing safely.

Each target writes into a private staging folder inside the output folder; finished files are
moved into place with os.replace (atomic on one filesystem), so a failed, cancelled or killed
conversion never leaves a half-written model where the person looks. manifest.json records what
was made, from what, with which tools and options."""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Optional

from ..errors import UserError
from ..files import write_atomic
from ..loaders import ProgressFn, _no_progress, load
from ..plan import LoadOptions, Selection
from .base import ConvertOptions, TargetJob, get_target

STAGING_PREFIX = ".edgewizard-partial-"
MANIFEST = "manifest.json"
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
    """Remove staging folders a killed conversion left in `out_dir` (called by the job's caller)."""
    folder = Path(out_dir)
    if not folder.is_dir():
        return
    for p in folder.glob(STAGING_PREFIX + "*"):
        shutil.rmtree(p, ignore_errors=True)


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
        raise UserError(f"The output folder {out_dir} is not writable; choose another with -o.")
    src = source.resolve()
    for n in names:
        target = (out_dir / n).resolve()
        if target == src or (src.is_dir() and src in target.parents):
            raise UserError(f"Writing {n} would overwrite the input model {source}; choose another output folder.")
    existing = [n for n in names if (out_dir / n).exists()]
    if existing and not force:
        listed = ", ".join(existing[:3]) + (" ..." if len(existing) > 3 else "")
        raise UserError(f"{listed} already exist{'s' if len(existing) == 1 else ''} in {out_dir}; use --force to replace.")


def default_stem(source: Path) -> str:
    return source.name if source.is_dir() else source.stem


def convert(
    source: str,
    load_options: LoadOptions,
    selection: Selection,
    target_names: list[str],
    out_dir: str,
    options: ConvertOptions = ConvertOptions(),
    force: bool = False,
    stem: Optional[str] = None,
    progress: ProgressFn = _no_progress,
) -> dict:
    """Runs in the worker. Returns the manifest (as written to out_dir/manifest.json)."""
    from ..calibrate import SYNTHETIC_WARNING, load_calibration
    from ..cut import cut as cut_model

    started = time.monotonic()
    src = Path(source).expanduser()
    out = Path(out_dir).expanduser()
    names = [get_target(t).name for t in target_names]
    names = list(dict.fromkeys(names))
    if not names:
        raise UserError("Choose at least one target with --target (e.g. tflite-int8, edgetpu, openvino-fp16).")
    targets = [get_target(n) for n in names]
    stem = stem or default_stem(src)
    needs_calib = [t.name for t in targets if t.needs_calibration]
    if needs_calib and not options.calibration.given:
        raise UserError(
            f"{', '.join(needs_calib)} need{'s' if len(needs_calib) == 1 else ''} calibration data for full-integer "
            "quantization: give --calib with a folder of images or a .npy/.npz file of typical inputs "
            "(or --calib synthetic to accept poor int8 accuracy)."
        )
    check_output_folder(out, planned_outputs(names, stem), src, force)

    def sub(lo: float, hi: float):
        return lambda f, m: progress(None if f is None else lo + (hi - lo) * f, m)

    loaded = load(src, load_options, sub(0.0, PREPARE / 2))
    progress(PREPARE / 2, "Cutting the model")
    workdir = Path(tempfile.mkdtemp(prefix="edgewizard-cut-"))
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
    try:
        cut = cut_model(loaded, selection, workdir, sub(PREPARE / 2, PREPARE * 0.999))
        job = TargetJob(cut=cut, stem=stem, staging=staging, options=options, progress=progress)
        job._calibration_loader = lambda: load_calibration(options.calibration, cut.inputs)
        manifest = _read_manifest(out)
        manifest.update(_header(src, loaded.info, cut, options, needs_calib))
        artifacts = {a["target"]: a for a in manifest.get("artifacts", [])}
        span = (1 - PREPARE) / len(targets)
        for i, target in enumerate(targets):
            lo = PREPARE + i * span
            job.progress = _target_reporter(progress, lo, span, target.name)
            t0 = time.monotonic()
            result = target.convert(job)
            files = []
            for f in result.files:
                final = out / f.name
                os.replace(f, final)
                files.append({"name": f.name, "size_bytes": final.stat().st_size, "sha256": _sha256(final)})
            notes = list(result.notes)
            if target.needs_calibration and options.calibration.synthetic:
                notes.insert(0, SYNTHETIC_WARNING)
            artifacts[target.name] = {
                "target": target.name,
                "title": target.title,
                "status": result.status,
                "files": files,
                "op_counts_before": cut.op_counts,
                "op_counts_after": result.op_counts,
                "seconds": round(time.monotonic() - t0, 3),
                "notes": notes,
                **result.details,
            }
            manifest["artifacts"] = list(artifacts.values())
            manifest["total_seconds"] = round(time.monotonic() - started, 3)
            write_atomic(out / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
        progress(1.0, "Conversion finished")
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)


def _target_reporter(progress: ProgressFn, lo: float, span: float, name: str) -> ProgressFn:
    """A target's own 0..1 progress as part of the whole; None (busy, no figure) keeps the last."""
    last = [0.0]

    def report(fraction: Optional[float], message: str) -> None:
        if fraction is not None:
            last[0] = min(max(fraction, 0.0), 0.999)  # stays inside this target's span
        progress(lo + span * last[0], f"{name}: {message}")

    return report


def _header(src: Path, info, cut, options: ConvertOptions, needs_calib: list[str]) -> dict:
    from ..cli import version
    from ..environment import library_versions
    from .edgetpu_compiler import find_compiler

    tools = {"edgewizard": version(), **library_versions(), "edgetpu_compiler": find_compiler()}
    return {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "source": {
            "path": str(src.resolve()),
            "format": info.format,
            "sha256": _sha256(src),
            "size_bytes": info.size_bytes,
            "op_counts": info.graph.op_counts(),
        },
        "cut": {
            "inputs": [t.to_dict() for t in cut.inputs],
            "outputs": [t.to_dict() for t in cut.outputs],
            "removed_inputs": list(cut.removed_inputs),
            "source_nodes": dict(cut.source_nodes),
        },
        "options": {
            "io_type": options.io_type,
            "calibration": options.calibration.describe() if needs_calib else None,
            "edgetpu": _asdict(options.edgetpu),
        },
        "tools": tools,
    }


def _asdict(obj) -> dict:
    from dataclasses import asdict

    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(obj).items()}


def _read_manifest(out: Path) -> dict:
    p = out / MANIFEST
    if not p.exists():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:
        if p.is_dir():
            h.update(str(f.relative_to(p)).encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()
