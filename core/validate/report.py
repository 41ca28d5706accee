"""What validation answers for one device: where each node runs and why, as plain data.

Everything here pickles (it crosses the worker-process boundary) and turns into JSON through core/codec.py:
to_dict() for `edgewizard validate --json` (with computed keys: totals, summary, ...), from_dict() back."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

DEVICE, CPU, UNSUPPORTED = "device", "cpu", "unsupported"
WHERE = (DEVICE, CPU, UNSUPPORTED)

# Report status: what kind of answer this is.
CHECKED = "checked"          # every node judged
NOT_CHECKED = "not_checked"  # the device is absent and no table documents it: a clear non-answer
UNAVAILABLE = "unavailable"  # the validator itself cannot run here (a library is missing)
FAILED = "failed"            # the model could not be prepared for this device (conversion failed)

# How the answer was reached.
TABLE, COMPILER_LOG, QUERY_MODEL, CONVERTER, NOTHING = "table", "compiler log", "query_model", "converter", "none"

_RANK = {DEVICE: 0, CPU: 1, UNSUPPORTED: 2}


@dataclass(frozen=True)
class NodeVerdict:
    """One node of the judged model (a TFLite operator or an OpenVINO IR operation)."""

    index: int  # position in the judged model's execution order
    name: str  # its name in the judged model
    op: str  # its type there: "CONV_2D", "Convolution"
    where: str  # "device": runs on the device; "cpu": the device could, but it runs on the host CPU
    #             here (after the partition point, at the model's edge); "unsupported": the device
    #             cannot run it (on the Edge TPU it falls back to the CPU; MYRIAD refuses the model)
    reason: str  # why, in plain words
    source_nodes: tuple[str, ...] = ()  # the original model's nodes it comes from, where known
    rule: str = ""  # what decided: "op:HARD_SWISH", "general:int8", "check:softmax_1d", "compiler", ...
    confirmed: bool = True  # False when the deciding table row is marked unconfirmed

    @property
    def source_node(self) -> Optional[str]:
        return self.source_nodes[0] if self.source_nodes else None


@dataclass(frozen=True)
class MemoryEstimate:
    """Edge TPU parameter memory against its on-chip cache."""

    parameter_bytes: int  # constant data of the ops that run on the device
    cache_bytes: int  # on-chip cache for parameters (~8 MB)
    source: str = TABLE  # "table" (our estimate) or "compiler log"
    off_chip_bytes: Optional[int] = None  # from the compiler: parameters streamed on every inference

    @property
    def fits(self) -> bool:
        if self.off_chip_bytes is not None:
            return self.off_chip_bytes == 0
        return self.parameter_bytes <= self.cache_bytes

    @property
    def fraction(self) -> float:
        return self.parameter_bytes / self.cache_bytes if self.cache_bytes else 0.0


@dataclass(frozen=True)
class Suggestion:
    kind: str  # "fix_batch", "replace_activation", "cut_tail", "quantize_fully", "memory", "fp16", ...
    text: str
    nodes: tuple[str, ...] = ()  # judged-model node names it is about
    outputs: tuple[str, ...] = ()  # for "cut_tail": original-model node names to choose as outputs


@dataclass(frozen=True)
class ValidationReport:
    device: str  # registry name: "edgetpu", "myriad", "openvino:CPU", ...
    title: str  # "Coral Edge TPU"
    status: str  # CHECKED / NOT_CHECKED / UNAVAILABLE
    source_of_truth: str  # TABLE / COMPILER_LOG / QUERY_MODEL / CONVERTER / NOTHING
    judged: str = ""  # what model was judged: "full-integer TFLite (uint8 in/out)", "OpenVINO IR"
    nodes: tuple[NodeVerdict, ...] = ()
    partition_index: Optional[int] = None  # index of the first node that falls off the accelerator
    memory: Optional[MemoryEstimate] = None
    suggestions: tuple[Suggestion, ...] = ()
    notes: tuple[str, ...] = ()  # "Calibrated on synthetic data", "edgetpu_compiler is not installed"
    disagreements: tuple[str, ...] = ()  # compiler log vs table, one sentence each
    reason: str = ""  # for NOT_CHECKED / UNAVAILABLE: why, in one sentence
    reason_id: str = ""  # the error doctor's stable id of `reason`, when it wrote it (core/doctor.py)
    reason_args: dict = field(default_factory=dict, compare=False)  # the values filled into that sentence
    details: str = ""  # the tool's own text behind `reason` (a log, a traceback): one click away, never a note
    source_verdicts: dict = field(default_factory=dict, compare=False)  # original node -> where (worst)
    table_sources: dict = field(default_factory=dict, compare=False)  # source key -> document/version/date
    seconds: float = 0.0
    short: str = ""  # the device in a sentence: "Edge TPU", "NCS2"; defaults to the title
    plan_key: str = ""  # core/plan.py validation_key of the plan it was computed from

    @property
    def totals(self) -> dict[str, int]:
        counts = {w: 0 for w in WHERE}
        for n in self.nodes:
            counts[n.where] += 1
        counts["total"] = len(self.nodes)
        return counts

    @property
    def partition_point(self) -> Optional[NodeVerdict]:
        if self.partition_index is None:
            return None
        return next((n for n in self.nodes if n.index == self.partition_index), None)

    @property
    def runs_entirely_on_device(self) -> bool:
        return self.status == CHECKED and bool(self.nodes) and all(n.where == DEVICE for n in self.nodes)

    def summary(self) -> str:
        """One line: "62 of 64 ops on the Edge TPU; 2 after the partition point run on the CPU"."""
        if self.status != CHECKED:
            return f"{self.title}: {self.reason}"
        t = self.totals
        short = self.short or self.title
        after = 0
        if self.partition_index is not None:
            after = sum(1 for n in self.nodes if n.index > self.partition_index and n.where == CPU)
        parts = [f"{t[DEVICE]} of {t['total']} ops on the {short}"]
        if t[UNSUPPORTED]:
            parts.append(f"{t[UNSUPPORTED]} the {short} cannot run")
        if after:
            parts.append(f"{after} after the partition point run on the CPU")
        if t[CPU] - after:
            parts.append(f"{t[CPU] - after} run on the CPU at the model's edge")
        return "; ".join(parts)

    def to_dict(self) -> dict:
        """The fields as JSON-able data, plus what the report and --json readers want computed: totals,
        partition_point, memory's fits and the summary line (from_dict ignores these)."""
        from ..codec import to_data

        data = to_data(self)
        data["totals"] = self.totals
        point = self.partition_point
        data["partition_point"] = None if point is None else {
            "index": point.index, "name": point.name, "op": point.op, "source_node": point.source_node}
        if self.memory is not None:
            data["memory"]["fits"] = self.memory.fits
        data["summary"] = self.summary()
        return data

    @staticmethod
    def from_dict(data: dict) -> "ValidationReport":
        from ..codec import from_data

        return from_data(ValidationReport, data)


def worst(a: str, b: str) -> str:
    return a if _RANK[a] >= _RANK[b] else b


def not_checked(device: str, title: str, reason: str, notes: tuple[str, ...] = ()) -> ValidationReport:
    return ValidationReport(device=device, title=title, status=NOT_CHECKED, source_of_truth=NOTHING,
                            reason=reason, notes=notes)


def failed(device: str, title: str, reason: str, details: str = "", reason_id: str = "",
           reason_args: Optional[dict] = None) -> ValidationReport:
    return ValidationReport(device=device, title=title, status=FAILED, source_of_truth=NOTHING, reason=reason,
                            details=details, reason_id=reason_id, reason_args=dict(reason_args or {}))


def unavailable(device: str, title: str, reason: str) -> ValidationReport:
    return ValidationReport(device=device, title=title, status=UNAVAILABLE, source_of_truth=NOTHING,
                            reason=reason)
