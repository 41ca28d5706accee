"""`edgewizard validate`: will this model run on my device, and which part of it? Per-node verdicts
before converting. Unsupported ops are a result: the command exits 0 with the report."""
from __future__ import annotations

import json
import re
import sys

from . import add_common, model_and_options, plan_from
from ..devices import validator_ids
from .options import add_calibration_options, add_cut_options, add_edgetpu_options

_CUT_SCOPE = re.compile(r"^edgewizard_cut(_\d+)?/")
# The option that carries out each kind of advice: the advice is shared with the wizard and names none.
_OPTIONS = {
    "fix_batch": "--shape 1,H,W,C (--shape NAME=1,H,W,C for each of several inputs)",
    "quantize_fully": "--io-type uint8",
    "runtime": "--edgetpu-min-runtime N compiles for runtime N; without it, for the compiler's default",
    "memory": "--outputs to cut earlier, or --edgetpu-segments N when converting",
}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "validate",
        help="check which ops of a model each device can run, before converting",
        description="Judge every op of a model (or of the part between --inputs and --outputs) for each "
        f"device: {', '.join(validator_ids())} (default: all). "
        "Shows where each op runs and why, the Edge TPU partition point and parameter memory, and known "
        "fixes. Exits 0 with the report even when ops are unsupported. --json prints {model, reports: "
        "[{device, title, status, summary, source_of_truth, nodes: [{index, name, op, where, reason, "
        "source_nodes, rule, confirmed}], totals, partition_point, memory, suggestions, notes, "
        "disagreements, source_verdicts, reason, reason_id, details}]} (details: the tool's own text behind a "
        "device that failed, also shown with --debug).",
    )
    add_common(p)
    p.add_argument("--device", "-d", action="append", default=[], metavar="D",
                   help="device to check (repeat for several; default: every device)")
    p.add_argument("--list-devices", action="store_true", help="list the devices and whether each can be checked here")
    p.add_argument("--no-compiler", action="store_true",
                   help="do not run edgetpu_compiler even when it is installed (table prediction only)")
    add_cut_options(p)
    add_calibration_options(p, "the conversion being judged (as for convert)",
                            "calibration data for the int8 model (default: synthetic, noted in the report)",
                            "samples to read (validation uses at most 8)")
    add_edgetpu_options(p, "Edge TPU compiler options that change what maps", compile_only=False)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..jobs import JobRunner
    from ..validate.base import device_choices, get_validator, validators
    from .terminal import progress_printer

    if args.list_devices:
        return _list_devices(device_choices(), args.json)
    model, load_options = model_and_options(args)
    devices = tuple(get_validator(d).name for d in args.device) or tuple(validators())  # unknown names fail here
    plan = plan_from(args, model, load_options, devices=devices)
    with JobRunner() as runner, progress_printer(enabled=not args.json) as show:
        reports = runner.run("edgewizard.core.steps:validate_plan", plan, run_compiler=not args.no_compiler,
                             on_event=show)
    if args.json:
        print(json.dumps({"model": model, "reports": [r.to_dict() for r in reports]}, indent=2, ensure_ascii=False))
    else:
        print(f"Validated {model}")
        for r in reports:
            print()
            print(report_text(r, debug=getattr(args, "debug", False)))
    statuses = {r.status for r in reports}
    if "unavailable" in statuses:
        return 3
    return 2 if "failed" in statuses else 0


def _list_devices(choices, as_json: bool) -> int:
    if as_json:
        print(json.dumps([c.__dict__ for c in choices], indent=2))
        return 0
    width = max(len(c.name) for c in choices)
    for c in choices:
        state = "can be checked" if c.available else f"unavailable: {c.reason}"
        print(f"  {c.name:<{width}}  {c.title} ({state})")
    return 0


def report_text(r, debug: bool = False) -> str:
    """A report for a terminal: summary line, facts, per-node table, suggestions, notes; with debug, the
    tool's own text behind a device that failed."""
    from ..files import human_bytes

    lines = [f"{r.title}: {r.summary()}" if r.status == "checked" else r.summary()]
    if r.status != "checked":
        lines += [f"  note: {n}" for n in r.notes]
        if debug and r.details:
            lines += ["  details:"] + [f"    {ln}" for ln in r.details.splitlines()]
        return "\n".join(lines)
    lines.append(f"  judged: {r.judged}; by {r.source_of_truth}")
    point = r.partition_point
    if point is not None:
        origin = f" (from '{point.source_node}')" if point.source_node else ""
        lines.append(f"  partition point: #{point.index} {point.op} '{_display(point.name)}'{origin}")
    if r.memory is not None:
        m = r.memory
        text = f"  parameters on the device: {human_bytes(m.parameter_bytes)} of ~{human_bytes(m.cache_bytes)} on-chip cache"
        if m.off_chip_bytes:
            text += f"; {human_bytes(m.off_chip_bytes)} streamed off-chip"
        lines.append(text + ("" if m.fits else " (does NOT fit)"))
    words = {"device": r.short or "device", "cpu": "CPU", "unsupported": "cannot run"}
    rows = [(str(n.index), n.op, words[n.where], _display(n.source_node or n.name), _reason(n)) for n in r.nodes]
    head = ("#", "op", "runs on", "node", "why")
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(4)]
    lines.append("  " + "  ".join(h.ljust(w) for h, w in zip(head, widths)) + "  " + head[4])
    for row in rows:
        lines.append(("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[4]).rstrip())
    if r.suggestions:
        lines.append("  suggestions:")
        for s in r.suggestions:
            lines.append(f"    - {s.text}")
            option = option_hint(s)
            if option:
                lines.append(f"      command line: {option}")
    for title, items in (("disagreements (compiler vs table)", list(r.disagreements)), ("notes", list(r.notes))):
        if items:
            lines.append(f"  {title}:")
            lines += [f"    - {t}" for t in items]
    return "\n".join(lines)


def option_hint(s) -> str:
    """The command-line option that carries out a suggestion, "" when none does."""
    if s.kind == "cut_tail":
        return f"--outputs {s.outputs[0]}" if s.outputs else "--outputs"
    return _OPTIONS.get(s.kind, "")


def _display(name: str, width: int = 40) -> str:
    """A judged node's name made short: its first fused part, without the cut's own scope."""
    name = _CUT_SCOPE.sub("", name.split(";")[0])
    return name if len(name) <= width else "…" + name[-(width - 1):]


def _reason(n) -> str:
    if n.where == "device":
        return "" if n.confirmed else "(table row unconfirmed)"
    if n.rule == "partition":
        return "after the partition point"
    return n.reason


if __name__ == "__main__":  # pragma: no cover - `python -m edgewizard.core.cli.validate_cmd` for a quick look
    from . import main

    sys.exit(main(["validate", *sys.argv[1:]]))
