"""`edgewizard inspect`: what a model is, read without running it; with --nodes, the list of its nodes
(to choose the cut points for --inputs/--outputs)."""
from __future__ import annotations

import json
import sys
from fnmatch import fnmatchcase

from ..files import human_bytes
from ..graph import ModelInfo, Node, close_matches
from . import add_common, model_and_options

NAME_WIDTH, OP_WIDTH = 48, 24  # a longer name or op gets a line of its own, so the columns stay aligned


def add_parser(sub) -> None:
    p = sub.add_parser("inspect", help="show a model's format, inputs, outputs and ops, or list its nodes", description=(
        "Show a model's format, inputs, outputs (names, shapes, dtypes), op counts by type, node count and "
        "parameter count. --json prints: path, format, format_name, inputs/outputs [{name, shape (null = dynamic), "
        "dtype}], op_counts {op: count}, node_count, param_count, size_bytes, signatures, notes. "
        "With --nodes (implied by --op or --name), lists the nodes instead, in graph order: a table of name, op, "
        "output shapes and the tensors each reads; the names are what --inputs/--outputs of convert, validate "
        "and verify take. A node is a Keras layer for Keras models, an op for every other format. --json then "
        "prints a list [{name, op, inputs [tensor names], outputs [{name, shape (null = dynamic), dtype}]}]. "
        "When no node matches the filters, that is said in one sentence on stderr (--json prints []) and the "
        "exit code is still 0."))
    add_common(p)
    g = p.add_argument_group("node list")
    g.add_argument("--nodes", action="store_true", help="list the nodes (name, op, output shapes, inputs) instead of the summary")
    g.add_argument("--op", action="append", default=[], metavar="TYPE",
                   help="only nodes of this op type, case-insensitive; repeat it or give a comma list (Conv2D,Relu); "
                        "* and ? match any text (Conv*)")
    g.add_argument("--name", action="append", default=[], metavar="PATTERN",
                   help="only nodes whose name contains PATTERN, case-insensitive; with * or ? it is a pattern for "
                        "the whole name (conv1/*); repeatable")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..jobs import JobRunner
    from .terminal import progress_printer

    model, options = model_and_options(args)
    ops = [o.strip() for given in args.op for o in given.split(",") if o.strip()]
    names = [n.strip() for n in args.name if n.strip()]
    with JobRunner() as runner, progress_printer(enabled=not args.json) as show:
        info: ModelInfo = runner.run("edgewizard.core.steps:inspect", model, options, on_event=show)
    if args.nodes or ops or names:
        nodes = select_nodes(info.graph.nodes, ops, names)
        if args.json:
            print(json.dumps([node_dict(n) for n in nodes], indent=2, ensure_ascii=False))
        elif nodes:
            print(nodes_text(nodes, len(info.graph.nodes)))
        if not nodes:
            print(no_match_sentence(info, ops, names), file=sys.stderr if args.json else sys.stdout)
        return 0
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


# --------------------------------------------------------------------------- the node list


def _matches(text: str, pattern: str, whole: bool) -> bool:
    """Case-insensitive; a pattern with * ? [ is matched against the whole text, else `whole` decides
    between equality (op types) and containment (names)."""
    text, pattern = text.lower(), pattern.lower()
    if any(c in pattern for c in "*?["):
        return fnmatchcase(text, pattern)
    return text == pattern if whole else pattern in text


def select_nodes(nodes, ops: list[str], names: list[str]) -> list[Node]:
    """The nodes whose op matches any of `ops` and whose name matches any of `names` (empty: all)."""
    return [n for n in nodes
            if (not ops or any(_matches(n.op, o, whole=True) for o in ops))
            and (not names or any(_matches(n.name, p, whole=False) for p in names))]


def node_dict(node: Node) -> dict:
    return {"name": node.name, "op": node.op, "inputs": list(node.inputs), "outputs": [t.to_dict() for t in node.outputs]}


def _outputs_text(node: Node) -> str:
    return "; ".join(f"{t.shape_text()} {t.dtype}" for t in node.outputs) or "-"


def nodes_text(nodes: list[Node], total: int) -> str:
    """An aligned table. Inputs come last: their list is the one that runs long (a Concat of many)."""
    name_w = min(max(len(n.name) for n in nodes), NAME_WIDTH)
    op_w = min(max(len(n.op) for n in nodes), OP_WIDTH)
    rows = [(n.name, n.op, _outputs_text(n), ", ".join(n.inputs) or "-") for n in nodes]
    out_w = max(len("OUTPUT SHAPES"), max(len(r[2]) for r in rows))
    lines = [f"{'NAME':<{name_w}}  {'OP':<{op_w}}  {'OUTPUT SHAPES':<{out_w}}  INPUTS"]
    for name, op, shapes, inputs in rows:
        if len(name) > name_w:
            lines.append(name)
            name = ""
        if len(op) > op_w:
            lines.append(f"{name:<{name_w}}  {op}")
            name = op = ""
        lines.append(f"{name:<{name_w}}  {op:<{op_w}}  {shapes:<{out_w}}  {inputs}".rstrip())
    lines.append("")
    lines.append(f"{len(nodes)} of {total} nodes." if len(nodes) != total else f"{total} nodes.")
    return "\n".join(lines)


def no_match_sentence(info: ModelInfo, ops: list[str], names: list[str]) -> str:
    if not ops and not names:
        return "The model has no nodes."
    wanted = [f"op type {' or '.join(ops)}"] if ops else []
    wanted += [" or ".join(f"a name {'like' if any(c in n for c in '*?[') else 'containing'} {n}" for n in names)] if names else []
    types = list(info.graph.op_counts())
    by_lower = {t.lower(): t for t in types}
    unknown = [o for o in ops if not any(_matches(t, o, whole=True) for t in types)]
    hints = [by_lower[h] for o in unknown for h in close_matches(o.lower(), by_lower)]
    if hints:
        hint = f"; did you mean op type {' or '.join(dict.fromkeys(hints))}?"
    elif unknown and len(types) <= 15:
        hint = f"; its op types are {', '.join(sorted(types, key=str.lower))}."
    else:
        hint = "; run inspect --nodes without filters to see them all."
    return f"No node matches {' and '.join(wanted)} (the model has {len(info.graph.nodes)} nodes){hint}"
