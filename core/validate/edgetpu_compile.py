"""When edgetpu_compiler is installed: compile the int8 model and let its log replace the table's
prediction, showing every place where the two disagree.

The compiler's op table counts ops per type and status, not per node; the mapped instances of a
type are given to its earliest nodes (the compiler maps a prefix of the model), the rest in the
order of the log's rows."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

from ..errors import Cancelled, EdgeWizardError
from .report import COMPILER_LOG, CPU, DEVICE, UNSUPPORTED, MemoryEstimate, NodeVerdict
from .tables import load_table

# Compiler statuses that mean "could run, but not here" rather than "cannot run".
_CPU_STATUSES = ("more than one subgraph", "otherwise supported")
NO_COMPILER = ("This is the table's prediction: edgetpu_compiler is not installed, so no compile was run. For its "
               "real log, install it (x86-64 Debian or Ubuntu: Google's Coral apt repository, package "
               "edgetpu-compiler; Windows, macOS or ARM: WSL, Docker or an x86-64 Linux machine).")
_WORDS = {DEVICE: "on the Edge TPU", CPU: "on the CPU (after the partition point)", UNSUPPORTED: "not mappable"}


@dataclass
class CompileOutcome:
    verdicts: Optional[list[NodeVerdict]] = None  # None: no compile, keep the table's prediction
    source: str = COMPILER_LOG
    memory: Optional[MemoryEstimate] = None
    disagreements: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def compile_and_reconcile(ctx, data: bytes, predicted: list[NodeVerdict]) -> CompileOutcome:
    from ..convert.edgetpu_compiler import compile_model, find_compiler

    compiler = find_compiler()
    if compiler is None:
        return CompileOutcome(notes=[NO_COMPILER])
    model = ctx.workdir / "validate_int8.tflite"
    model.write_bytes(data)
    options = replace(ctx.options.edgetpu, show_operations=True)
    try:
        result = compile_model(model, ctx.workdir / "edgetpu", options, compiler=compiler,
                               progress=ctx.progress)
    except Cancelled:
        raise
    except EdgeWizardError as exc:
        return CompileOutcome(notes=[f"edgetpu_compiler ran but failed, so this is the table's prediction: "
                                     f"{exc.message}"])
    log = result.log
    if not log.ops:
        return CompileOutcome(notes=["edgetpu_compiler compiled the model but printed no op table, so this is "
                                     "the table's prediction."])
    verdicts, disagreements = reconcile(predicted, log)
    notes = [f"Judged by edgetpu_compiler {log.compiler_version or '(version unknown)'} ({compiler})."]
    runtime = load_table("edgetpu")["compiler_runtime"].get(_major_minor(log.compiler_version))
    if runtime and not ctx.options.edgetpu.min_runtime_version:
        notes.append(f"Models from this compiler need Edge TPU runtime {runtime} or later on the device.")
    notes += list(log.warnings[:3])
    return CompileOutcome(verdicts=verdicts, memory=_memory(log), disagreements=disagreements, notes=notes)


def _major_minor(version: Optional[str]) -> str:
    return ".".join((version or "").split(".")[:2])


def _where(op_result) -> str:
    if op_result.mapped:
        return DEVICE
    status = op_result.status.lower()
    return CPU if any(s in status for s in _CPU_STATUSES) else UNSUPPORTED


def reconcile(predicted: list[NodeVerdict], log) -> tuple[list[NodeVerdict], list[str]]:
    """Per-node verdicts from the compiler's per-type counts, and the disagreements with the table."""
    by_op: dict[str, list[NodeVerdict]] = {}
    for v in predicted:
        by_op.setdefault(v.op, []).append(v)
    rows: dict[str, list] = {}
    for r in log.ops:
        rows.setdefault(r.op, []).append(r)
    disagreements = []
    for op in rows:
        if op not in by_op:
            counted = sum(r.count for r in rows[op])
            disagreements.append(f"The compiler reports {counted} {op} op(s) that the judged model does not have.")
    out: dict[int, NodeVerdict] = {}
    for op, nodes in by_op.items():
        results = rows.get(op, [])
        sequence = [r for r in results if r.mapped for _ in range(r.count)]
        sequence += [r for r in results if not r.mapped for _ in range(r.count)]
        if len(sequence) != len(nodes):
            disagreements.append(f"The compiler counted {len(sequence)} {op} op(s); the model has {len(nodes)}.")
        for i, v in enumerate(nodes):
            if i >= len(sequence):
                out[v.index] = v
                continue
            r = sequence[i]
            where = _where(r)
            reason = f"{r.reason} (compiler: \"{r.status}\")"
            if where != v.where:
                disagreements.append(f"{op} '{v.name}': the table predicted {_WORDS[v.where]}, the compiler says "
                                     f"\"{r.status}\".")
                reason += f" The table expected: {v.reason}"
            out[v.index] = replace(v, where=where, reason=reason, rule="compiler", confirmed=True)
    return [out[v.index] for v in predicted], disagreements


def _memory(log) -> Optional[MemoryEstimate]:
    if log.on_chip_memory_bytes is None:
        return None
    off = log.off_chip_memory_bytes or 0
    cache = int(load_table("edgetpu")["general"]["on_chip_cache_bytes"])
    if log.on_chip_memory_remaining_bytes is not None:
        cache = log.on_chip_memory_bytes + log.on_chip_memory_remaining_bytes
    elif log.on_chip_memory_available_bytes is not None:
        cache = log.on_chip_memory_available_bytes
    return MemoryEstimate(parameter_bytes=log.on_chip_memory_bytes + off, cache_bytes=cache,
                          source=COMPILER_LOG, off_chip_bytes=off)
