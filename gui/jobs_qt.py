"""The one Qt adapter for core.jobs. `JobController.start()` hands back a `Job`: an object with its own
signals (progress, log, done, failed, ended) that only the page which started it listens to. Every step
(inspect, validate, convert, verify, bench discovery) is started, followed, cancelled and failed this way;
no page filters a broadcast by a function name (STYLE.md, habit 4: no page starts threads of its own).

Heavy steps run in the warm worker process (core/jobs.py), one at a time. Light calls that must not queue
behind TensorFlow's warm-up (device discovery runs the bench agent in its own subprocess) run on a thread of
their own with `call()`, through the same Job object."""
from __future__ import annotations

import threading
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QThread, Signal, Slot

from edgewizard.core.errors import Cancelled, EdgeWizardError, InternalError
from edgewizard.core.jobs import Done, Failed, JobRunner, Log, Progress

# The core steps the GUI runs in the worker: each takes a part of the plan (core/plan.py).
INSPECT = "edgewizard.core.steps:inspect"
VALIDATE = "edgewizard.core.steps:validate_plan"
CONVERT = "edgewizard.core.steps:convert_plan"
VERIFY = "edgewizard.core.verify:verify"

UNKNOWN = -1.0  # progress fraction when a step cannot tell how far it is

# Never send Python None through a queued signal: with PySide6 on Python 3.11 that has ended in
# "none_dealloc" crashes at exit (a reference to None lost per emission). Fractions are floats
# (UNKNOWN for "no figure") and results travel in a one-element tuple.


class Job(QObject):
    """One step, started by one page. Its signals arrive on the GUI thread; `ended` comes last, after
    `done` or `failed` (a Cancelled error when it was cancelled)."""

    progress = Signal(float, str)  # fraction 0..1, or UNKNOWN; message
    log = Signal(str)
    done = Signal(object)  # the step's result
    failed = Signal(object)  # EdgeWizardError
    ended = Signal()

    def __init__(self, func: str, parent=None) -> None:
        super().__init__(parent)
        self.func = func
        self.name = func.rsplit(":", 1)[-1].lstrip("_").removesuffix("_plan")
        self.result: Any = None
        self.error: Optional[EdgeWizardError] = None
        self.running = True
        self.worker = True  # a step of the worker process; False for a light call() next to it
        self._cancel: Callable[[], None] = lambda: None

    @property
    def cancelled(self) -> bool:
        return isinstance(self.error, Cancelled)

    def cancel(self) -> None:
        if self.running:
            self._cancel()

    # Bound methods of this GUI-thread object: the thread's signals reach them queued, on the GUI thread.
    @Slot(object)
    def _thread_done(self, boxed: Any) -> None:
        self._end(None, boxed[0])

    @Slot(object)
    def _thread_failed(self, error: Any) -> None:
        self._end(error)

    def _end(self, error: Any, result: Any = None) -> None:
        self.parent()._end(self, error, result)


class _Thread(QThread):
    """Runs one job off the GUI thread and re-emits its events as signals."""

    progress = Signal(float, str)
    log = Signal(str)
    done = Signal(object)  # (result,)
    failed = Signal(object)

    def __init__(self, body: Callable[["_Thread"], None], parent=None) -> None:
        super().__init__(parent)
        self._body = body
        self.cancel_requested = threading.Event()

    def run(self) -> None:
        try:
            self._body(self)
        except EdgeWizardError as exc:
            self.failed.emit(exc)
        except Exception as exc:  # noqa: BLE001 - our bug, shown on the page like any other error
            self.failed.emit(InternalError(f"Could not run the step: {type(exc).__name__}: {exc}"))


def _pump_worker(runner: JobRunner, func: str, args: tuple, kwargs: dict, holder: dict) -> Callable[[_Thread], None]:
    def body(thread: _Thread) -> None:  # submit (may wait for the warm-up) and pump the worker's events
        job = runner.submit(func, *args, **kwargs)
        holder["job"] = job
        if thread.cancel_requested.is_set():
            job.cancel()
        for event in job.events():
            if isinstance(event, Progress):
                thread.progress.emit(UNKNOWN if event.fraction is None else event.fraction, event.message)
            elif isinstance(event, Log):
                thread.log.emit(event.line)
            elif isinstance(event, Done):
                thread.done.emit((event.result,))
            elif isinstance(event, Failed):
                thread.failed.emit(event.error)
    return body


class JobController(QObject):
    """Owns the warm worker and hands out Jobs. Pages follow their own Job; the signals here are for
    observers that watch every step (the status bar, the self-test, tests)."""

    busyChanged = Signal(bool)  # a worker step started or ended
    started = Signal(object)  # Job (worker steps only: a light call() is its caller's business)
    finished = Signal(object)  # worker Job that succeeded (observers only)
    failed = Signal(object)  # worker Job that failed or was cancelled (observers only)
    progress = Signal(float, str)  # of the running worker step (observers only)

    def __init__(self, parent=None, runner: Optional[JobRunner] = None) -> None:
        super().__init__(parent)
        self.runner = runner or JobRunner()
        self._job: Optional[Job] = None
        self._threads: set[_Thread] = set()

    @property
    def busy(self) -> bool:
        return self._job is not None

    def warm_up(self) -> None:
        """Start the worker and import TensorFlow there, without waiting (called after the window shows)."""
        if not self.busy:
            threading.Thread(target=self._warm, name="edgewizard-warm-up", daemon=True).start()

    def _warm(self) -> None:
        try:
            self.runner.warm_up()
        except EdgeWizardError:
            pass  # the next real job starts a fresh worker and reports any problem

    def start(self, func: str, *args: Any, **kwargs: Any) -> Job:
        """Run `func` in the worker process (one step at a time)."""
        if self.busy:
            raise InternalError("Another step is still running; wait for it or cancel it first.")
        job = Job(func, self)
        holder: dict = {}
        thread = _Thread(_pump_worker(self.runner, func, args, kwargs, holder), self)

        def cancel() -> None:
            thread.cancel_requested.set()
            if holder.get("job") is not None:
                holder["job"].cancel()

        job._cancel = cancel
        self._job = job
        thread.progress.connect(self.progress)
        self._run(job, thread, worker=True)
        self.busyChanged.emit(True)
        return job

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Job:
        """Run a light in-process function (no TensorFlow, no OpenVINO) on a thread of its own, next to
        whatever the worker is doing. Cancelling only drops its answer."""
        job = Job(f"{fn.__module__}:{fn.__name__}", self)

        def body(thread: _Thread) -> None:
            result = fn(*args, **kwargs)
            if not thread.cancel_requested.is_set():
                thread.done.emit((result,))

        thread = _Thread(body, self)

        def cancel() -> None:
            thread.cancel_requested.set()
            self._end(job, Cancelled("Cancelled."))

        job._cancel = cancel
        self._run(job, thread, worker=False)
        return job

    def _run(self, job: Job, thread: _Thread, worker: bool) -> None:
        thread.progress.connect(job.progress)
        thread.log.connect(job.log)
        thread.done.connect(job._thread_done)
        thread.failed.connect(job._thread_failed)
        thread.finished.connect(self._reap)
        job._thread = thread
        job.worker = worker
        self._threads.add(thread)
        thread.start()
        if worker:  # a device discovery finishing must not look like the conversion a test waits for
            self.started.emit(job)

    def _end(self, job: Job, error: Optional[EdgeWizardError], result: Any = None) -> None:
        if not job.running:
            return
        job.running = False
        job.result, job.error = result, error
        if self._job is job:
            job._thread.wait(10000)
            self._job = None
            self.busyChanged.emit(False)
        if error is None:
            job.done.emit(result)
            if job.worker:
                self.finished.emit(job)
        else:
            job.failed.emit(error)
            if job.worker:
                self.failed.emit(job)
        job.ended.emit()

    @Slot()
    def _reap(self) -> None:
        thread = self.sender()
        self._threads.discard(thread)
        if thread is not None:
            thread.deleteLater()

    def cancel(self) -> None:
        """Cancel the running worker step."""
        if self._job is not None:
            self._job.cancel()

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Cancel what runs, wait for its threads, stop the worker. Used when the window closes."""
        if self._job is not None:
            self._job.cancel()
        for thread in list(self._threads):
            thread.cancel_requested.set()
            thread.wait(timeout_ms)
        self._job = None
        self.runner.shutdown()


def is_cancel(error: Any) -> bool:
    return isinstance(error, Cancelled)
