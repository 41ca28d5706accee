"""One core function run off the GUI thread for the NCS2 runtime setup (a survey, a check, making an
environment): ``fn(progress, cancelled)`` with a cancel flag, its progress, result and failure as signals on the
GUI thread. A task still running when its dialog closes is kept alive, unheard, until it ends."""
from __future__ import annotations

import threading
from typing import Callable

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import QWidget

_orphans: set = set()  # tasks still running after their dialog closed, kept until they end


class SetupTask(QThread):
    """Runs ``fn(progress, cancelled)``; ``listening`` is False once its dialog closed (what it reports then
    goes nowhere)."""

    progressed = Signal(object, str)
    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(self, fn: Callable, parent: QWidget) -> None:
        super().__init__(parent)
        self.fn = fn
        self.cancel_event = threading.Event()
        self.listening = True

    def run(self) -> None:
        try:
            result = self.fn(lambda f, m="": self.progressed.emit(f, m), self.cancel_event.is_set)
        except BaseException as exc:  # every failure reaches the dialog, none kills the thread silently
            self.failed.emit(exc)
        else:
            self.succeeded.emit(result)

    def release(self) -> None:
        """Stop listening; a task still running is kept until it ends (a QThread must not be destroyed while
        it runs)."""
        self.listening = False
        if self.isRunning():
            self.setParent(None)
            _orphans.add(self)
            self.finished.connect(lambda t=self: _orphans.discard(t))
