"""Read what Google's Edge TPU compiler printed (its console output and its *_edgetpu.log files)
into a CompilerLog; standard library only. Running the compiler is edgetpu_compiler's job."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Optional, Sequence

MAPPED = "Mapped to Edge TPU"
# Keys are the status strings exactly as the compiler prints them (REFERENCE.md).
STATUS_REASONS = {
    MAPPED: "Runs on the Edge TPU.",
    "Operation is otherwise supported, but not mapped due to some unspecified limitation":
        "The Edge TPU supports this op, but the compiler kept this instance on the CPU without "
        "saying why (often a tensor that is too large, or a Quantize at the model's edge).",
    "More than one subgraph is not supported":
        "This op could run on the Edge TPU, but it comes after an op that cannot, and the "
        "compiler maps only one unbroken part of the model; fix or cut away the earlier op.",
    "Operation is working on an unsupported data type":
        "This op works on a type the Edge TPU cannot (float or int32, for example); it runs on "
        "the CPU unless the model is fully int8-quantized.",
    "Operation not supported": "The Edge TPU has no implementation of this op; it runs on the CPU.",
    "Operation version not supported":
        "The converter wrote a newer version of this op than the compiler knows; it runs on "
        "the CPU.",
    "Tensor has unsupported rank (up to 3 innermost dimensions mapped)":
        "A tensor of this op has more than 3 dimensions larger than 1; only the 3 innermost "
        "dimensions can map, so it runs on the CPU.",
}
_STATUS_BY_KEY = {" ".join(k.lower().split()): k for k in STATUS_REASONS}
_UNKNOWN_REASON = ("The compiler did not map this op to the Edge TPU; EdgeWizard does not know "
                   "this status and shows it as the compiler wrote it.")


@dataclass(frozen=True)
class OpResult:
    op: str
    count: int
    status: str
    mapped: bool
    reason: str


def explain_status(status: str) -> tuple[bool, str]:
    """(runs on the Edge TPU, plain-language reason) for a status string from the op table."""
    known = _STATUS_BY_KEY.get(" ".join(status.lower().split()))
    if known is None:
        return False, _UNKNOWN_REASON
    return known == MAPPED, STATUS_REASONS[known]


@dataclass(frozen=True)
class SegmentLog:
    """One "Input model:" block: the whole model, a pipeline segment (-n) or a co-compiled one."""
    input_model: Optional[str] = None
    output_model: Optional[str] = None
    input_size_bytes: Optional[int] = None
    output_size_bytes: Optional[int] = None
    on_chip_memory_bytes: Optional[int] = None
    on_chip_memory_remaining_bytes: Optional[int] = None
    on_chip_memory_available_bytes: Optional[int] = None  # compiler 2.0 printed this instead
    off_chip_memory_bytes: Optional[int] = None
    edgetpu_subgraphs: Optional[int] = None
    total_operations: Optional[int] = None
    operation_log: Optional[str] = None
    compile_time_ms: Optional[int] = None
    ops_on_tpu: Optional[int] = None
    ops_on_cpu: Optional[int] = None
    ops: tuple[OpResult, ...] = ()


@dataclass(frozen=True)
class CompilerLog(SegmentLog):
    """What the compiler said. With several segments, the inherited counts, sizes and memory are
    their sums and the per-segment fields (names, remaining memory) are None: see ``segments``."""
    compiler_version: Optional[str] = None
    model_compiled: bool = False
    raw: str = ""
    warnings: tuple[str, ...] = ()
    error: Optional[str] = None         # the compiler's own reason for failing
    error_detail: Optional[str] = None  # the "ERROR: ..." line that came with it
    intermediate_tensors: tuple[str, ...] = ()  # used by the -d search's successful attempt
    segments: tuple[SegmentLog, ...] = ()       # only when there are two or more

    @property
    def fully_mapped(self) -> bool:
        return self.model_compiled and self.ops_on_cpu == 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


_SIZE_RE = re.compile(r"^([0-9]*\.?[0-9]+)\s*([KMGT]?i?B|bytes?)$", re.IGNORECASE)
_ROW_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\s+(\d+)\s+(\S.*?)\s*$")
_SUCCESS_RE = re.compile(r"^Models? compiled successfully in (\d+) ?ms", re.IGNORECASE)
_VERSION_RE = re.compile(r"Edge ?TPU Compiler version\s+(\S+)", re.IGNORECASE)
_KEYS = {"input model": "input_model", "input": "input_model", "output model": "output_model",
         "output": "output_model", "input size": "input_size_bytes",
         "output size": "output_size_bytes",
         "on-chip memory used for caching model parameters": "on_chip_memory_bytes",
         "on-chip memory remaining for caching model parameters": "on_chip_memory_remaining_bytes",
         "on-chip memory available for caching model parameters": "on_chip_memory_available_bytes",
         "off-chip memory used for streaming uncached model parameters": "off_chip_memory_bytes",
         "number of edge tpu subgraphs": "edgetpu_subgraphs",
         "total number of operations": "total_operations", "operation log": "operation_log",
         "number of operations that will run on edge tpu": "ops_on_tpu",
         "number of operations that will run on cpu": "ops_on_cpu"}
_PARTIAL = "model successfully compiled but not all operations are supported"


def parse_size(text: str) -> Optional[int]:
    """Bytes in "7.63MiB", "1.52KiB", "0.00B" (binary units, as the compiler prints them)."""
    m = _SIZE_RE.match(text.strip())
    if not m:
        return None
    unit = m.group(2).upper()
    power = "BKMGT".index(unit[0]) if unit[0] in "KMGT" else 0
    return round(float(m.group(1)) * ((1024 if "I" in unit else 1000) ** power))


def parse_log(text: str, *, log_files: Sequence[str] = ()) -> CompilerLog:
    """Read the compiler's console output (any version seen: 2.x, 14.x, 15.x, 16.x).

    ``log_files`` are the texts of its ``*_edgetpu.log`` files, in segment order; their op tables
    fill in segments whose console output had none (compiled without -s)."""
    version, outcome, error, detail = None, None, None, None
    warnings: list[str] = []
    pending_errors: list[str] = []
    tensors: tuple[str, ...] = ()
    sections: list[dict] = []
    pending_ms: Optional[int] = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        low = line.lower()
        if not line:
            continue
        m = _VERSION_RE.search(line)
        if m:
            version = version or m.group(1)
            continue
        m = _SUCCESS_RE.match(line)
        if m or low.startswith("compilation succeeded"):
            outcome, error, detail = True, None, None
            pending_ms = int(m.group(1)) if m else pending_ms
            continue
        if line.split() == ["Operator", "Count", "Status"]:
            if not sections:
                sections.append({"ops": []})
            while i < len(lines) and (not lines[i].strip() or _ROW_RE.match(lines[i].strip())):
                row = _ROW_RE.match(lines[i].strip())
                i += 1
                if row:
                    mapped, reason = explain_status(row.group(3))
                    if reason is _UNKNOWN_REASON:
                        warnings.append(f"Unrecognised Edge TPU compiler status for "
                                        f"{row.group(1)}: {row.group(3)}")
                    sections[-1]["ops"].append(OpResult(row.group(1), int(row.group(2)),
                                                        row.group(3), mapped, reason))
            continue
        if low.startswith(_PARTIAL):
            parts = [line]
            while i < len(lines) and lines[i].strip() and not lines[i].strip().lower().startswith(
                    ("number of operations", "see the operation log", "operator ")):
                parts.append(lines[i].strip())
                i += 1
            warnings.append(" ".join(parts))
            if sections:
                sections[-1]["partial"] = True
            continue
        if low.startswith(("started a compilation timeout timer", "try to compile segment")):
            pending_errors.clear()
            if low.startswith("try"):  # a new -d attempt: only the successful one's tensors count
                tensors = ()
            continue
        if "internal compiler error" in low or "segmentation fault" in low:
            outcome, error = False, ("Internal compiler error. Aborting!" if "internal" in low
                                     else "The compiler crashed (segmentation fault).")
            detail = pending_errors[0] if pending_errors else None
            continue
        if low.startswith("compilation failed"):
            reason = line.split(":", 1)[1].strip() if ":" in line else ""
            if outcome is not False or reason:
                error = reason or error or "Compilation failed."
                detail = pending_errors[0] if pending_errors else detail
            outcome = False
            continue
        key, _, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "invalid model":
            nxt = lines[i].strip() if i < len(lines) else ""
            outcome, error = False, nxt or f"Invalid model: {value}"
            detail = pending_errors[0] if pending_errors else None
            i += 1 if nxt else 0
        elif key == "error":  # kept as the detail of a failure, not as a warning
            if not value.lower().startswith(("registration failed", "restored original")):
                pending_errors.append(value)
        elif key == "warning":
            warnings.append(line)
        elif key == "intermediate tensors":
            tensors = tuple(t for t in value.split(",") if t)
        elif key in _KEYS:
            name = _KEYS[key]
            if name == "input_model" or not sections or (name == "output_model"
                                                         and "output_model" in sections[-1]):
                sections.append({"ops": []})
                sections[-1]["compile_time_ms"], pending_ms = pending_ms, None
            if name.endswith("_bytes"):
                sections[-1][name] = parse_size(value)
            elif name in ("input_model", "output_model", "operation_log"):
                sections[-1][name] = value
            elif value.isdigit():
                sections[-1][name] = int(value)
    if outcome is None:  # a bare *_edgetpu.log file says nothing about success: it exists
        outcome = error is None and any(s.get("output_model") for s in sections)
    for idx, table in enumerate(log_files):
        ops = parse_log(table).ops
        if idx < len(sections) and not sections[idx]["ops"]:
            sections[idx]["ops"] = list(ops)
        elif not sections and ops:
            sections.append({"ops": list(ops)})
    segs = tuple(_finish_section(s, outcome) for s in sections)
    if len(segs) == 1:
        base = dataclasses.asdict(segs[0])
        base["ops"] = segs[0].ops
    else:
        base = {k: _sum(getattr(s, k) for s in segs) for k in (
            "ops_on_tpu", "ops_on_cpu", "on_chip_memory_bytes", "off_chip_memory_bytes",
            "edgetpu_subgraphs", "total_operations", "compile_time_ms", "input_size_bytes",
            "output_size_bytes")}
        base["ops"] = tuple(op for s in segs for op in s.ops)
    raw = text if not log_files else "\n\n".join([text, *log_files])
    return CompilerLog(compiler_version=version, model_compiled=bool(outcome), raw=raw,
                       warnings=tuple(dict.fromkeys(warnings)), error=error, error_detail=detail,
                       intermediate_tensors=tensors if outcome else (),
                       segments=segs if len(segs) > 1 else (), **base)


def _sum(values) -> Optional[int]:
    values = list(values)
    return None if not values or None in values else sum(values)


def _finish_section(s: dict, compiled: bool) -> SegmentLog:
    ops = tuple(s.pop("ops"))
    partial = s.pop("partial", False)
    if ops and s.get("ops_on_tpu") is None and s.get("ops_on_cpu") is None:
        s["ops_on_tpu"] = sum(o.count for o in ops if o.mapped)
        s["ops_on_cpu"] = sum(o.count for o in ops if not o.mapped)
    elif (compiled and not partial and s.get("total_operations") is not None
          and s.get("ops_on_tpu") is None and s.get("ops_on_cpu") is None):
        # The compiler prints the split only when something stays on the CPU.
        s["ops_on_tpu"], s["ops_on_cpu"] = s["total_operations"], 0
    return SegmentLog(ops=ops, **s)
