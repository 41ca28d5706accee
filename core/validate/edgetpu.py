"""Edge TPU validation: the full-int8 TFLite model judged op by op against edgetpu.toml, the
partition point predicted, parameter memory estimated; edgetpu_compiler's real log when installed.

The compiler maps ops in order and stops at the first one it cannot map: that op and everything
after it run on the CPU, unless more than one Edge TPU subgraph is allowed (-a)."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

from ..devices import device
from ..doctor import explain
from ..convert.tflite_calibrated import Int8Spec, calibrated_convert
from ..errors import UserError
from .base import VALIDATION_SAMPLES, ValidationContext, converter_reason, kind_words, missing_module, register
from .edgetpu_rules import judge
from .report import (CHECKED, CPU, DEVICE, TABLE, UNSUPPORTED, MemoryEstimate, NodeVerdict, Suggestion,
                     ValidationReport, not_checked)
from .tables import load_table

DEVICE_ENTRY = device("edgetpu")
NAME, TITLE = DEVICE_ENTRY.validator, DEVICE_ENTRY.title
HEAVY_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "CONV_3D",
                       "BATCH_MATMUL", "UNIDIRECTIONAL_SEQUENCE_LSTM"})
_ITEMSIZE = {"int8": 1, "uint8": 1, "int16": 2, "float16": 2, "int32": 4, "float32": 4, "int64": 8, "float64": 8}
# Advice shared by the command line and the wizard: plain words, no command-line option (the command line
# adds the option for each kind itself, core/cli/validate_cmd.py).
_FIXES = {
    "fix_batch": "Fix the batch and every other dimension of the input to a number before converting (a "
                 "fixed shape such as 1×H×W×C): EdgeWizard does this when it converts the original "
                 "TensorFlow/Keras model (the batch becomes 1); a .tflite exported with a dynamic batch must be "
                 "exported again.",
    "quantize_fully": "Convert with full-integer quantization and uint8 inputs and outputs (as the Edge TPU "
                      "conversion does), so that no float op is left in the model.",
    "runtime": "Compile for a newer Edge TPU runtime version (the compiler's default is its newest) and update "
               "the runtime (libedgetpu) on the device, or replace the op.",
    "activation_fused": "TFLite fuses an activation that directly follows a pooling or a concatenation into "
                        "it: apply the activation before the pooling (for max pooling the result is the same) "
                        "or on each input of the concatenation.",
}


@dataclass(frozen=True)
class EdgeTPUValidator:
    name: str = NAME
    title: str = TITLE

    def availability(self) -> Optional[str]:
        return missing_module("tensorflow", "numpy")

    def validate(self, ctx: ValidationContext) -> ValidationReport:
        started = time.monotonic()
        if ctx.cut.kind not in ("graphdef", "tflite"):
            return not_checked(NAME, TITLE, f"The Edge TPU runs TensorFlow Lite models, and EdgeWizard cannot "
                               f"make one from {kind_words(ctx.cut.kind)}; open the original TensorFlow or Keras model.")
        ctx.progress(0.05, "Making the full-integer TensorFlow Lite model")
        data, judged, notes = int8_model(ctx)
        from ..loaders.tflite_loader import parse
        from .tflite_consts import ConstantReader

        ctx.progress(0.6, "Checking each op against the Edge TPU table")
        graph, *_ = parse(data, "the int8 model")
        table = load_table("edgetpu")
        opts = ctx.options.edgetpu
        runtime = opts.min_runtime_version or int(table["general"]["default_runtime"])
        judgements = judge(graph, ConstantReader(data), runtime)
        verdicts = [NodeVerdict(index=i, name=n.name, op=n.op, where=j.where, reason=j.reason,
                                source_nodes=ctx.source_nodes(n.name), rule=j.rule, confirmed=j.confirmed)
                    for i, (n, j) in enumerate(zip(graph.nodes, judgements))]
        verdicts = _stop_after_tensors(verdicts, graph, opts.intermediate_tensors)
        point = first_unsupported(verdicts)
        verdicts = apply_partition(verdicts, point, opts.allow_multiple_subgraphs)
        memory = estimate_memory(graph, verdicts, table["general"])
        notes += _model_notes(graph, runtime, opts)
        source, disagreements = TABLE, ()
        if ctx.run_compiler:
            from .edgetpu_compile import compile_and_reconcile

            ctx.progress(0.75, "Running edgetpu_compiler")
            outcome = compile_and_reconcile(ctx, data, verdicts)
            notes += outcome.notes
            if outcome.verdicts is not None:
                verdicts, source, disagreements = outcome.verdicts, outcome.source, outcome.disagreements
                point = first_unsupported(verdicts)
                memory = outcome.memory or memory
        else:
            notes.append("This is the table's prediction: running edgetpu_compiler was turned off.")
        suggestions = suggest(verdicts, judgements, point, memory, graph)
        if ctx.options.keep_float:  # float ops there by the person's choice: "quantize fully" would undo it
            suggestions = [x for x in suggestions if x.kind != "quantize_fully"]
        ctx.progress(1.0, "Edge TPU checked")
        return ValidationReport(
            device=NAME, title=TITLE, short=DEVICE_ENTRY.short, status=CHECKED, source_of_truth=source, judged=judged,
            nodes=tuple(verdicts), partition_index=point, memory=memory, suggestions=tuple(suggestions),
            notes=tuple(dict.fromkeys(notes)), disagreements=tuple(disagreements),
            table_sources=dict(table["sources"]), seconds=round(time.monotonic() - started, 3))


def int8_model(ctx: ValidationContext) -> tuple[bytes, str, list[str]]:
    """(tflite bytes, what they are, notes). A .tflite source is judged as it is."""
    notes: list[str] = []
    if ctx.cut.kind == "tflite":
        return Path(ctx.cut.path).read_bytes(), "the .tflite file as given (compiled as it is)", notes
    from ..convert.tflite import convert_int8

    job = ctx.target_job()
    io = ctx.options.io_type
    if not ctx.calibration_given:
        notes.append("Judged on an int8 model calibrated with synthetic data (no calibration data was given): "
                     "the op list is what conversion will make, but say nothing of its accuracy.")
    elif ctx.options.calibration.samples > VALIDATION_SAMPLES:
        notes.append(f"Calibrated on {VALIDATION_SAMPLES} of the samples given: the op list does not depend on "
                     "how many, and fewer are faster.")
    try:
        data = convert_int8(job)
        kept = job.shared.get(("keep_float", "tflite"))
        if kept is not None and ctx.options.keep_float:
            notes.append(f"{kept.sentence()} Float ops run on the CPU, and the Edge TPU stops at the first of them.")
            return data, f"the int8 TFLite model conversion for the Edge TPU makes, with layers kept in float " \
                         f"(input/output {io} where the first and last layers are int8)", notes
        return data, f"the full-integer TFLite model conversion for the Edge TPU makes (input/output {io})", notes
    except UserError as exc:
        data = _mixed_int8(job)
        notes.append(f"A full-integer model could not be made ({exc.message}); judged the model with int8 "
                     "ops where TFLite has them and float ops elsewhere.")
        return data, f"a TFLite model with int8 ops where possible (input/output {io})", notes


def _mixed_int8(job) -> bytes:
    key = ("validate-int8-mixed", job.options.io_type)
    if key in job.shared:
        return job.shared[key]
    spec = Int8Spec(ops=("TFLITE_BUILTINS_INT8", "TFLITE_BUILTINS", "SELECT_TF_OPS"), io_type=job.options.io_type,
                    allow_custom_ops=True)
    try:
        data = calibrated_convert(job, spec)
    except UserError:  # the converter crashed on the model: said as it is
        raise
    except Exception as exc:  # the converter's errors are long logs
        lead = "TensorFlow Lite cannot convert this model at all, so it cannot run on the Edge TPU"
        raise explain(exc, "tensorflow", UserError(f"{lead}: {converter_reason(exc)}", str(exc)), lead=lead) from exc
    job.shared[key] = data
    return data


def first_unsupported(verdicts) -> Optional[int]:
    return next((v.index for v in verdicts if v.where == UNSUPPORTED), None)


def apply_partition(verdicts: list[NodeVerdict], point: Optional[int], multiple: bool) -> list[NodeVerdict]:
    """Everything after the partition point that could map runs on the CPU (one subgraph only)."""
    if point is None or multiple:
        return verdicts
    first = next(v for v in verdicts if v.index == point)
    out = []
    for v in verdicts:
        if v.index > point and v.where == DEVICE:
            v = replace(v, where=CPU, rule="partition", reason=(
                f"The Edge TPU could run this {v.op}, but it comes after the partition point ({first.op} "
                f"'{first.name}'): the compiler maps only the part before the first op it cannot map, so "
                "this runs on the CPU."))
        out.append(v)
    return out


def _stop_after_tensors(verdicts, graph, tensors) -> list[NodeVerdict]:
    """-i: the compiler stops mapping after the named tensors."""
    if not tensors:
        return verdicts
    producers = [i for i, n in enumerate(graph.nodes) if any(t.name in tensors for t in n.outputs)]
    if not producers:
        return verdicts
    last = max(producers)
    return [replace(v, where=CPU, rule="intermediate", reason="Runs on the CPU because mapping stops after the "
                    "intermediate tensors you named.")
            if v.index > last and v.where == DEVICE else v for v in verdicts]


def estimate_memory(graph, verdicts, general: dict) -> MemoryEstimate:
    """Bytes of constant data (weights, biases) of the ops that run on the Edge TPU."""
    on_device = {v.index for v in verdicts if v.where == DEVICE}
    total, seen = 0, set()
    for i, n in enumerate(graph.nodes):
        if i not in on_device:
            continue
        consts = set(n.attrs.get("constant_inputs", ()))
        for t in n.attrs.get("input_tensors", ()):
            if t.name in consts and t.name not in seen and t.shape is not None:
                seen.add(t.name)
                count = 1
                for d in t.shape:
                    count *= d or 1
                total += count * _ITEMSIZE.get(t.dtype, 4)
    return MemoryEstimate(parameter_bytes=total, cache_bytes=int(general["on_chip_cache_bytes"]))


def _model_notes(graph, runtime: int, opts) -> list[str]:
    notes = []
    if any(t.shape and t.shape[0] is None for t in graph.inputs):
        notes.append("The model's batch dimension is dynamic; the Edge TPU runtime refuses dynamic-size tensors "
                     "even where the compiler maps the ops.")
    if opts.min_runtime_version:
        notes.append(f"Judged for Edge TPU runtime {runtime}, the runtime version chosen to compile for.")
    if opts.allow_multiple_subgraphs:
        notes.append("More than one Edge TPU subgraph allowed (experimental in the compiler): ops after an "
                     "unsupported op map again where they can.")
    if opts.num_segments and opts.num_segments > 1:
        notes.append(f"Splitting into segments for {opts.num_segments} Edge TPUs divides the mapped part; it does not "
                     "change which ops map.")
    return notes


def suggest(verdicts, judgements, point, memory, graph) -> list[Suggestion]:
    out: list[Suggestion] = []
    by_fix: dict[str, tuple[str, list[str]]] = {}  # kind -> (text of its first op, nodes)
    for v, j in zip(verdicts, judgements):
        if j.where == UNSUPPORTED and j.fix and j.fix != "cut_tail":
            by_fix.setdefault(j.fix, (j.fix_text or _FIXES.get(j.fix, ""), []))[1].append(v.name)
    for kind, (text, nodes) in by_fix.items():
        if text:
            out.append(Suggestion(kind=kind, text=text, nodes=tuple(nodes)))
    if any(t.shape and t.shape[0] is None for t in graph.inputs) and not any(s.kind == "fix_batch" for s in out):
        out.append(Suggestion(kind="fix_batch", text=_FIXES["fix_batch"]))
    tail = _cut_tail(verdicts, point)
    if tail is not None:
        out.append(tail)
    if memory is not None and not memory.fits:
        mib = memory.parameter_bytes / 2 ** 20
        out.append(Suggestion(kind="memory", text=(
            f"The parameters (~{mib:.1f} MiB) exceed the Edge TPU's ~{memory.cache_bytes / 2 ** 20:.0f} MiB on-chip "
            "cache: the rest streams over USB on every inference, which is slow. Use a smaller model (a lower "
            "alpha), cut it earlier, or compile it in segments to pipeline it over several Edge TPUs.")))
    return out


def _cut_tail(verdicts, point) -> Optional[Suggestion]:
    """When only light post-processing follows the partition point, suggest cutting before it."""
    if point is None or point == 0:
        return None
    tail = [v for v in verdicts if v.index >= point]
    before = [v for v in verdicts if v.index < point and v.where == DEVICE]
    if not before or any(v.op in HEAVY_OPS for v in tail):
        return None
    last = before[-1]
    outputs = last.source_nodes[:1]  # TFLite names a fused op after its final op first: the new output
    end = f"at node '{outputs[0]}'" if outputs else f"after {last.op} '{last.name.split(';')[0]}'"
    ops = ", ".join(dict.fromkeys(v.op for v in tail))
    return Suggestion(kind="cut_tail", nodes=tuple(v.name for v in tail), outputs=tuple(outputs), text=(
        f"Only post-processing follows the partition point ({ops}): cut the model so that it ends {end}; "
        f"everything left then runs on the Edge TPU, and you do those {len(tail)} step{'s' if len(tail) != 1 else ''} "
        "on the CPU in your own code."))


register(EdgeTPUValidator(), aliases=DEVICE_ENTRY.aliases)
