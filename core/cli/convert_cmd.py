"""`edgewizard convert`: one load and one cut, then every requested target, into an output folder;
several models in one call each go into OUTDIR/<name>/, converted by one warm worker."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ..errors import Cancelled, EdgeWizardError, MissingDependency, UserError
from . import add_common, model_and_options, plan_from, with_hint
from .budget_cli import add_budget_options
from .options import add_calibration_options, add_cut_options, add_edgetpu_options

# How bad an exit code is, for a batch that ends with the worst of its models: our bug beats a
# missing tool beats a bad input beats success.
SEVERITY = {0: 0, 2: 1, 3: 2, 1: 3}
NO_COMPILER = ("The Edge TPU compile step was not run because edgetpu_compiler is not installed; the int8 model was "
               "written and the other targets finished.")


def target_list() -> str:
    """The targets the device catalogue names, each with the device names that stand for it when it is
    the device's first target ("openvino-fp16 (or myriad, ncs2)")."""
    from ..devices import devices

    names = {t: [] for d in devices() for t in d.targets}
    for d in devices():
        if d.default_target and d.family in ("", d.id):
            names[d.default_target] += [n for n in (d.id, *d.aliases) if n != d.default_target]
    return ", ".join(f"{t} (or {', '.join(a)})" if a else t for t, a in names.items())


def add_parser(sub) -> None:
    p = sub.add_parser(
        "convert",
        help="convert a model for one or more targets",
        description="Convert a model (or the part between --inputs and --outputs) to one or more targets: "
        f"{target_list()}. Writes the models and manifest.json into -o OUTDIR; with several "
        "models, each goes into OUTDIR/<its name>/ and a failing one does not stop the others.",
    )
    add_common(p)
    p.add_argument("more_models", nargs="*", metavar="MODEL", help="more models, converted one after another")
    p.add_argument("--target", "-t", action="append", required=True, metavar="T", help="conversion target (repeat for several)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder (created if needed)")
    p.add_argument("--force", action="store_true", help="replace outputs that already exist")
    p.add_argument("--name", metavar="STEM", help="base of the output file names (default: the model's name; one model only)")
    add_cut_options(p)
    add_calibration_options(p, "calibration (full-integer targets)", "image folder, .npy/.npz file, or 'synthetic'",
                            "how many samples to use (default 100)")
    add_edgetpu_options(p, "Edge TPU compiler (used when edgetpu_compiler is installed)")
    add_budget_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..calibrate import SYNTHETIC_WARNING
    from ..convert.base import get_target
    from ..jobs import JobRunner

    model, load_options = model_and_options(args)
    models = [model, *args.more_models]
    targets = tuple(get_target(t).name for t in args.target)  # unknown names fail here, before any work
    outputs = batch_outputs(models, args.output, args.name) if len(models) > 1 else [args.output]
    plan = plan_from(args, model if len(models) == 1 else None, load_options, targets=targets, output_dir=outputs[0])
    if plan.options.calibration.synthetic and not args.json:
        print(f"Warning: {SYNTHETIC_WARNING}", file=sys.stderr)
    if args.max_drop is not None and len(models) > 1:
        raise UserError("An accuracy budget is searched for one model at a time.")
    runner = JobRunner()  # one warm worker for every model: TensorFlow is imported once
    try:
        if args.max_drop is not None:
            from .budget_cli import run_budget

            return run_budget(runner, plan, args)
        if len(models) == 1:
            manifest = _convert(runner, plan, args)
            return _print_one(manifest, list(targets), args)
        runner.warm_up()  # TensorFlow imported (and kept out of the collector's way) before the first model
        return _convert_batch(runner, models, outputs, args, plan)
    finally:
        runner.shutdown()


def batch_outputs(models: list[str], out: str, name) -> list[str]:
    """OUTDIR/<stem> per model; two models that would share a folder are refused before any work."""
    from ..convert.run import default_stem

    if name:
        raise UserError("--name sets the file names of one model; with several models each is named after its file.")
    seen: dict[str, str] = {}
    for m in models:
        stem = default_stem(Path(m).expanduser())
        key = stem.casefold()  # one folder on case-insensitive file systems (Windows, macOS)
        if key in seen:
            raise UserError(f"{seen[key]} and {m} would both convert into {Path(out) / stem}; rename one of them "
                            "or convert them in separate calls.")
        seen[key] = m
    return [str(Path(out) / default_stem(Path(m).expanduser())) for m in models]


def _convert(runner, plan, args, prefix=""):
    """Run core/steps.py convert_plan in the worker; returns the Manifest."""
    from ..convert.run import finished_since, remove_partials
    from .terminal import progress_printer

    started, out = time.time(), plan.output_dir
    with progress_printer(enabled=not args.json, prefix=prefix) as show:
        job = runner.submit("edgewizard.core.steps:convert_plan", plan, force=args.force, stem=args.name)
        try:
            return job.result(on_event=show)
        except BaseException:
            job.cancel(wait=True)  # gone before its partial files are removed
            remove_partials(out)
            kept = finished_since(out, list(plan.targets), started)
            if kept and not args.json:  # the targets that finished before the failure stay: say so
                names = [f.name for a in kept for f in a.files] + ["manifest.json"]
                print(f"{prefix}Kept in {out} (finished before it stopped): {', '.join(names)}", file=sys.stderr, flush=True)
            raise


def _convert_batch(runner, models, outputs, args, template) -> int:
    """Each model with `template`'s cut, targets and options, into its own folder."""
    from dataclasses import replace

    from ..codec import to_data
    from ..steps import source_of

    targets = list(template.targets)
    entries, top_existed = [], Path(args.output).exists()
    for i, (model, out) in enumerate(zip(models, outputs), 1):
        prefix = f"[{i}/{len(models)}] "
        if not args.json:
            print(f"{prefix}{model} -> {out}", flush=True)
        existed = Path(out).exists()
        try:
            plan = replace(template, source=source_of(model, template.source.load_options), output_dir=out)
            manifest = _convert(runner, plan, args, prefix)
        except BaseException as exc:
            _remove_if_empty(out, existed)
            if not isinstance(exc, EdgeWizardError) or isinstance(exc, Cancelled):
                raise  # Ctrl-C or a cancel ends the whole batch
            named = "" if Path(model).name in exc.message else f"{model}: "  # most messages name the file already
            print(f"edgewizard: {prefix}{named}{with_hint(exc.message, exc.cli_hint)}", file=sys.stderr, flush=True)
            if args.debug and exc.details:
                print(exc.details, file=sys.stderr)
            entries.append({"model": model, "output": out, "status": "failed", "exit_code": exc.exit_code,
                            "error": exc.message, "error_id": exc.message_id or None,
                            **({"hint": exc.cli_hint} if exc.cli_hint else {})})
            continue
        code = MissingDependency.exit_code if _not_compiled(manifest, targets) else 0
        entries.append({"model": model, "output": out, "status": "converted", "exit_code": code, "manifest": to_data(manifest)})
        if not args.json:
            _print_artifacts(manifest, targets, indent="  ")
            sys.stdout.flush()
    failed = [e for e in entries if e["status"] == "failed"]
    if len(failed) == len(entries):
        _remove_if_empty(args.output, top_existed)
    summary = f"{len(entries) - len(failed)} converted, {len(failed)} failed"
    if args.json:
        print(json.dumps({"models": entries, "converted": len(entries) - len(failed), "failed": len(failed)},
                         indent=2, ensure_ascii=False))
    else:
        names = f" ({', '.join(Path(e['model']).name for e in failed)})" if failed else ""
        print(f"{len(entries)} models into {args.output}: {summary}{names}.", flush=True)
    if any(e["status"] == "converted" and e["exit_code"] == MissingDependency.exit_code for e in entries):
        print(f"edgewizard: {NO_COMPILER}", file=sys.stderr)
    return worst_exit(e["exit_code"] for e in entries)


def worst_exit(codes) -> int:
    return max(codes, key=SEVERITY.__getitem__, default=0)


def _remove_if_empty(out: str, existed: bool) -> None:
    """A model that failed leaves no folder of its own behind (staging folders are already gone)."""
    if existed:
        return
    try:
        Path(out).rmdir()
    except OSError:
        pass  # not empty or not there: nothing of ours to tidy


def _not_compiled(manifest, targets: list[str]) -> bool:
    from ..convert.edgetpu import NOT_COMPILED

    return any(a.target in targets and a.status == NOT_COMPILED for a in manifest.artifacts)


def _print_artifacts(manifest, targets: list[str], indent: str = "") -> None:
    from ..files import human_bytes

    for a in manifest.artifacts:
        if a.target not in targets:
            continue
        print(f"{indent}  {a.target} ({a.seconds:.1f} s)")
        for f in a.files:
            print(f"{indent}    {f.name}  {human_bytes(f.size_bytes)}")
        for note in a.notes:
            print(f"{indent}    note: {note}")


def _print_one(manifest, targets: list[str], args) -> int:
    from ..codec import dumps

    if args.json:
        print(dumps(manifest))
    else:
        print(f"Converted {manifest.source.path} into {args.output}:")
        _print_artifacts(manifest, targets)
    if _not_compiled(manifest, targets):
        err = MissingDependency(NO_COMPILER)
        print(f"edgewizard: {err.message}", file=sys.stderr)
        return err.exit_code
    return 0
