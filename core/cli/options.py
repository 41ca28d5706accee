"""Option groups several commands share (cut and shapes, image preprocessing, int8 calibration,
Edge TPU compiler flags) and the parsing of their values, written once."""
from __future__ import annotations

from ..errors import UserError
from ..shapes import parse_static_shape


def add_cut_options(p, title: str = "cut and shapes") -> None:
    g = p.add_argument_group(title)
    g.add_argument("--inputs", metavar="A,B", help="nodes to take as inputs (layer, op or tensor names; default: the model's)")
    g.add_argument("--outputs", metavar="X,Y", help="nodes to take as outputs (default: the model's)")
    g.add_argument("--shape", action="append", default=[], metavar="[NAME=]1,H,W,C", help="static input shape (batch defaults to 1)")


def add_preprocess_options(g) -> None:
    from ..calibrate import PRESETS

    g.add_argument("--preprocess", choices=sorted(PRESETS), help="how image pixels are scaled (default: unit = [0,1])")
    g.add_argument("--mean", metavar="M[,M,M]", help="per-channel mean subtracted from pixels (overrides --preprocess)")
    g.add_argument("--scale", metavar="S[,S,S]", help="per-channel factor applied after the mean (overrides --preprocess)")
    g.add_argument("--bgr", action="store_true", help="feed image channels as BGR instead of RGB")


def add_calibration_options(p, title: str, calib_help: str, samples_help: str) -> None:
    from ..convert.base import IO_TYPES

    g = p.add_argument_group(title)
    g.add_argument("--calib", action="append", default=[], metavar="[NAME=]PATH", help=calib_help)
    g.add_argument("--calib-samples", type=int, default=100, metavar="N", help=samples_help)
    add_preprocess_options(g)
    g.add_argument("--io-type", choices=IO_TYPES, default="uint8",
                   help="input/output type of int8 models (default uint8, as the Edge TPU expects)")
    g.add_argument("--keep-float", metavar="NODE[,NODE...]",
                   help="int8 targets: keep these layers of the original model in float (with the layers that make "
                        "their inputs); names as for --outputs")


def add_edgetpu_options(p, title: str, compile_only: bool = True) -> None:
    """The edgetpu_compiler flags; validation takes only those that change what maps (compile_only=False)."""
    g = p.add_argument_group(title)
    g.add_argument("--edgetpu-min-runtime", type=int, metavar="N", help="minimum Edge TPU runtime version (-m)")
    g.add_argument("--edgetpu-intermediate", metavar="T1,T2", help="stop mapping to the TPU after these tensors (-i)")
    g.add_argument("--edgetpu-multiple-subgraphs", action="store_true", help="allow more than one TPU subgraph (experimental, -a)")
    if compile_only:
        g.add_argument("--edgetpu-segments", type=int, metavar="N", help="split into N segments to pipeline across N TPUs (-n)")
        g.add_argument("--edgetpu-search-delegate", action="store_true", help="on failure, search for a delegate boundary (-d)")
        g.add_argument("--edgetpu-timeout", type=int, metavar="S", help="compiler timeout in seconds (-t)")
    else:
        p.set_defaults(edgetpu_segments=None, edgetpu_search_delegate=False, edgetpu_timeout=None)


def parse_shapes(values: list[str]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """--shape NAME=1,224,224,3 (or a shape alone, for the only input), read by the rule the Nodes step uses."""
    shapes = []
    for v in values:
        name, sep, dims = v.rpartition("=")
        shapes.append((name if sep else "", parse_static_shape(dims if sep else v, f"--shape {v!r}")))
    return tuple(shapes)


def floats(text, flag):
    if text is None:
        return None
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise UserError(f"{flag} takes numbers separated by commas, like 127.5,127.5,127.5.") from None


def names(text):
    return tuple(n.strip() for n in text.split(",") if n.strip()) if text else ()


def selection_from(args):
    from ..plan import Selection

    return Selection(inputs=names(args.inputs), outputs=names(args.outputs), shapes=parse_shapes(args.shape))


def preprocess_from(args):
    """A CalibrationSpec holding only how pixels are scaled (for verification data)."""
    from ..calibrate import CalibrationSpec

    return CalibrationSpec(preset=args.preprocess, mean=floats(args.mean, "--mean"), scale=floats(args.scale, "--scale"),
                           color="BGR" if args.bgr else "RGB")


def convert_options_from(args):
    from dataclasses import replace

    from ..calibrate import parse_calib_args
    from ..convert.base import ConvertOptions
    from ..convert.edgetpu_compiler import EdgeTpuOptions

    if args.calib_samples < 1:
        raise UserError("--calib-samples must be at least 1.")
    calib = replace(preprocess_from(args), sources=parse_calib_args(args.calib), samples=args.calib_samples)
    edgetpu = EdgeTpuOptions(
        min_runtime_version=args.edgetpu_min_runtime,
        num_segments=args.edgetpu_segments,
        intermediate_tensors=names(args.edgetpu_intermediate),
        allow_multiple_subgraphs=args.edgetpu_multiple_subgraphs,
        search_delegate=args.edgetpu_search_delegate,
        timeout_s=args.edgetpu_timeout,
    )
    options = ConvertOptions(io_type=args.io_type, calibration=calib, edgetpu=edgetpu,
                             keep_float=tuple(names(getattr(args, "keep_float", None)) or ()))
    if not args.model and not args.calib:  # the bundled sample brings its own calibration set
        from ..samples import sample_calibration_path

        options = replace(options, calibration=replace(calib, sources=((None, str(sample_calibration_path())),)))
    return options
