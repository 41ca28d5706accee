"""Runs heavy steps (load, cut, convert, verify) in a warm worker process.

The calling process (GUI or CLI) never imports TensorFlow or OpenVINO. A job names a plain
function by its dotted path ("edgewizard.core.steps:inspect") and passes picklable arguments; the
worker runs it and sends back progress events, log lines (the worker's own stdout/stderr, where
TensorFlow writes) and a result or an error. Cancel kills the worker: a Python thread cannot be
interrupted inside TensorFlow, a process can. A crash or abort in the worker becomes an
InternalError for the caller, who lives on; the next job starts a fresh worker. Each worker keeps its
temporary files in its own folder inside the session's private temp folder (core/tempdirs.py), which
is removed when the worker ends, killed or not.

One job runs at a time per runner. Iterate `Job.events()` on any one thread; `cancel()` may be
called from any other."""
from __future__ import annotations

import gc
import importlib
import inspect
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import sys
import threading
import traceback
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Union

from . import tempdirs
from .errors import Cancelled, EdgeWizardError, InternalError

# ---------------------------------------------------------------- events seen by the caller


@dataclass(frozen=True)
class Progress:
    fraction: Optional[float]  # 0..1, or None when the step cannot tell how far it is
    message: str


@dataclass(frozen=True)
class Log:
    line: str


@dataclass(frozen=True)
class Done:
    result: Any


@dataclass(frozen=True)
class Failed:
    error: EdgeWizardError


Event = Union[Progress, Log, Done, Failed]

# ---------------------------------------------------------------- caller side


class Job:
    """One submitted job. Iterate `events()` until it yields Done or Failed, or call `result()`."""

    def __init__(self, runner: "JobRunner", func: str) -> None:
        self._runner = runner
        self.func = func
        self.log_tail: deque[str] = deque(maxlen=400)
        self._finished = False
        self._final: Optional[Event] = None

    def events(self) -> Iterator[Event]:
        while not self._finished:
            event = self._runner._next_event(self)
            if isinstance(event, Log):
                self.log_tail.append(event.line)
            if isinstance(event, (Done, Failed)):
                self._finished = True
                self._final = event
            yield event

    def result(self, on_event: Optional[Callable[[Event], None]] = None) -> Any:
        """Wait for the job; return its result or raise its EdgeWizardError."""
        for event in self.events():
            if on_event is not None:
                on_event(event)
        if isinstance(self._final, Done):
            return self._final.result
        if isinstance(self._final, Failed):
            raise self._final.error
        raise InternalError("The job ended without a result.")

    def cancel(self, wait: bool = False) -> None:
        self._runner.cancel(wait)

    @property
    def finished(self) -> bool:
        return self._finished


class JobRunner:
    """A warm worker process and the one job it is running."""

    def __init__(self, env: Optional[dict] = None) -> None:
        self._ctx = multiprocessing.get_context("spawn")
        self._proc = None
        self._conn = None
        self._job: Optional[Job] = None
        self._cancelled = False
        self._lock = threading.Lock()
        self._env = env or {}
        self._tmp = None  # the worker's temp folder, inside the session's
        self._killed = False  # cancel() killed the worker: never hand it another job

    # -- lifecycle
    def _ensure_worker(self) -> None:
        # A killed worker can look alive for a moment (not yet reaped), and a cancel can race with the
        # job's own end (its result already on the way): either way, never reuse a worker cancel() killed.
        if self._proc is not None and self._proc.is_alive() and not self._killed:
            return
        self._close_worker()
        self._killed = False
        parent, child = self._ctx.Pipe(duplex=True)
        self._tmp = tempdirs.mkdtemp("worker-")
        # Set in the worker before it imports TensorFlow (whose converters write temp files too).
        env = {**_WORKER_ENV, **tempdirs.child_env(self._tmp), **self._env}
        self._proc = self._ctx.Process(target=_worker_main, args=(child, env), name="edgewizard-worker", daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent

    def _close_worker(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(timeout=10)
        if self._tmp is not None:
            # What a killed worker was writing (a cut model, a converter's scratch files) goes with it.
            shutil.rmtree(self._tmp, ignore_errors=True)
        self._proc = None
        self._conn = None
        self._tmp = None

    @property
    def worker_pid(self) -> Optional[int]:
        return self._proc.pid if self._proc is not None and self._proc.is_alive() else None

    def warm_up(self) -> None:
        """Start the worker and import TensorFlow there in the background (no wait)."""
        self.submit("edgewizard.core.jobs:_import_heavy")

    def shutdown(self) -> None:
        with self._lock:
            if self._conn is not None and self._proc is not None and self._proc.is_alive() and self._job is None:
                try:
                    self._conn.send(None)
                    self._proc.join(timeout=5)
                except OSError:
                    pass
            self._close_worker()
            self._job = None

    def __enter__(self) -> "JobRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()

    # -- jobs
    def submit(self, func: str, *args, **kwargs) -> Job:
        """Start `func(*args, **kwargs)` in the worker. A still-running earlier job is waited for
        only if it is a warm-up; otherwise submitting while busy is a programming error."""
        with self._lock:
            if self._job is not None and not self._job.finished:
                if self._job.func == "edgewizard.core.jobs:_import_heavy":
                    warm = self._job
                else:
                    raise InternalError("A job is already running; wait for it or cancel it first.")
            else:
                warm = None
        if warm is not None:
            try:
                warm.result()
            except EdgeWizardError:
                pass
        with self._lock:
            self._ensure_worker()
            self._cancelled = False
            job = Job(self, func)
            self._job = job
            try:
                self._conn.send((func, args, kwargs))
            except (OSError, ValueError) as exc:
                self._job = None
                self._close_worker()
                raise InternalError(f"Could not hand the job to the worker process ({exc}).") from exc
            return job

    def run(self, func: str, *args, on_event: Optional[Callable[[Event], None]] = None, **kwargs) -> Any:
        return self.submit(func, *args, **kwargs).result(on_event)

    def cancel(self, wait: bool = False) -> None:
        """Kill the worker if a job is running; the job then fails with Cancelled. `wait`: return once
        it is gone (its file locks released, at most 5 s), for a caller that tidies up what it left
        (remove_partials) at once; a GUI thread does not wait. Reaping and removing its temp folder
        stay with the job's thread (_close_worker)."""
        with self._lock:
            if self._job is None or self._job.finished or self._proc is None:
                return
            self._cancelled = True
            self._killed = True
            proc = self._proc
        proc.kill()
        if wait:
            multiprocessing.connection.wait([proc.sentinel], timeout=5)

    def _next_event(self, job: Job) -> Event:
        conn = self._conn
        try:
            if conn is None:
                raise EOFError
            message = conn.recv()
        except (EOFError, OSError):
            return self._worker_gone(job)
        kind = message[0]
        if kind == "progress":
            return Progress(message[1], message[2])
        if kind == "log":
            return Log(message[1])
        with self._lock:
            self._job = None
        if kind == "done":
            return Done(message[1])
        return Failed(EdgeWizardError.from_dict(message[1]))

    def _worker_gone(self, job: Job) -> Failed:
        with self._lock:
            cancelled = self._cancelled
            proc = self._proc
            self._job = None
        code = None
        if proc is not None:
            proc.join(timeout=10)
            code = proc.exitcode
        with self._lock:
            self._close_worker()
        if cancelled:
            return Failed(Cancelled("Cancelled."))
        how = describe_exit(code)
        name = job.func.rsplit(":", 1)[-1].lstrip("_").removesuffix("_plan")
        return Failed(
            InternalError(
                f"The worker process stopped unexpectedly ({how}) while running '{name}'; EdgeWizard "
                "starts a fresh one for the next step (if this repeats with the same model, please report it "
                "with the log).",
                "\n".join(job.log_tail),
            )
        )


def describe_exit(code: Optional[int], unknown: str = "no exit status") -> str:
    """A child process's exit status in words: "killed by SIGABRT", "exit code 3"."""
    if code is None:
        return unknown
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


# Quiet TensorFlow's C++ start-up chatter and oneDNN notices; keep warnings and errors.
_WORKER_ENV = {"TF_CPP_MIN_LOG_LEVEL": "1", "PYTHONUNBUFFERED": "1"}

# ---------------------------------------------------------------- worker side


def _import_heavy() -> None:
    import tensorflow  # noqa: F401  (warm-up: pay TensorFlow's import once, before it is needed)

    # What the import made lives as long as the worker: put it out of the collector's sight, so the
    # collection after each job (in _worker_main) walks only what jobs made (~3x quicker, measured).
    gc.freeze()


def _resolve(func: str) -> Callable:
    module_name, _, attr = func.partition(":")
    if not module_name.startswith("edgewizard.") and not module_name.startswith("tests."):
        raise InternalError(f"Refusing to run {func!r}: only EdgeWizard's own steps run in the worker.")
    return getattr(importlib.import_module(module_name), attr)


def _worker_main(conn, env: dict) -> None:
    os.environ.update(env)
    tempdirs.use_in_this_process()
    from .privacy import block_vendor_telemetry

    block_vendor_telemetry()  # before any step can import OpenVINO or NNCF
    # Ctrl-C in a terminal reaches the whole process group; the caller decides (it cancels us).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    send_lock = threading.Lock()

    def send(message) -> None:
        with send_lock:
            conn.send(message)

    _forward_output(send)

    def progress(fraction: Optional[float], message: str = "") -> None:
        send(("progress", None if fraction is None else float(fraction), str(message)))

    served = 0
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            break
        if request is None:
            break
        func, args, kwargs = request
        try:
            fn = _resolve(func)
            if "progress" in inspect.signature(fn).parameters:
                kwargs = dict(kwargs, progress=progress)
            result = fn(*args, **kwargs)
        except EdgeWizardError as exc:
            _flush_output()
            send(("error", exc.to_dict()))
        except MemoryError:
            _flush_output()
            send(("error", InternalError("The step ran out of memory.", traceback.format_exc()).to_dict()))
        except BaseException as exc:  # noqa: BLE001 - everything else is our bug, reported as such
            _flush_output()
            detail = traceback.format_exc()
            send(("error", InternalError(f"Unexpected error in the worker: {type(exc).__name__}: {exc}", detail).to_dict()))
        else:
            _flush_output()
            try:
                send(("done", result))
            except Exception as exc:  # an unpicklable result is our bug
                send(("error", InternalError(f"Could not return the result: {exc}").to_dict()))
        # TensorFlow and Keras objects sit in reference cycles Python's collector seldom reaches by
        # itself: a warm worker grew ~0.5 MB per converted model, half that when collected after each
        # job (tests/bench/longrun_batch.py). Once the answer is sent, so the caller does not wait;
        # not after a worker's first job, so a one-job command (edgewizard inspect) exits at once.
        result = None
        served += 1
        if served > 1:
            gc.collect()


_pumps: list[threading.Thread] = []


def _forward_output(send: Callable) -> None:
    """Send the worker's stdout/stderr (C++ logging included) to the caller as Log events."""
    read_fd, write_fd = os.pipe()
    for fd in (1, 2):
        os.dup2(write_fd, fd)
    os.close(write_fd)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)

    def pump() -> None:
        with os.fdopen(read_fd, "rb", buffering=0) as pipe:
            pending = b""
            while True:
                chunk = pipe.read(65536)
                if not chunk:
                    return
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    try:
                        send(("log", raw.decode("utf-8", "replace")))
                    except (OSError, ValueError):
                        return

    t = threading.Thread(target=pump, name="edgewizard-output", daemon=True)
    t.start()
    _pumps.append(t)


def _flush_output() -> None:
    # Give the pump a moment so log lines precede the result they belong to.
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    import time

    time.sleep(0.02)
