"""Find, run and read Google's Edge TPU compiler (edgetpu_compiler); standard library only.

The compiler exists only on x86-64 Debian-family Linux, so its absence is normal and reported
with install_hint(); nothing here ever pretends a compile happened."""
from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from ..errors import Cancelled, MissingDependency, UserError

ENV_VAR = "EDGEWIZARD_EDGETPU_COMPILER"
DEFAULT_TIMEOUT_S = 1800.0  # -d retries many compiles, each with the compiler's own 180 s timer
_POLL_S = 0.1

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

# What to tell the person for the compiler's own failure reasons (matched case-insensitively).
def find_compiler(env_path: Optional[str] = None) -> Optional[str]:
    """The compiler to run: $EDGEWIZARD_EDGETPU_COMPILER when set, else edgetpu_compiler on PATH.

    ``env_path`` replaces PATH for the search. A set but unusable variable gives None rather than
    silently running some other compiler."""
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        return override if os.path.isfile(override) and os.access(override, os.X_OK) else None
    return shutil.which("edgetpu_compiler", path=env_path)


def install_hint() -> str:
    return ("The Edge TPU compiler (edgetpu_compiler) is not installed: on x86-64 Debian or Ubuntu "
            "add Google's Coral apt repository and run `sudo apt-get install edgetpu-compiler`; on "
            "Windows, macOS or ARM (such as a Raspberry Pi) use WSL, Docker or an x86-64 Linux "
            "machine. The int8 model was still written and can be compiled later with "
            "`edgetpu_compiler <file>`.")


@dataclass(frozen=True)
class EdgeTpuOptions:
    min_runtime_version: Optional[int] = None   # -m
    num_segments: Optional[int] = None          # -n: pipeline the model over several TPUs
    intermediate_tensors: tuple[str, ...] = ()  # -i: stop mapping after these tensors
    allow_multiple_subgraphs: bool = False      # -a (experimental in the compiler)
    search_delegate: bool = False               # -d
    delegate_search_step: Optional[int] = None  # -k
    timeout_s: Optional[int] = None             # -t
    show_operations: bool = True                # -s

    def __post_init__(self) -> None:
        names = self.intermediate_tensors
        names = (names,) if isinstance(names, str) else tuple(names or ())
        for name in names:
            if not name or "," in name:  # the compiler takes one comma-separated list
                raise UserError(f"Tensor name {name!r} cannot be passed to the Edge TPU compiler: "
                                "names must be non-empty and contain no comma.")
        object.__setattr__(self, "intermediate_tensors", names)
        for flag in ("min_runtime_version", "num_segments", "delegate_search_step", "timeout_s"):
            value = getattr(self, flag)
            if value is not None and (type(value) is not int or value < 1):
                raise UserError(f"Edge TPU option {flag} must be a whole number of at least 1, "
                                f"not {value!r}.")


def build_argv(compiler: str, tflite_path, out_dir, options: EdgeTpuOptions) -> list[str]:
    """The compiler's argument list. Paths are absolute so that one starting with "-" can never
    read as a flag; each path stays a single argument whatever it contains."""
    o = options
    argv = [str(compiler)] + ["-s"] * o.show_operations + ["-a"] * o.allow_multiple_subgraphs
    argv += ["-d"] * o.search_delegate + ["-o", os.path.abspath(os.fspath(out_dir))]
    for flag, value in (("-m", o.min_runtime_version), ("-n", o.num_segments),
                        ("-i", ",".join(o.intermediate_tensors) or None),
                        ("-k", o.delegate_search_step), ("-t", o.timeout_s)):
        if value is not None:
            argv += [flag, str(value)]
    return argv + [os.path.abspath(os.fspath(tflite_path))]


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


@dataclass(frozen=True)
class CompileResult:
    edgetpu_model: Path                  # the first segment when the model was segmented
    log: CompilerLog
    argv: tuple[str, ...]
    returncode: int
    edgetpu_models: tuple[Path, ...] = ()  # every segment, in pipeline order
    log_files: tuple[Path, ...] = ()

    def to_dict(self) -> dict:
        return {"edgetpu_model": str(self.edgetpu_model), "log": self.log.to_dict(),
                "argv": list(self.argv), "returncode": self.returncode,
                "edgetpu_models": [str(p) for p in self.edgetpu_models],
                "log_files": [str(p) for p in self.log_files]}


def failure_message(model_name: str, log: CompilerLog, returncode: int,
                    float_tensors: Sequence[str] = ()) -> str:
    """One sentence: the error doctor's for a known compiler message (resources/errors/edgetpu.toml),
    else the compiler's own error line."""
    return compile_failure(model_name, log, returncode, float_tensors).message


def compile_failure(model_name: str, log: CompilerLog, returncode: int, float_tensors: Sequence[str] = (),
                    details: str = "") -> UserError:
    """The error a failed compile raises: the doctor's sentence with its id when it knows the message."""
    found = _diagnose(model_name, log, float_tensors)
    if found is not None:
        return UserError(found.sentence, details, message_id=found.id, message_args=found.args)
    reason = log.error or f"it exited with code {returncode}"
    if log.error_detail and log.error_detail not in reason:
        reason = f"{reason} ({log.error_detail})"
    end = "" if reason.rstrip()[-1:] in ".!?" else "."
    return UserError(f"The Edge TPU compiler could not compile {model_name}: {reason.rstrip()}{end} The details hold "
                     "the compiler's full output.", details)


def _float_tensors(path: Path) -> list[str]:
    from ..loaders.tflite_loader import float_tensors  # reads the flatbuffer; imports no TensorFlow

    return float_tensors(path)


def _diagnose(model_name: str, log: CompilerLog, float_tensors: Sequence[str] = ()):
    from ..doctor import diagnose

    text = log.raw or "\n".join(t for t in (log.error, log.error_detail) if t)
    return diagnose(text, "edgetpu_compiler", {"model": model_name, "float_tensors": list(float_tensors)})


def compile_model(tflite_path, out_dir, options: Optional[EdgeTpuOptions] = None,
                  compiler: Optional[str] = None, timeout: Optional[float] = None,
                  cancelled: Optional[Callable[[], bool]] = None,
                  progress: Optional[Callable[[Optional[float], str], None]] = None
                  ) -> CompileResult:
    """Run the compiler on one int8 .tflite into out_dir. It writes into a private folder inside
    out_dir and only successful outputs are moved out, so failure or cancel leaves nothing."""
    options = options or EdgeTpuOptions()
    src, out_dir = Path(tflite_path), Path(out_dir)
    if not src.is_file():
        raise UserError(f"{src} does not exist or is not a file; choose the int8 .tflite "
                        "to compile.")
    compiler = compiler or find_compiler()
    if not compiler:
        bad = os.environ.get(ENV_VAR, "").strip()
        prefix = f"{ENV_VAR} points at {bad}, which is not an executable file. " if bad else ""
        raise MissingDependency(prefix + install_hint(),
                                "Compile later with: " + shlex.join(
                                    ["edgetpu_compiler", "-s", "-o", str(out_dir), str(src)]))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".edgetpu-compile-", dir=out_dir))
    except OSError as exc:
        raise UserError(f"Cannot write to the output folder {out_dir} ({exc.strerror}); "
                        "choose another folder.") from exc
    try:
        argv = build_argv(compiler, src, work, options)
        console = work / "compiler-output.txt"
        rc = _run(argv, work, console, timeout or DEFAULT_TIMEOUT_S, cancelled, progress)
        text = console.read_bytes().decode("utf-8", errors="replace")
        models = _outputs(work, src, options)
        logs = [m.with_suffix(".log") for m in models]
        log = parse_log(text, log_files=[p.read_bytes().decode("utf-8", errors="replace")
                                         for p in logs if p.is_file()])
        if rc != 0 or not models or (log.error and not log.model_compiled):
            if rc == 0 and not models and not log.error:
                log = dataclasses.replace(log, error="it reported no error but wrote no "
                                                     "*_edgetpu.tflite file")
            floats = _float_tensors(src) if "not quantized" in log.raw else []
            raise compile_failure(src.name, log, rc, floats, f"$ {shlex.join(argv)}\n(exit code {rc})\n\n{log.raw}")
        if not log.model_compiled:  # exit 0 and a model on disk, in words this parser lacks
            log = dataclasses.replace(log, model_compiled=True, warnings=log.warnings + (
                "EdgeWizard did not recognise the compiler's success message; see its output.",))
        logs = [p for p in logs if p.is_file()]
        if any((out_dir / p.name).resolve() == src.resolve() for p in models + logs):
            raise UserError(f"The compiler's output would overwrite the input {src.name}; "
                            "choose another output folder.")
        for p in models + logs:
            os.replace(p, out_dir / p.name)
        return CompileResult(out_dir / models[0].name, log, tuple(argv), rc,
                             tuple(out_dir / p.name for p in models),
                             tuple(out_dir / p.name for p in logs))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _outputs(work: Path, src: Path, options: EdgeTpuOptions) -> list[Path]:
    n = options.num_segments or 1
    names = ([f"{src.stem}_segment_{k}_of_{n}_edgetpu.tflite" for k in range(n)] if n > 1
             else [f"{src.stem}_edgetpu.tflite"])
    found = [work / name for name in names if (work / name).is_file()]
    if len(found) == len(names):
        return found
    return [] if n > 1 else sorted(work.glob("*_edgetpu.tflite"))


def _run(argv, cwd: Path, console: Path, timeout: float, cancelled, progress) -> int:
    group = os.name == "posix"  # the compiler is a wrapper script that forks: stop the group
    with open(console, "wb") as sink:
        try:
            proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=sink,
                                    stderr=subprocess.STDOUT, start_new_session=group)
        except OSError as exc:  # not executable, or an x86-64 binary on ARM (exec format error)
            raise MissingDependency(f"Could not run the Edge TPU compiler at {argv[0]} "
                                    f"({exc.strerror or exc}). " + install_hint()) from exc
    deadline, seen = time.monotonic() + timeout, 0
    try:
        while True:
            try:
                rc = proc.wait(timeout=_POLL_S)
            except subprocess.TimeoutExpired:
                rc = None
            if progress is not None:
                seen = _relay(console, seen, progress)
            if rc is not None:
                return rc
            if cancelled is not None and cancelled():
                raise Cancelled("The Edge TPU compile was cancelled; no file was written.")
            if time.monotonic() > deadline:
                raise UserError(f"The Edge TPU compiler did not finish within {timeout:g} s and "
                                "was stopped; try a smaller model or a longer timeout.",
                                console.read_bytes().decode("utf-8", errors="replace"))
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL) if group else proc.kill()
            except OSError:
                pass
            proc.wait()


def _relay(console: Path, seen: int, progress) -> int:
    data = console.read_bytes()
    end = data.rfind(b"\n") + 1
    if end > seen:
        for line in data[seen:end].decode("utf-8", errors="replace").splitlines():
            if line.strip():
                progress(None, line.strip())
        return end
    return seen
