"""Runs the bench agent (locally, under another interpreter, or over ssh) and collects its latencies.

`BenchRun(request).start()` returns at once; threads feed the agent and read its JSON lines. A GUI
polls on a timer: `run.take_new()` (latencies since the last call), `run.state`, `run.result()`
(statistics so far). `stop()` asks the agent to finish the inference under way and keeps every
sample; an agent that dies, hangs (timeout) or talks garbage ends the run with an error, and the
samples measured before stay in `run.samples`."""
from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .. import tempdirs
from ..errors import EdgeWizardError, InternalError, MissingDependency, UserError
from ..jobs import describe_exit as _describe_exit
from . import protocol
from .agent import PRECISIONS, AgentError, parse_device
from .launch import Upload, Where, model_files, request_line, stdin_chunks
from .result import BenchResult, SampleBuffer

STOP_GRACE_S = 5.0  # after stop(): how long the agent may take to finish its inference and say "end"
POLL_S = 0.1
_EOF = object()


def canonical_device(text: str) -> str:
    try:
        return parse_device(text)[2]
    except AgentError as exc:
        raise UserError(exc.message) from None


_PRECISION_ALIASES = {"fp32": "f32", "float32": "f32", "fp16": "f16", "float16": "f16", "bfloat16": "bf16"}


def canonical_precision(text: Optional[str]) -> Optional[str]:
    """None (the device's own default) or one of f32/f16/bf16, from the ways a person writes them."""
    if text is None or str(text).strip().lower() in ("", "default", "device", "auto"):
        return None
    low = str(text).strip().lower()
    low = _PRECISION_ALIASES.get(low, low)
    if low not in PRECISIONS:
        raise UserError(f"Precision {text!r} is not one of default, f32, f16 or bf16.")
    return low


def default_device(model_name: str) -> str:
    """The device a converted model runs on when the person names none: a compiled *_edgetpu.tflite on
    the Edge TPU, OpenVINO IR and ONNX on OpenVINO's CPU, any other .tflite on LiteRT's CPU."""
    name = model_name.lower()
    if name.endswith("_edgetpu.tflite"):
        return "edgetpu"
    return "openvino:CPU" if name.endswith((".xml", ".onnx")) else "tflite:CPU"


@dataclass(frozen=True)
class BenchRequest:
    model: str  # .tflite (also *_edgetpu.tflite), OpenVINO .xml (with .bin beside it) or .onnx
    device: str = "tflite:CPU"
    count: Optional[int] = None  # measured inferences; with seconds also None, run until stop()
    seconds: Optional[float] = None
    warmup: int = 5
    threads: Optional[int] = None
    precision: Optional[str] = None  # OpenVINO's inference precision: None = the device's default, f32, f16, bf16
    data: Optional[str] = None  # .npy/.npz of input samples (cycled); None = random inputs
    where: Where = field(default_factory=Where)
    load_timeout_s: float = 300.0  # until the first inference is done (an NPU compile can be slow)
    idle_timeout_s: float = 60.0  # before its hello and while measuring: the longest silence before the agent counts as hung
    agent_source: Optional[bytes] = None  # another agent's code (fault-injection test doubles only)
    profile: bool = False  # after the latency run, a separate phase measures each op's time (BenchResult.profile)

    def __post_init__(self) -> None:
        object.__setattr__(self, "device", canonical_device(self.device))
        object.__setattr__(self, "precision", canonical_precision(self.precision))
        if self.precision and not self.device.startswith("openvino:"):
            raise UserError(f"A precision can be chosen only for OpenVINO devices, not {self.device}: "
                            "leave it at the device's default.")
        for name, low in (("count", 1), ("warmup", 0), ("threads", 1)):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < low):
                raise UserError(f"The {name} must be a whole number of at least {low}, not {value!r}.")
        if self.seconds is not None and not self.seconds > 0:
            raise UserError(f"The duration must be more than 0 seconds, not {self.seconds!r}.")

    def plan_key(self) -> str:
        """core/plan.py bench_key of this run: the model file's content, the device, and the settings that
        change a figure (how long, warm-up, threads, precision, input data, which computer)."""
        from ..files import sha256_of
        from ..plan import bench_key

        settings = {"count": self.count, "seconds": self.seconds, "warmup": self.warmup, "threads": self.threads,
                    "precision": self.precision, "data": self.data, "host": self.where.label}
        return bench_key(sha256_of(Path(self.model)), self.device, settings)


class AgentProcess:
    """One agent process: a writer thread feeds its stdin, readers collect stdout lines and stderr."""

    def __init__(self, where: Where, request: bytes, files=(), data: Optional[Upload] = None,
                 source: Optional[bytes] = None) -> None:
        self.where = where
        self._chunks = stdin_chunks(where, request, list(files), data, source)
        self._lines: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self.stderr_tail: deque[str] = deque(maxlen=200)
        self.proc: Optional[subprocess.Popen] = None
        self._threads: list[threading.Thread] = []
        self.tmp: Optional[Path] = None  # a local agent's temp folder (TMPDIR), inside the session's

    def start(self) -> None:
        argv = self.where.argv()
        # Own session/process group: a Ctrl-C in the terminal reaches us, and we stop the agent gracefully.
        extra = {"start_new_session": True} if os.name == "posix" else {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
        if not self.where.remote:
            # Its own folder, removed in finish(): what a killed agent was writing goes with it.
            self.tmp = tempdirs.mkdtemp("agent-")
            # Another interpreter gets none of this Python's search paths (a frozen app's library path put back).
            from .runtime_env import child_env
            base = child_env() if self.where.python else os.environ
            extra["env"] = {**base, **tempdirs.child_env(self.tmp)}
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **extra)
        except FileNotFoundError:
            self._remove_tmp()
            if self.where.remote:
                raise MissingDependency("The ssh command is not installed: install OpenSSH's client to run benchmarks on another computer.") from None
            raise UserError(f"The Python interpreter {argv[0]} does not exist; give the path to a python executable.") from None
        except PermissionError:
            self._remove_tmp()
            raise UserError(f"{argv[0]} cannot be run (permission denied); give the path to a python executable.") from None
        self._threads = [threading.Thread(target=t, name=f"edgewizard-agent{t.__name__}", daemon=True)
                         for t in (self._write, self._read_stdout, self._read_stderr)]
        for t in self._threads:
            t.start()

    def _write(self) -> None:
        pipe = self.proc.stdin
        try:
            for chunk in self._chunks:
                if self._stop.is_set():
                    break
                pipe.write(chunk)
                pipe.flush()
            else:
                self._stop.wait()
                pipe.write(b"stop\n")
                pipe.flush()
        except (OSError, ValueError):
            pass  # the agent is gone; the reader reports how
        finally:
            try:
                pipe.close()
            except OSError:
                pass

    def _read_stdout(self) -> None:
        with self.proc.stdout as pipe:
            for line in pipe:
                self._lines.put(line)
        self._lines.put(_EOF)

    def _read_stderr(self) -> None:
        with self.proc.stderr as pipe:
            for line in pipe:
                self.stderr_tail.append(line.decode("utf-8", "replace").rstrip())

    def next_message(self, timeout: float) -> Optional[dict]:
        """The next protocol message; None at end of output; TimeoutError; ProtocolError on garbage."""
        try:
            line = self._lines.get(timeout=max(0.0, timeout))
        except queue.Empty:
            raise TimeoutError from None
        return None if line is _EOF else protocol.parse(line)

    def request_stop(self) -> None:
        self._stop.set()

    def kill(self) -> None:
        self._stop.set()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()

    def finish(self, timeout: float = 10.0) -> Optional[int]:
        self._stop.set()
        if self.proc is None:
            self._remove_tmp()
            return None
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        for t in self._threads:  # the pipes close as their readers reach the end
            t.join(timeout=5)
        self._remove_tmp()
        return code

    def _remove_tmp(self) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def failure(self, code: Optional[int], started: bool, count: int = 0) -> EdgeWizardError:
        """Why the agent ended without 'end', in plain words."""
        where, python = self.where.label, self.where.interpreter()
        lines = [ln for ln in self.stderr_tail if ln.strip()]
        last = lines[-1].strip() if lines else ""
        details = "\n".join(self.stderr_tail)
        if not started:
            if self.where.remote and code == 255:
                return MissingDependency(f"ssh could not reach {where} ({last or 'no reason given'}); check that "
                                         f"'ssh {where}' logs in without asking for a password.", details)
            if code == 127 or last.endswith(("not found", "No such file or directory")):
                return MissingDependency(f"{python} was not found on {where}: install Python 3 there or give the "
                                         "full path of a Python that is there.", details)
            if any("SyntaxError" in ln for ln in lines):
                return MissingDependency(f"{python} on {where} cannot run the bench agent, which needs Python 3.6 or later.", details)
            return InternalError(f"The bench agent on {where} stopped before it started ({describe_exit(code)}): {last}", details)
        kept = f" after {count} measured inferences; those are kept" if count else " before measuring anything"
        return InternalError(f"The bench agent on {where} stopped unexpectedly ({describe_exit(code)}){kept}."
                             f"{' Last message: ' + last if last else ''}", details)


def describe_exit(code: Optional[int]) -> str:
    return _describe_exit(code, unknown="still running")


class BenchRun:
    """One benchmark. States: starting, loading, warmup, running, then finished, stopped or failed."""

    def __init__(self, request: BenchRequest) -> None:
        self.request = request
        self.samples = SampleBuffer()  # measured latencies (ms), in order
        self.warmup = SampleBuffer()
        self.state = "starting"
        self.hello: dict = {}
        self.ready: dict = {}  # runtime, runtime_version, device, device_name, load_ms, inputs, outputs, notes
        self.error: Optional[EdgeWizardError] = None
        self.first_ms: Optional[float] = None
        self.elapsed_s = 0.0
        self._cursor = 0
        self._stop_at: Optional[float] = None
        self._done = threading.Event()
        self._agent: Optional[AgentProcess] = None
        self._lock = threading.Lock()
        self.plan_key = ""  # set by start(), when the model file is read
        self.profile = None  # core.bench.profile.Profile, when the request asked for one and the agent sent it

    # ---- the API a CLI loop or a GUI timer uses
    def start(self) -> "BenchRun":
        r = self.request
        files = model_files(Path(r.model))
        data = None
        if r.data:
            path = Path(r.data)
            if not path.is_file():
                raise UserError(f"The input data file {path} does not exist.")
            from ..arrays import ArrayFile

            with ArrayFile(path, "input data") as arrays:
                arrays.check()  # the agent reads it whole, wherever it runs: refuse a pickle or a zip bomb here
            data = Upload(path, path.name)
        self.plan_key = r.plan_key()
        line = request_line(r.where, "run", files, data, device=r.device, count=r.count, seconds=r.seconds,
                            warmup=r.warmup, threads=r.threads, precision=r.precision,
                            **({"profile": True} if r.profile else {}))  # an older agent ignores it
        self._agent = AgentProcess(r.where, line, files, data, r.agent_source)
        self._agent.start()
        threading.Thread(target=self._supervise, name="edgewizard-bench", daemon=True).start()
        return self

    def take_new(self) -> list[float]:
        """Latencies measured since the previous call (for one consumer, such as the plot timer)."""
        with self._lock:
            new, self._cursor = self.samples.read_from(self._cursor)
        return new

    def stop(self) -> None:
        """Stop now; everything measured so far is kept. Returns at once; wait() for the end."""
        if self._done.is_set() or self._stop_at is not None:
            return
        self._stop_at = time.monotonic()
        if self._agent is not None:
            if self.state == "starting":
                self._agent.kill()  # not even started: nothing to finish
            else:
                # Ask, so a device is closed properly (an NCS2 killed mid-call may need replugging);
                # the supervisor kills the agent if it has not ended STOP_GRACE_S later.
                self._agent.request_stop()

    def wait(self, timeout: Optional[float] = None) -> bool:
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def result(self) -> BenchResult:
        """Statistics of the samples so far (sorting them: call a few times a second, not per frame)."""
        ready, r = self.ready, self.request
        runtime = f"{ready.get('runtime', '')} {ready.get('runtime_version', '')}".strip()
        return BenchResult.from_samples(
            self.samples.snapshot(), elapsed_s=self.elapsed_s, first_ms=self.first_ms, device=ready.get("device", r.device),
            runtime=runtime, warmup_count=len(self.warmup), load_ms=ready.get("load_ms"), threads=r.threads,
            model=Path(r.model).name, host=r.where.label, status=self.state if self.done else "running",
            error=self.error.message if self.error else None, device_name=str(ready.get("device_name", "")),
            notes=tuple(str(n) for n in ready.get("notes") or ()), precision=ready.get("precision"),
            default_precision=ready.get("default_precision"), precision_requested=r.precision, plan_key=self.plan_key,
            profile=self.profile)

    # ---- the supervisor thread
    def _supervise(self) -> None:
        agent, r = self._agent, self.request
        ended, started, last = False, False, time.monotonic()
        try:
            while True:
                try:
                    message = agent.next_message(POLL_S)  # short waits, so a stop() is noticed at once
                except TimeoutError:
                    now = time.monotonic()
                    if self._stop_at is not None:
                        if now >= self._stop_at + STOP_GRACE_S:
                            break  # asked to stop and did not: killed below; the samples stay
                        continue
                    measuring = self.state in ("warmup", "running") and self.first_ms is not None
                    # Its hello comes as soon as Python runs there: only loading a model may take long,
                    # and so may the per-op profile, measured silently after the last batch.
                    limit = r.idle_timeout_s if (measuring and not self._profiling()) or not started else r.load_timeout_s
                    if now - last < limit:
                        continue
                    doing = "measuring" if measuring else "loading the model" if started else "starting"
                    kept = f"; the {len(self.samples)} inferences measured before are kept" if len(self.samples) else ""
                    self.error = InternalError(
                        f"The bench agent on {r.where.label} sent nothing for {limit:.0f} s while "
                        f"{doing}, so it was stopped as hung{kept}.", "\n".join(agent.stderr_tail))
                    break
                last = time.monotonic()
                if message is None:
                    break
                if not started:
                    protocol.check_hello(message, r.where.label)
                    self.hello, started, self.state = message, True, "loading"
                    continue
                ended = self._handle(message)
                if ended:
                    break
        except protocol.ProtocolError as exc:
            self.error = exc
        except Exception as exc:  # noqa: BLE001 - our bug; the run must still end
            self.error = InternalError(f"Reading the bench agent's output failed: {type(exc).__name__}: {exc}")
        finally:
            if not ended:
                agent.kill()
            code = agent.finish()
            if self.error is None and not ended and self._stop_at is None:
                self.error = agent.failure(code, started, len(self.samples))
            if self.error is not None:
                self.state = "failed"
            elif self._stop_at is not None or self.state == "stopped":
                self.state = "stopped"
            else:
                self.state = "finished"
            self._done.set()

    def _profiling(self) -> bool:
        """Whether the latency run is over and the agent is measuring the per-op profile."""
        r = self.request
        return r.profile and self.profile is None and (
            (r.count is not None and len(self.samples) >= r.count) or (r.seconds is not None and self.elapsed_s >= r.seconds))

    def _handle(self, message: dict) -> bool:
        kind = message["type"]
        if kind == "ready":
            self.ready, self.state = message, "warmup"
        elif kind in ("warmup", "batch"):
            if self.first_ms is None and message["ms"]:
                self.first_ms = message["ms"][0]
            if kind == "warmup":
                self.warmup.extend(message["ms"])
            else:
                self.samples.extend(message["ms"])
                self.elapsed_s = float(message["t"])
                self.state = "running"
        elif kind == "profile":
            from .profile import from_message

            try:
                self.profile = from_message(message)
            except ValueError as exc:
                raise protocol.ProtocolError(f"The bench agent sent a per-op profile EdgeWizard cannot read: {exc}.") from None
        elif kind == "error":
            self.error = protocol.error_from(message)
        elif kind == "end":
            self.elapsed_s = float(message.get("t") or self.elapsed_s)
            if message["reason"] == "stopped":
                self.state = "stopped"
            return True
        else:
            raise protocol.ProtocolError(f"The bench agent sent a '{kind}' message during a benchmark.")
        return False


def probe(where: Where = Where(), timeout_s: float = 60.0, agent_source: Optional[bytes] = None) -> dict:
    """Ask the agent what `where` offers: runtimes, USB accelerators, and per device ready/what to install."""
    agent = AgentProcess(where, request_line(where, "probe"), source=agent_source)
    agent.start()
    deadline = time.monotonic() + timeout_s
    started, report, error = False, None, None
    try:
        while True:
            try:
                message = agent.next_message(deadline - time.monotonic())
            except TimeoutError:
                raise InternalError(f"The bench agent on {where.label} did not answer within {timeout_s:.0f} s.") from None
            if message is None:
                break
            if not started:
                protocol.check_hello(message, where.label)
                started = True
            elif message["type"] == "probe":
                report = message
            elif message["type"] == "error":
                error = protocol.error_from(message)
            elif message["type"] == "end":
                break
    finally:
        agent.kill()
        code = agent.finish()
    if error is not None:
        raise error
    if report is None:
        raise agent.failure(code, started)
    return report
