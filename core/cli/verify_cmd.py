"""`edgewizard verify`: run the original and converted models on the same inputs and compare them."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import UserError

EXIT_FLAGGED = 4  # only with --fail-on-flag: the comparison ran and crossed a threshold
TF_FORMATS = ("keras", "h5", "savedmodel", "frozen_pb", "meta")

DESCRIPTION = (
    "Run the original model (cut as for convert) and each converted model on the same inputs and compare "
    "every output: max and mean absolute error, cosine similarity, top-1 agreement for classifiers, and "
    "accuracy with labels. ARTIFACT is a .tflite, an OpenVINO .xml, or an output folder of `edgewizard "
    "convert` (all its models). MODEL is taken as the original when it is a Keras/TensorFlow model; without "
    "it, the source recorded in the artifacts' manifest.json is used (else the bundled sample); --model "
    "names any original explicitly. Inputs: --data (image folder with class sub-folders, or .npz with "
    "arrays named after the inputs or 'x', and labels 'y'); without it, the sample's test split for the "
    "sample, the calibration data recorded in manifest.json, or random data (said so). Results are saved "
    "as verify.json in the output folder the artifacts are in (for `edgewizard report`) unless --no-save. "
    "A result that crosses a threshold is flagged and still exits 0; --fail-on-flag exits 4 instead. "
    "--json prints: source, cut, data, thresholds, flagged, artifacts [{file, path, targets, precision, "
    "status, flags, outputs [{name, max_abs_error, mean_abs_error, cosine, cosine_min, classifier, "
    "top1_agreement, accuracy_original, accuracy_artifact, accuracy_drop, histogram, worst}]}]."
)


def add_parser(sub) -> None:
    from .options import add_cut_options, add_preprocess_options

    p = sub.add_parser("verify", help="check converted models give the original's answers", description=DESCRIPTION)
    # Which path is the MODEL is decided in resolve(), by content: argparse only splits off the first.
    p.add_argument("model", nargs="?", metavar="MODEL", help="the original Keras/TensorFlow model (default: from manifest.json)")
    p.add_argument("artifacts", nargs="+", metavar="ARTIFACT", help="converted models (.tflite, .xml) or output folders")
    p.add_argument("--model", dest="original", metavar="PATH", help="the original model in any format (also .tflite, .onnx, .xml)")
    p.add_argument("--custom-objects", metavar="FILE", help="Python file defining custom Keras layers (its code runs)")
    p.add_argument("--allow-unsafe", action="store_true", help="allow Keras Lambda layers, whose code runs on load; only for files you trust")
    p.add_argument("--signature", help="SavedModel signature to use (default: serving_default)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--debug", action="store_true", help="show details and tool logs on errors")
    g = p.add_argument_group("inputs")
    g.add_argument("--data", metavar="PATH", help="image folder (labels from sub-folder names) or .npz/.npy")
    g.add_argument("--samples", type=int, default=1000, metavar="N", help="use at most N samples (default 1000)")
    g.add_argument("--random-samples", type=int, default=64, metavar="N", help="random inputs when there is no data (default 64)")
    add_preprocess_options(g)
    add_cut_options(p, "cut and shapes (default: as recorded in manifest.json)")
    g = p.add_argument_group("thresholds")
    g.add_argument("--min-agreement", type=float, default=98.0, metavar="PCT", help="flag top-1 agreement below this (default 98)")
    g.add_argument("--min-cosine", type=float, default=0.99, metavar="C", help="flag cosine similarity below this (default 0.99)")
    g.add_argument("--max-accuracy-drop", type=float, metavar="POINTS", help="flag an accuracy drop above this many points (default: not flagged)")
    g.add_argument("--fail-on-flag", action="store_true", help=f"exit {EXIT_FLAGGED} when a result is flagged")
    p.add_argument("--no-save", action="store_true", help="do not write verify.json")
    p.set_defaults(run=run)


def resolve(args):
    """(model, selection, artifact paths, data, manifest-or-None, note) from the command line."""
    from ..calibrate import CalibrationSpec
    from ..loaders import detect_format
    from ..samples import sample_model_path, sample_test_path
    from ..verify import VerifyData
    from .options import preprocess_from, selection_from

    paths = ([args.model] if args.model else []) + list(args.artifacts)
    model = args.original
    if model is None and len(paths) > 1 and _is_tf_model(Path(paths[0]).expanduser(), detect_format):
        model = paths.pop(0)
    artifacts = [a for p in paths for a in _expand(Path(p).expanduser())]
    manifest = _manifest(Path(artifacts[0]).parent) if artifacts else None
    note = None
    recorded = manifest.get("source", {}).get("path") if manifest else None
    if model is None:
        if recorded:
            if not Path(recorded).exists():
                raise UserError(f"The model these were converted from, {recorded}, is no longer there; give it with --model.")
            model = recorded
        else:
            model = str(sample_model_path())
            note = "No manifest.json beside the artifacts: comparing with the bundled sample model."
    same_source = bool(recorded) and Path(model).expanduser().resolve() == Path(recorded).resolve()
    if args.inputs or args.outputs or args.shape or not same_source:
        selection = selection_from(args)
    else:
        selection = _recorded_selection(manifest)
    if args.samples < 1 or args.random_samples < 1:
        raise UserError("--samples and --random-samples must be at least 1.")
    pre = preprocess_from(args)
    calib = ((manifest or {}).get("options") or {}).get("calibration") if same_source else None
    if args.data:
        data = VerifyData.from_path(args.data, pre, args.samples)
    elif Path(model).expanduser().resolve() == sample_model_path().resolve():
        data = VerifyData.from_path(str(sample_test_path()), max_samples=args.samples, label="the sample's test split")
    elif calib and calib.get("sources") and not any(s["source"] == "synthetic" for s in calib["sources"]):
        spec = CalibrationSpec(
            sources=tuple((s["input"], s["source"]) for s in calib["sources"]), preset=calib.get("preset"),
            mean=tuple(calib["mean"]) if calib.get("mean") else None, scale=tuple(calib["scale"]) if calib.get("scale") else None,
            color=calib.get("color", "RGB"),
        )
        data = VerifyData.from_calibration(spec, args.samples)
    else:
        data = VerifyData(kind="random", random_samples=args.random_samples)
    return model, selection, artifacts, data, note


def _is_tf_model(p: Path, detect_format) -> bool:
    try:
        return detect_format(p) in TF_FORMATS
    except UserError:  # not a model (e.g. an output folder): an artifact then, checked later
        return False


def _expand(p: Path) -> list[str]:
    """An output folder stands for every model its manifest.json lists; a file for itself."""
    if not p.exists():
        raise UserError(f"{p} does not exist.")
    if not p.is_dir():
        return [str(p)]
    manifest = _manifest(p)
    if manifest is None:
        raise UserError(f"{p} is a folder without manifest.json; name the converted model files (.tflite, .xml) instead.")
    out = []
    for a in manifest.get("artifacts", []):
        for f in a.get("files", []):
            name = f.get("name", "")
            if name.endswith((".tflite", ".xml")) and str(p / name) not in out and (p / name).is_file():
                out.append(str(p / name))
    if not out:
        raise UserError(f"The manifest.json in {p} lists no converted model that is still there.")
    return out


def _manifest(folder: Path):
    try:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _recorded_selection(manifest: dict):
    from ..plan import Selection

    cut = manifest.get("cut", {})
    given = cut.get("source_nodes", {})
    ins = tuple(given.get(t["name"], t["name"]) for t in cut.get("inputs", []))
    outs = tuple(given.get(t["name"], t["name"]) for t in cut.get("outputs", []))
    shapes = tuple((given.get(t["name"], t["name"]), tuple(t["shape"])) for t in cut.get("inputs", []) if t.get("shape"))
    return Selection(inputs=ins, outputs=outs, shapes=shapes)


def run(args) -> int:
    from dataclasses import replace

    from ..jobs import JobRunner
    from ..plan import LoadOptions
    from ..verify import RANDOM_NOTE, Thresholds, save
    from .terminal import progress_printer

    model, selection, artifacts, data, note = resolve(args)
    thresholds = Thresholds(
        min_top1_agreement=args.min_agreement / 100, min_cosine=args.min_cosine,
        max_accuracy_drop=None if args.max_accuracy_drop is None else args.max_accuracy_drop / 100,
    )
    if note:
        print(f"Note: {note}", file=sys.stderr)
    if data.kind == "random":
        print(f"Note: no --data given. {RANDOM_NOTE}", file=sys.stderr)
    options = LoadOptions(custom_objects=args.custom_objects, allow_unsafe=args.allow_unsafe, signature=args.signature)
    with JobRunner() as runner, progress_printer(enabled=not args.json) as show:
        report = runner.run("edgewizard.core.verify:verify", model, options, selection, artifacts, data, thresholds, on_event=show)
    saved = []
    if not args.no_save:
        for folder in dict.fromkeys(Path(a.path).parent for a in report.artifacts):
            if (folder / "manifest.json").is_file():
                mine = [a for a in report.artifacts if Path(a.path).parent == folder]
                try:
                    saved.append(save(replace(report, artifacts=mine), folder))
                except OSError as exc:
                    print(f"edgewizard: could not save verify.json in {folder}: {exc.strerror or exc}.", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(summary_text(report))
        for p in saved:
            print(f"Saved {p}")
    return EXIT_FLAGGED if args.fail_on_flag and report.flagged else 0


def summary_text(report) -> str:
    lines = [f"Original: {report.source['path']}", f"Data:     {report.data.description}"]
    if report.data.note:
        lines.append(f"          {report.data.note}")
    for a in report.artifacts:
        label = ", ".join(t for t in a.targets if t) or a.precision
        lines.append("")
        lines.append(f"{a.file}  [{label}]  {a.status.upper()}")
        for n in a.notes:
            lines.append(f"  note: {n}")
        for o in a.outputs:
            parts = []
            if o.top1_agreement is not None:
                parts.append(f"top-1 agreement {o.top1_agreement:.1%} ({o.disagreements} differ)")
            if o.accuracy_artifact is not None:
                parts.append(f"accuracy {o.accuracy_original:.2%} -> {o.accuracy_artifact:.2%} ({0.0 - 100 * o.accuracy_drop:+.2f} points)")
            parts.append(f"max |err| {o.max_abs_error:.3g}, mean |err| {o.mean_abs_error:.3g}, cosine {o.cosine:.5f}")
            lines.append(f"  {o.name}: " + "; ".join(parts))
        for f in a.flags:
            lines.append(f"  FLAG: {f.message}")
        fixes = list(dict.fromkeys(r for f in a.flags for r in f.remedies))
        if fixes:
            lines.append("  What to try:")
            lines.extend(f"    - {r}" for r in fixes)
    lines.append("")
    lines.append("Some results are flagged; see above." if report.flagged else "No result crosses a threshold.")
    return "\n".join(lines)
