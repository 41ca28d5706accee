"""`edgewizard verify`: run the original and converted models on the same inputs and compare them."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import UserError
from ..files import sha256_of
from ..manifest import Manifest, read_manifest

EXIT_FLAGGED = 4  # only with --fail-on-flag: the comparison ran and crossed a threshold
ORIGINAL_ONLY_FORMATS = ("keras", "h5", "savedmodel", "frozen_pb", "meta", "onnx")  # never written by convert

DESCRIPTION = (
    "Run the original model (cut as for convert) and each converted model on the same inputs and compare "
    "every output: max and mean absolute error, cosine similarity, top-1 agreement for classifiers, and "
    "accuracy with labels. ARTIFACT is a .tflite, an OpenVINO .xml, or an output folder of `edgewizard "
    "convert` (all its models). "
    "Which model is the original: --model PATH when given; else MODEL, the first path when more than one is "
    "given, in any format EdgeWizard converts from (Keras .keras/.h5, SavedModel folder, .pb, .meta, .tflite, "
    "OpenVINO .xml, .onnx); else the source that the manifest.json of the output folder records; else, only "
    "when nothing names one, the bundled sample (said so). A .tflite or .xml in the first place is MODEL unless "
    "the manifest.json beside it lists it as a converted model: then it is an ARTIFACT, and --model names the "
    "original. When MODEL and the manifest name different files, MODEL wins, with a note, and the manifest's "
    "cut and calibration data are used only if the two files have the same content. "
    "Inputs: --data (image folder with class sub-folders, or .npz with "
    "arrays named after the inputs or 'x', and labels 'y'); without it, the sample's test split for the "
    "sample, the calibration data recorded in manifest.json, or random data (said so). Results are saved "
    "as verify.json in the output folder the artifacts are in (for `edgewizard report`) unless --no-save. "
    "A result that crosses a threshold is flagged and still exits 0; --fail-on-flag exits 4 instead. "
    "--json prints: original {path, chosen_by (MODEL, --model, manifest, sample), notes}, source, cut, data, "
    "thresholds, flagged, artifacts [{file, path, targets, precision, "
    "status, flags, outputs [{name, max_abs_error, mean_abs_error, cosine, cosine_min, classifier, "
    "top1_agreement, accuracy_original, accuracy_artifact, accuracy_drop, histogram, worst}]}]. "
    "--per-layer: for an int8 .tflite or OpenVINO INT8 .xml, run it and a float copy on --layer-samples samples "
    "with every layer's output kept, and print each layer's relative error (RMSE over the float output's "
    "standard deviation) and the error it adds to its inputs', worst first (the top 20; --json prints "
    "{artifact, file, sha256, runtime, data, samples, rows [{node, op, source_nodes, error, added, rmse_scale, "
    "quantized}], notes, seconds, key}, a list of these for several artifacts). Nothing is saved."
)
ARTIFACT_SUFFIXES = (".tflite", ".xml", ".bin")  # what convert writes; also possible originals


@dataclass(frozen=True)
class Original:
    """The model the artifacts are compared with, and why that one (said in the output)."""

    path: str
    chosen_by: str  # "MODEL", "--model", "manifest" or "sample"
    notes: tuple[str, ...] = ()
    manifest: Optional[Manifest] = None  # the output folder's manifest.json when it records this very model


def add_parser(sub) -> None:
    from .options import add_cut_options, add_preprocess_options

    p = sub.add_parser("verify", help="check converted models give the original's answers", description=DESCRIPTION)
    # Which path is the MODEL is decided in choose_original(), by content: argparse only splits off the first.
    p.add_argument("model", nargs="?", metavar="MODEL", help="the original model, any format (default: the source manifest.json records)")
    p.add_argument("artifacts", nargs="+", metavar="ARTIFACT", help="converted models (.tflite, .xml) or output folders")
    p.add_argument("--model", dest="original", metavar="PATH", help="the original model in any format; every other path is then an ARTIFACT")
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
    g = p.add_argument_group("per-layer int8 error")
    g.add_argument("--per-layer", action="store_true",
                   help="instead of comparing outputs, show how much int8 error each layer of an int8 model adds, worst first")
    g.add_argument("--layer-samples", type=int, default=32, metavar="N",
                   help="samples the per-layer analysis runs on (default 32)")
    p.set_defaults(run=run)


def resolve(args):
    """(model, selection, artifact paths, data, note-or-None) from the command line."""
    original, selection, artifacts, data = resolve_all(args)
    return original.path, selection, artifacts, data, " ".join(original.notes) or None


def resolve_all(args):
    """(Original, selection, artifact paths, data) from the command line."""
    from ..samples import sample_model_path, sample_test_path
    from ..verify import VerifyData
    from .options import preprocess_from, selection_from

    original, artifacts = choose_original(args)
    manifest = original.manifest
    if args.inputs or args.outputs or args.shape or manifest is None:
        selection = selection_from(args)
    else:
        selection = manifest.selection()
    if args.samples < 1 or args.random_samples < 1:
        raise UserError("--samples and --random-samples must be at least 1.")
    pre = preprocess_from(args)
    calib = manifest.calibration() if manifest is not None else None  # None also when it was synthetic
    if args.data:
        data = VerifyData.from_path(args.data, pre, args.samples)
    elif Path(original.path).expanduser().resolve() == sample_model_path().resolve():
        data = VerifyData.from_path(str(sample_test_path()), max_samples=args.samples, label="the sample's test split")
    elif calib is not None:
        data = VerifyData.from_calibration(calib, args.samples)
    else:
        data = VerifyData(kind="random", random_samples=args.random_samples)
    return original, selection, artifacts, data


def choose_original(args) -> tuple[Original, list[str]]:
    """The original model and the artifact files, by the rules DESCRIPTION states."""
    from ..samples import sample_model_path

    paths = ([args.model] if args.model else []) + list(args.artifacts)
    model, chosen_by = (args.original, "--model") if args.original else (None, "")
    if model is None and len(paths) > 1 and _is_original(Path(paths[0]).expanduser()):
        model, chosen_by = paths.pop(0), "MODEL"
    for p in paths:
        _refuse_original_as_artifact(Path(p).expanduser(), model, alone=len(paths) == 1 and model is None)
    artifacts = [a for p in paths for a in _expand(Path(p).expanduser())]
    recorded = _recorded_sources(artifacts)  # {source path: (its manifest, the folder it is in)}
    if model is not None:
        return _given(model, chosen_by, recorded), artifacts
    if len(recorded) > 1:
        names = ", ".join(sorted(recorded))
        raise UserError(f"These converted models were made from different models ({names}); verify them one "
                        "output folder at a time, or name the original with --model.")
    if recorded:
        source, (manifest, _) = next(iter(recorded.items()))
        if not Path(source).exists():
            raise UserError(f"The model these were converted from, {source}, is no longer there; give it with --model.")
        return Original(source, "manifest", manifest=manifest), artifacts
    note = ("No model was given and no manifest.json beside the artifacts names the model they were converted "
            "from: comparing with the bundled sample model.")
    return Original(str(sample_model_path()), "sample", (note,)), artifacts


def _given(model: str, chosen_by: str, recorded: dict) -> Original:
    """The original the person named; the manifest's cut and calibration only if it is the recorded source."""
    path = Path(model).expanduser()
    if not path.exists():
        raise UserError(f"{path} does not exist.")
    same = next((m for source, (m, _) in recorded.items() if _same_model(path, source, m.source.sha256)), None)
    notes = tuple(
        f"The manifest.json in {folder} records {source} as the model it was converted from; comparing with {path} "
        "as asked, without the cut and calibration data recorded there."
        for source, (m, folder) in recorded.items() if m is not same)
    return Original(str(model), chosen_by, notes, manifest=same)


def _same_model(path: Path, source: str, digest: str) -> bool:
    """The same file, or a copy of it (same content `digest`), as the source a manifest records."""
    if path.resolve() == Path(source).resolve():
        return True
    # A hash costs far less than the verification it would spoil (the recorded cut may be the only one that fits).
    return bool(digest) and sha256_of(path) == digest


def _is_original(p: Path) -> bool:
    """Whether the first of several paths is the original: a model in a format we convert from, and not a
    file the manifest.json beside it lists as a converted model (nor an output folder)."""
    from ..loaders import detect_format

    if p.is_dir() and (p / "manifest.json").is_file():
        return False
    try:
        detect_format(p)
    except UserError:  # not a model (e.g. an output folder): an artifact then, checked later
        return False
    return p.suffix.lower() not in ARTIFACT_SUFFIXES or p.name not in _listed(read_manifest(p.parent))


def _refuse_original_as_artifact(p: Path, model: Optional[str], alone: bool) -> None:
    """A path in an ARTIFACT place that can only be an original (.keras, .onnx, ...): say where it goes."""
    from ..loaders import detect_format

    if p.is_dir() and (p / "manifest.json").is_file():
        return
    try:
        fmt = detect_format(p)
    except UserError:
        return  # an output folder or a broken file: _expand says what it is
    if fmt not in ORIGINAL_ONLY_FORMATS:
        return
    if alone:
        raise UserError(f"{p} is a model to convert from, not a converted one; name the converted models "
                        "(.tflite, .xml) or their output folder after it.")
    if model is not None:
        raise UserError(f"{p} is a model to convert from, not a converted one; verify compares one original ({model}) "
                        "with converted models (.tflite, .xml) or output folders.")
    raise UserError(f"{p} is a model to convert from, not a converted one; give it first (as MODEL) or with --model.")


def _recorded_sources(artifacts: list[str]) -> dict:
    """{source path: (manifest, folder)} from the manifest.json beside each artifact that lists it."""
    found: dict = {}
    for a in artifacts:
        folder = Path(a).parent
        manifest = read_manifest(folder)
        source = manifest.source.path if manifest is not None else ""
        if source and Path(a).name in _listed(manifest):
            found.setdefault(source, (manifest, folder))
    return found


def _listed(manifest: Optional[Manifest]) -> set:
    """The names of the files a manifest.json lists as converted models (with their .bin)."""
    return manifest.file_names() if manifest is not None else set()


def _expand(p: Path) -> list[str]:
    """An output folder stands for every model its manifest.json lists; a file for itself."""
    if not p.exists():
        raise UserError(f"{p} does not exist.")
    if not p.is_dir():
        return [str(p)]
    manifest = read_manifest(p)
    if manifest is None:
        raise UserError(f"{p} is a folder without manifest.json; name the converted model files (.tflite, .xml) instead.")
    out = [str(path) for path, _ in manifest.converted_files(p) if path.is_file()]
    if not out:
        raise UserError(f"The manifest.json in {p} lists no converted model that is still there.")
    return out


def run(args) -> int:
    from dataclasses import replace

    from ..jobs import JobRunner
    from ..plan import LoadOptions
    from ..verify import RANDOM_NOTE, Thresholds, save
    from .terminal import progress_printer

    original, selection, artifacts, data = resolve_all(args)
    if args.per_layer:
        from . import per_layer_cmd

        if args.layer_samples < 1:
            raise UserError("--layer-samples must be at least 1.")
        return per_layer_cmd.run(args, original, selection, artifacts, data)
    thresholds = Thresholds(
        min_top1_agreement=args.min_agreement / 100, min_cosine=args.min_cosine,
        max_accuracy_drop=None if args.max_accuracy_drop is None else args.max_accuracy_drop / 100,
    )
    for note in original.notes:
        print(f"Note: {note}", file=sys.stderr)
    if data.kind == "random":
        print(f"Note: no --data given. {RANDOM_NOTE}", file=sys.stderr)
    options = LoadOptions(custom_objects=args.custom_objects, allow_unsafe=args.allow_unsafe, signature=args.signature)
    with JobRunner() as runner, progress_printer(enabled=not args.json) as show:
        report = runner.run("edgewizard.core.verify:verify", original.path, options, selection, artifacts, data, thresholds, on_event=show)
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
        chosen = {"path": report.source["path"], "chosen_by": original.chosen_by, "notes": list(original.notes)}
        print(json.dumps({"original": chosen, **report.to_dict()}, indent=2, ensure_ascii=False))
    else:
        print(summary_text(report, original))
        for p in saved:
            print(f"Saved {p}")
    return EXIT_FLAGGED if args.fail_on_flag and report.flagged else 0


CHOSEN_BY = {"MODEL": "given as MODEL", "--model": "given with --model", "manifest": "the source manifest.json records",
             "sample": "the bundled sample: nothing else names an original"}


def summary_text(report, original: Optional[Original] = None) -> str:
    why = f"  ({CHOSEN_BY[original.chosen_by]})" if original else ""
    lines = [f"Original: {report.source['path']}{why}", f"Data:     {report.data.description}"]
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
