"""`edgewizard convert ... --max-drop POINTS --data LABELLED`: the accuracy-budget search (core/quant/budget.py)
in the worker, its candidates printed as a table, then the chosen one converted into the output folder with the
layers it keeps in float recorded in manifest.json; the table is kept beside it as budget.json."""
from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import tempfile
from pathlib import Path

from ..errors import UserError


def add_budget_options(p) -> None:
    g = p.add_argument_group("accuracy budget (int8 targets)")
    g.add_argument("--max-drop", type=float, metavar="POINTS",
                   help="keep the layers that lose most in float, one more at a time, until top-1 accuracy on --data "
                        "is within POINTS percentage points of the float model")
    g.add_argument("--data", metavar="LABELLED", help="labelled data for --max-drop: a .npz with x and y, or an image "
                   "folder with a sub-folder per class")
    g.add_argument("--max-candidates", type=int, default=6, metavar="N", help="try at most N candidates (default 6)")


def run_budget(runner, plan, args) -> int:
    from ..codec import dumps, to_data
    from ..files import human_bytes
    from ..verify import VerifyData
    from .convert_cmd import _convert, _print_one
    from .options import preprocess_from
    from .terminal import progress_printer

    if not args.data:
        raise UserError("An accuracy budget needs labelled data to measure accuracy on.", cli_hint="--data LABELLED")
    if len(plan.targets) != 1:
        raise UserError("An accuracy budget is searched for one target at a time.",
                        cli_hint="one -t: tflite-int8, edgetpu or openvino-int8")
    if plan.options.keep_float:
        raise UserError("The accuracy budget search chooses the layers to keep in float itself; give either the "
                        "layers or the budget.", cli_hint="--keep-float or --max-drop, not both")
    data = VerifyData.from_path(args.data, preprocess_from(args))
    work = tempfile.mkdtemp(prefix="edgewizard-budget-")
    try:
        with progress_printer(enabled=not args.json) as show:
            job = runner.submit("edgewizard.core.quant.budget:search", plan.source.path, plan.source.load_options,
                                plan.selection, plan.targets[0], plan.options, data, args.max_drop, work,
                                max_candidates=args.max_candidates)
            try:
                result = job.result(on_event=show)
            except BaseException:
                job.cancel(wait=True)
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    chosen = result.candidates[result.chosen]
    why = (f"accuracy budget search: the {'first candidate within' if result.fits else 'closest candidate to'} "
           f"{result.max_drop:g} point(s) of the float model's accuracy on {result.data}")
    plan = dataclasses.replace(plan, options=dataclasses.replace(plan.options, keep_float=chosen.keep_float,
                                                                 keep_float_why=why))
    if not args.json:
        print(table(result, human_bytes))
        print(result.message)
        print(f"Converting the chosen candidate into {plan.output_dir}:")
    manifest = _convert(runner, plan, args)
    (Path(plan.output_dir) / "budget.json").write_text(dumps(result), encoding="utf-8")
    if args.json:
        print(json.dumps({"budget": to_data(result), "manifest": to_data(manifest)}, indent=2, ensure_ascii=False))
        return 0
    args_json, args.json = args.json, False
    try:
        code = _print_one(manifest, list(plan.targets), args)
    finally:
        args.json = args_json
    print(f"The candidates tried are in {Path(plan.output_dir) / 'budget.json'}.", file=sys.stderr)
    return code


def table(result, human_bytes) -> str:
    where = "ops on Edge TPU" if result.target == "edgetpu" else "int8 ops"
    rows = [("", "candidate", "accuracy", "drop (points)", "size", where, "latency here (ms)")]
    for i, c in enumerate(result.candidates):
        ops = f"{c.accelerator_ops} of {c.total_ops}" if c.accelerator_ops is not None else "-"
        mark = ("*" if i == result.chosen else " ") + ("ok" if c.fits else "  ")
        rows.append((mark, c.label, f"{100 * c.accuracy:.2f}%", f"{c.drop:+.2f}", human_bytes(c.size_bytes), ops,
                     f"{c.latency_ms:.3f}" if c.latency_ms is not None else "-"))
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    lines = [f"Float model: {100 * result.float_accuracy:.2f}% on {result.data}; "
             f"budget {result.max_drop:g} point(s). * chosen, ok within the budget."]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)
