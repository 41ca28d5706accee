"""`edgewizard convert`: one load and one cut, then every requested target, into an output folder."""
from __future__ import annotations

import json
import sys

from ..errors import MissingDependency, UserError
from . import add_common, model_and_options


def add_parser(sub) -> None:
    from ..calibrate import PRESETS
    from ..convert.base import IO_TYPES

    p = sub.add_parser(
        "convert",
        help="convert a model for one or more targets",
        description="Convert a model (or the part between --inputs and --outputs) to one or more targets: "
        "tflite-float, tflite-fp16, tflite-dynamic, tflite-int8, edgetpu, openvino-fp32, openvino-fp16 "
        "(alias myriad/ncs2), openvino-int8. Writes the models and manifest.json into -o OUTDIR.",
    )
    add_common(p)
    p.add_argument("--target", "-t", action="append", required=True, metavar="T", help="conversion target (repeat for several)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder (created if needed)")
    p.add_argument("--force", action="store_true", help="replace outputs that already exist")
    p.add_argument("--name", metavar="STEM", help="base of the output file names (default: the model's name)")
    g = p.add_argument_group("cut and shapes")
    g.add_argument("--inputs", metavar="A,B", help="nodes to take as inputs (layer, op or tensor names; default: the model's)")
    g.add_argument("--outputs", metavar="X,Y", help="nodes to take as outputs (default: the model's)")
    g.add_argument("--shape", action="append", default=[], metavar="[NAME=]1,H,W,C", help="static input shape (batch defaults to 1)")
    g = p.add_argument_group("calibration (full-integer targets)")
    g.add_argument("--calib", action="append", default=[], metavar="[NAME=]PATH", help="image folder, .npy/.npz file, or 'synthetic'")
    g.add_argument("--calib-samples", type=int, default=100, metavar="N", help="how many samples to use (default 100)")
    g.add_argument("--preprocess", choices=sorted(PRESETS), help="how image pixels are scaled (default: unit = [0,1])")
    g.add_argument("--mean", metavar="M[,M,M]", help="per-channel mean subtracted from pixels (overrides --preprocess)")
    g.add_argument("--scale", metavar="S[,S,S]", help="per-channel factor applied after the mean (overrides --preprocess)")
    g.add_argument("--bgr", action="store_true", help="feed image channels as BGR instead of RGB")
    g.add_argument("--io-type", choices=IO_TYPES, default="uint8", help="input/output type of int8 models (default uint8, as the Edge TPU expects)")
    g = p.add_argument_group("Edge TPU compiler (used when edgetpu_compiler is installed)")
    g.add_argument("--edgetpu-min-runtime", type=int, metavar="N", help="minimum Edge TPU runtime version (-m)")
    g.add_argument("--edgetpu-segments", type=int, metavar="N", help="split into N segments to pipeline across N TPUs (-n)")
    g.add_argument("--edgetpu-intermediate", metavar="T1,T2", help="stop mapping to the TPU after these tensors (-i)")
    g.add_argument("--edgetpu-multiple-subgraphs", action="store_true", help="allow more than one TPU subgraph (experimental, -a)")
    g.add_argument("--edgetpu-search-delegate", action="store_true", help="on failure, search for a delegate boundary (-d)")
    g.add_argument("--edgetpu-timeout", type=int, metavar="S", help="compiler timeout in seconds (-t)")
    p.set_defaults(run=run)


def parse_shapes(values: list[str]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    shapes = []
    for v in values:
        name, sep, dims = v.rpartition("=")
        text = dims if sep else v
        try:
            shape = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
        except ValueError:
            raise UserError(f"--shape {v!r} is not a list of whole numbers like 1,224,224,3.") from None
        if not shape or any(d <= 0 for d in shape):
            raise UserError(f"--shape {v!r} must be positive whole numbers like 1,224,224,3.")
        shapes.append((name if sep else "", shape))
    return tuple(shapes)


def _floats(text, flag):
    if text is None:
        return None
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise UserError(f"{flag} takes numbers separated by commas, like 127.5,127.5,127.5.") from None


def _names(text):
    return tuple(n.strip() for n in text.split(",") if n.strip()) if text else ()


def build_request(args):
    from ..calibrate import CalibrationSpec, parse_calib_args
    from ..convert.base import ConvertOptions
    from ..convert.edgetpu_compiler import EdgeTpuOptions
    from ..plan import Selection

    selection = Selection(inputs=_names(args.inputs), outputs=_names(args.outputs), shapes=parse_shapes(args.shape))
    calib = CalibrationSpec(
        sources=parse_calib_args(args.calib),
        samples=args.calib_samples,
        preset=args.preprocess,
        mean=_floats(args.mean, "--mean"),
        scale=_floats(args.scale, "--scale"),
        color="BGR" if args.bgr else "RGB",
    )
    edgetpu = EdgeTpuOptions(
        min_runtime_version=args.edgetpu_min_runtime,
        num_segments=args.edgetpu_segments,
        intermediate_tensors=_names(args.edgetpu_intermediate),
        allow_multiple_subgraphs=args.edgetpu_multiple_subgraphs,
        search_delegate=args.edgetpu_search_delegate,
        timeout_s=args.edgetpu_timeout,
    )
    return selection, ConvertOptions(io_type=args.io_type, calibration=calib, edgetpu=edgetpu)


def run(args) -> int:
    from ..calibrate import SYNTHETIC_WARNING
    from ..convert.base import get_target
    from ..convert.edgetpu import NOT_COMPILED
    from ..convert.run import remove_partials
    from ..jobs import JobRunner
    from ..files import human_bytes
    from .terminal import progress_printer

    model, load_options = model_and_options(args)
    selection, options = build_request(args)
    if args.calib_samples < 1:
        raise UserError("--calib-samples must be at least 1.")
    if not args.model and not args.calib:
        from ..samples import sample_calibration_path

        options = _with_sample_calibration(options, sample_calibration_path())
    targets = [get_target(t).name for t in args.target]  # unknown names fail here, before any work
    if options.calibration.synthetic and not args.json:
        print(f"Warning: {SYNTHETIC_WARNING}", file=sys.stderr)
    runner = JobRunner()
    try:
        with progress_printer(enabled=not args.json) as show:
            job = runner.submit(
                "edgewizard.core.convert.run:convert", model, load_options, selection, targets, args.output, options,
                force=args.force, stem=args.name,
            )
            try:
                manifest = job.result(on_event=show)
            except BaseException:
                job.cancel()
                remove_partials(args.output)
                raise
    finally:
        runner.shutdown()
    if args.json:
        print(json.dumps(manifest, indent=2, ensure_ascii=False))
    else:
        print(f"Converted {manifest['source']['path']} into {args.output}:")
        for a in manifest["artifacts"]:
            if a["target"] not in targets:
                continue
            print(f"  {a['target']} ({a['seconds']:.1f} s)")
            for f in a["files"]:
                print(f"    {f['name']}  {human_bytes(f['size_bytes'])}")
            for note in a["notes"]:
                print(f"    note: {note}")
    missing = [a for a in manifest["artifacts"] if a["target"] in targets and a["status"] == NOT_COMPILED]
    if missing:
        err = MissingDependency(
            "The Edge TPU compile step was not run because edgetpu_compiler is not installed; the int8 model was "
            "written and the other targets finished."
        )
        print(f"edgewizard: {err.message}", file=sys.stderr)
        return err.exit_code
    return 0


def _with_sample_calibration(options, path):
    from dataclasses import replace

    return replace(options, calibration=replace(options.calibration, sources=((None, str(path)),)))
