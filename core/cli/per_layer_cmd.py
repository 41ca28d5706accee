"""`edgewizard verify MODEL ARTIFACT --per-layer`: each int8 model's layers, worst first, as a table or JSON."""
from __future__ import annotations

import json
import sys

TOP_ROWS = 20


def run(args, original, selection, artifacts, data) -> int:
    from ..codec import to_data
    from ..jobs import JobRunner
    from ..plan import LoadOptions
    from ..quant.layers import check_artifact
    from .terminal import progress_printer

    from ..errors import UserError

    usable, refused = [], []
    for a in artifacts:  # refuse a float or Edge TPU file before any model is loaded
        try:
            check_artifact(a)
            usable.append(a)
        except UserError as exc:
            refused.append(exc)
    if not usable:
        raise refused[0]
    for exc in refused:  # an output folder holds float models too: analyse its int8 ones
        print(f"Note: {exc.message}", file=sys.stderr)
    artifacts = usable
    for note in original.notes:
        print(f"Note: {note}", file=sys.stderr)
    options = LoadOptions(custom_objects=args.custom_objects, allow_unsafe=args.allow_unsafe, signature=args.signature)
    samples = min(args.samples, args.layer_samples)
    reports = []
    with JobRunner() as runner:
        for a in artifacts:
            with progress_printer(enabled=not args.json) as show:
                reports.append(runner.run("edgewizard.core.quant.layers:per_layer", original.path, options, selection,
                                          a, data, samples, on_event=show))
    if args.json:
        payload = to_data(reports[0]) if len(reports) == 1 else [to_data(r) for r in reports]
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        print("\n\n".join(table(r) for r in reports))
    return 0


def table(report, top: int = TOP_ROWS) -> str:
    from ..quant.results import METRIC

    lines = [f"{report.file}  ({report.runtime}, {report.samples} samples of {report.data})",
             f"Layers worst first by the {METRIC} each adds ({report.seconds:.1f} s):", ""]
    rows = list(report.rows)
    shown = rows[:top]
    width = min(40, max([len("layer")] + [len(r.label) for r in shown]))
    op_width = max([len("op")] + [len(r.op) for r in shown])
    lines.append(f"{'layer':<{width}}  {'op':<{op_width}}  {'rel. error':>10}  {'added':>8}  {'rmse/scale':>10}")
    for r in shown:
        label = r.label if len(r.label) <= width else r.label[: width - 3] + "..."
        scale = f"{r.rmse_scale:.3g}" if r.rmse_scale is not None else "-"
        float_mark = "  (float)" if report.runtime == "litert" and not r.quantized else ""
        lines.append(f"{label:<{width}}  {r.op:<{op_width}}  {r.error:>10.4f}  {r.added:>8.4f}  {scale:>10}{float_mark}")
    if len(rows) > top:
        lines.append(f"... {len(rows) - top} more")
    for n in report.notes:
        lines.append(f"note: {n}")
    return "\n".join(lines)
