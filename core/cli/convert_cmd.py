"""`edgewizard convert`: one load and one cut, then every requested target, into an output folder."""
from __future__ import annotations

import json
import sys

from ..errors import MissingDependency
from . import add_common, model_and_options
from .options import (add_calibration_options, add_cut_options, add_edgetpu_options, convert_options_from,
                      selection_from)


def add_parser(sub) -> None:
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
    add_cut_options(p)
    add_calibration_options(p, "calibration (full-integer targets)", "image folder, .npy/.npz file, or 'synthetic'",
                            "how many samples to use (default 100)")
    add_edgetpu_options(p, "Edge TPU compiler (used when edgetpu_compiler is installed)")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..calibrate import SYNTHETIC_WARNING
    from ..convert.base import get_target
    from ..convert.edgetpu import NOT_COMPILED
    from ..convert.run import remove_partials
    from ..jobs import JobRunner
    from ..files import human_bytes
    from .terminal import progress_printer

    model, load_options = model_and_options(args)
    selection, options = selection_from(args), convert_options_from(args)
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
