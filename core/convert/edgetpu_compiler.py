"""Find and run Google's Edge TPU compiler (edgetpu_compiler); standard library only. What it prints
is read by edgetpu_log.

The compiler exists only on x86-64 Debian-family Linux, so its absence is normal and reported
with install_hint(); nothing here ever pretends a compile happened."""
from __future__ import annotations

import dataclasses
import os
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
from ..progress import ProgressFn
from .edgetpu_log import CompilerLog, parse_log

ENV_VAR = "EDGEWIZARD_EDGETPU_COMPILER"
DEFAULT_TIMEOUT_S = 1800.0  # -d retries many compiles, each with the compiler's own 180 s timer
_POLL_S = 0.1


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
        return UserError(found.sentence, details, message_id=found.id, message_args=found.args,
                         cli_hint=found.cli_hint)
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
                  progress: Optional[ProgressFn] = None
                  ) -> CompileResult:
    """Run the compiler on one int8 .tflite into out_dir. It writes into a private folder inside
    out_dir and only successful outputs are moved out, so failure or cancel leaves nothing.
    ``progress`` gets (None, line) for each line the compiler prints: it gives no figures."""
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
