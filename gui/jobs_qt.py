"""The one Qt adapter for core.jobs: runs a job's event loop on a QThread and re-emits its events
as signals on the GUI thread. No page starts threads of its own (STYLE.md, habit 4)."""
from __future__ import annotations

import threading
from typing import Any, Optional

from PySide6.QtCore import QObject, QThread, Signal, Slot

from edgewizard.core.errors import Cancelled, EdgeWizardError, InternalError
from edgewizard.core.jobs import Done, Failed, JobRunner, Log, Progress


# The core steps the GUI runs in the worker.
INSPECT = "edgewizard.core.steps:inspect"
CONVERT = "edgewizard.core.convert.run:convert"


UNKNOWN = -1.0  # progress fraction when a step cannot tell how far it is

# Never send Python None through a queued signal: with PySide6 on Python 3.11 that has ended in
# "none_dealloc" crashes at exit (a reference to None lost per emission). Fractions are floats
# (UNKNOWN for "no figure") and results travel in a one-element tuple.


class _JobThread(QThread):
    progress = Signal(float, str)  # fraction 0..1, or UNKNOWN; message
    log = Signal(str)
    done = Signal(object)  # (result,)
    failed = Signal(object)  # EdgeWizardError

    def __init__(self, runner: JobRunner, func: str, args: tuple, kwargs: dict, parent=None) -> None:
        super().__init__(parent)
        self._runner, self._func, self._args, self._kwargs = runner, func, args, kwargs
        self._cancel_requested = threading.Event()
        self._job = None

    def cancel(self) -> None:
        self._cancel_requested.set()
        job = self._job
        if job is not None:
            job.cancel()

    def run(self) -> None:  # on the thread: submit (may wait for the warm-up) and pump events
        try:
            self._job = self._runner.submit(self._func, *self._args, **self._kwargs)
            if self._cancel_requested.is_set():
                self._job.cancel()
            for event in self._job.events():
                if isinstance(event, Progress):
                    self.progress.emit(UNKNOWN if event.fraction is None else event.fraction, event.message)
                elif isinstance(event, Log):
                    self.log.emit(event.line)
                elif isinstance(event, Done):
                    self.done.emit((event.result,))
                elif isinstance(event, Failed):
                    self.failed.emit(event.error)
        except EdgeWizardError as exc:
            self.failed.emit(exc)
        except Exception as exc:  # noqa: BLE001 - our bug, shown on the page like any other error
            self.failed.emit(InternalError(f"Could not run the step: {type(exc).__name__}: {exc}"))


class JobController(QObject):
    """Owns the warm worker. `start()` runs one job at a time; its signals arrive on the GUI thread."""

    started = Signal(str)  # the job's function name
    progress = Signal(float, str)  # fraction 0..1, or UNKNOWN (negative); message
    log = Signal(str)
    finished = Signal(str, object)  # func, result
    failed = Signal(str, object)  # func, EdgeWizardError (Cancelled when cancelled)
    busyChanged = Signal(bool)

    def __init__(self, parent=None, runner: Optional[JobRunner] = None) -> None:
        super().__init__(parent)
        self.runner = runner or JobRunner()
        self._thread: Optional[_JobThread] = None
        self._func = ""

    @property
    def busy(self) -> bool:
        return self._thread is not None

    @property
    def current(self) -> str:
        return self._func if self.busy else ""

    def warm_up(self) -> None:
        """Start the worker and import TensorFlow there, without waiting (called after the window shows)."""
        if not self.busy:
            threading.Thread(target=self._warm, name="edgewizard-warm-up", daemon=True).start()

    def _warm(self) -> None:
        try:
            self.runner.warm_up()
        except EdgeWizardError:
            pass  # the next real job starts a fresh worker and reports any problem

    def start(self, func: str, *args: Any, **kwargs: Any) -> None:
        if self.busy:
            raise InternalError("Another step is still running; wait for it or cancel it first.")
        self._func = func
        thread = _JobThread(self.runner, func, args, kwargs, self)
        thread.progress.connect(self.progress)
        thread.log.connect(self.log)
        # Bound methods of this GUI-thread object: the connections are queued to the GUI thread.
        thread.done.connect(self._on_done)
        thread.failed.connect(self._on_failed)
        self._thread = thread
        thread.start()
        self.started.emit(func)
        self.busyChanged.emit(True)

    @Slot(object)
    def _on_done(self, boxed: Any) -> None:
        self._end(True, boxed[0])

    @Slot(object)
    def _on_failed(self, error: Any) -> None:
        self._end(False, error)

    def _end(self, ok: bool, payload: Any) -> None:
        thread = self._thread
        if thread is None:
            return
        thread.wait(10000)
        self._thread = None
        func = self._func
        self.busyChanged.emit(False)
        (self.finished if ok else self.failed).emit(func, payload)
        thread.deleteLater()

    def cancel(self) -> None:
        if self._thread is not None:
            self._thread.cancel()

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Cancel what runs, wait for its thread, stop the worker. Used when the window closes."""
        thread = self._thread
        if thread is not None:
            thread.cancel()
            thread.wait(timeout_ms)
        self._thread = None
        self.runner.shutdown()


def is_cancel(error: Any) -> bool:
    return isinstance(error, Cancelled)
