"""TensorFlow Lite on the CPU: which ops fall outside the builtin set and need Select TF ops (Flex)
or a custom kernel, judged on the float model the converter makes (source of truth: the converter)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..devices import device
from ..doctor import explain
from ..errors import UserError
from .base import ValidationContext, converter_reason, kind_words, missing_module, register
from .report import CHECKED, CONVERTER, DEVICE, UNSUPPORTED, NodeVerdict, Suggestion, ValidationReport, not_checked
from .tables import load_table


def float_model(ctx: ValidationContext) -> bytes:
    """The cut as a float TFLite model, builtin ops first and TensorFlow ops where TFLite has none."""
    import tensorflow as tf

    from ..convert.tflite import converter_for

    job = ctx.target_job()
    key = ("validate-float-flex",)
    if key in job.shared:
        return job.shared[key]
    conv = converter_for(job)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    conv.allow_custom_ops = True  # an op with neither a builtin nor a TF kernel shows up by name
    try:
        data = conv.convert()
    except Exception as exc:  # the converter's errors are long logs
        raise explain(exc, "tensorflow",
                      UserError(f"TensorFlow Lite cannot convert this model: {converter_reason(exc)}", str(exc))) from exc
    job.shared[key] = data
    return data


def _builtin_names() -> frozenset[str]:
    from ..loaders.tflite_loader import schema

    ops = schema().BuiltinOperator
    return frozenset(k for k, v in vars(ops).items() if not k.startswith("_") and isinstance(v, int) and k != "CUSTOM")


def judge_op(op: str, builtins: frozenset[str], table: dict) -> tuple[str, str, str, bool]:
    """(where, reason, rule, confirmed) of one TFLite op on the standard CPU runtime."""
    general = table["general"]
    if op in builtins:
        return DEVICE, "A TFLite builtin op: the standard runtime runs it.", "builtin", True
    row = next((r for r in table.get("custom_op", []) if r["name"] == op), None)
    if row is not None:
        return (DEVICE if row["runs"] else UNSUPPORTED), row["reason"], f"custom:{op}", row["status"] == "confirmed"
    if op.startswith(general["flex_prefix"]):
        tf_op = op[len(general["flex_prefix"]):]
        return UNSUPPORTED, f"{tf_op} has no TFLite builtin: it {general['flex_reason']}", "flex", True
    return UNSUPPORTED, f"{op} {general['custom_reason']}", "custom", True


DEVICE_ENTRY = device("tflite:CPU")


@dataclass(frozen=True)
class TFLiteCPUValidator:
    name: str = DEVICE_ENTRY.validator
    title: str = DEVICE_ENTRY.title

    def availability(self) -> Optional[str]:
        return missing_module("tensorflow")

    def validate(self, ctx: ValidationContext) -> ValidationReport:
        started = time.monotonic()
        if ctx.cut.kind == "tflite":
            data, judged = Path(ctx.cut.path).read_bytes(), "the .tflite file as given"
        elif ctx.cut.kind == "graphdef":
            ctx.progress(0.1, "Converting to TensorFlow Lite (float)")
            data, judged = float_model(ctx), "the float TFLite model (builtin ops, Select TF ops where needed)"
        else:
            return not_checked(self.name, self.title, f"TensorFlow Lite runs .tflite models, and EdgeWizard cannot "
                               f"make one from {kind_words(ctx.cut.kind)}; open the original TensorFlow or Keras model.")
        from ..loaders.tflite_loader import parse

        ctx.progress(0.8, "Checking for ops outside the builtin set")
        graph, *_ = parse(data, "the TFLite model")
        table, builtins = load_table("tflite_cpu"), _builtin_names()
        verdicts = []
        for i, n in enumerate(graph.nodes):
            where, reason, rule, confirmed = judge_op(n.op, builtins, table)
            verdicts.append(NodeVerdict(i, n.name, n.op, where, reason, ctx.source_nodes(n.name), rule, confirmed))
        flex = [v for v in verdicts if v.rule == "flex"]
        suggestions = []
        if flex:
            suggestions.append(Suggestion("replace_op", table["general"]["flex_suggestion"],
                                          tuple(v.name for v in flex)))
        notes = []
        if flex:
            notes.append(f"{len(flex)} op(s) need Select TF ops (Flex): "
                         f"{', '.join(dict.fromkeys(v.op for v in flex))}.")
        ctx.progress(1.0, "TFLite CPU checked")
        return ValidationReport(
            device=self.name, title=self.title, short=DEVICE_ENTRY.short, status=CHECKED,
            source_of_truth=CONVERTER, judged=judged, nodes=tuple(verdicts),
            partition_index=next((v.index for v in verdicts if v.where == UNSUPPORTED), None),
            suggestions=tuple(suggestions), notes=tuple(notes), table_sources=dict(table["sources"]),
            seconds=round(time.monotonic() - started, 3))


register(TFLiteCPUValidator(), aliases=DEVICE_ENTRY.aliases)
