"""`edgewizard inspect`: what a model is, read without running it."""
from __future__ import annotations

import json

from ..files import human_bytes
from ..graph import ModelInfo
from . import add_common, model_and_options


def add_parser(sub) -> None:
    p = sub.add_parser("inspect", help="show a model's format, inputs, outputs and ops", description=(
        "Show a model's format, inputs, outputs (names, shapes, dtypes), op counts by type, node count and "
        "parameter count. --json prints: path, format, format_name, inputs/outputs [{name, shape (null = dynamic), "
        "dtype}], op_counts {op: count}, node_count, param_count, size_bytes, signatures, notes."))
    add_common(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..jobs import JobRunner
    from .terminal import progress_printer

    model, options = model_and_options(args)
    with JobRunner() as runner, progress_printer(enabled=not args.json) as show:
        info: ModelInfo = runner.run("edgewizard.core.steps:inspect", model, options, on_event=show)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(summary_text(info))
    return 0


def summary_text(info: ModelInfo) -> str:
    d = info.to_dict()
    lines = [
        f"Model:       {info.path}",
        f"Format:      {d['format_name']}",
        f"Size:        {human_bytes(info.size_bytes)}",
        f"Parameters:  {info.param_count:,}",
        f"Nodes:       {d['node_count']}",
    ]
    if info.signatures:
        lines.append(f"Signature:   {info.signatures[0]}" + (f" (also: {', '.join(info.signatures[1:])})" if len(info.signatures) > 1 else ""))
    for title, tensors in (("Inputs", info.graph.inputs), ("Outputs", info.graph.outputs)):
        lines.append(f"{title}:")
        width = max((len(t.name) for t in tensors), default=0)
        for t in tensors:
            lines.append(f"  {t.name:<{width}}  {t.shape_text():<18} {t.dtype}")
    lines.append("Ops:")
    counts = info.graph.op_counts()
    width = max((len(k) for k in counts), default=0)
    for op, n in counts.items():
        lines.append(f"  {op:<{width}}  {n}")
    for note in info.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines)
