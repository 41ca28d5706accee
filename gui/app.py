"""Starts the wizard window: `edgewizard` or `edgewizard MODEL`."""
from __future__ import annotations

import sys
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow
    from .netron_scheme import prepare_web_engine

    prepare_web_engine()  # before the QApplication: the graph view's URL scheme and shared GL contexts
    argv = list(sys.argv[1:] if argv is None else argv)
    app = QApplication.instance() or QApplication([sys.argv[0], *[a for a in argv if a.startswith("-")]])
    app.setApplicationName("EdgeWizard")
    app.setOrganizationName("EdgeWizard")
    window = MainWindow()
    window.show()
    models = [a for a in argv if not a.startswith("-")]
    if models:
        window.open_model(models[0])
    _end_on_sigterm(window)
    code = app.exec()
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # its handler holds the window, which must go now
    # Tear Qt down while Python is still whole: leaving it to interpreter finalization has crashed
    # in PySide6's object deallocation ("none_dealloc") in our measurements.
    del window
    app.shutdown()
    from edgewizard.core import tempdirs

    tempdirs.cleanup()  # the worker is gone (the window stopped it): its session's temp folder goes too
    return code


def _end_on_sigterm(window) -> None:
    """A logout or `kill` (SIGTERM) closes the window as its X does, minus the question: the running step
    is cancelled, settings saved, the worker and temp folder removed. Python runs signal handlers only
    between bytecodes, so a timer wakes it while Qt's loop waits."""
    import signal

    from PySide6.QtCore import QTimer

    signal.signal(signal.SIGTERM, lambda signum, frame: QTimer.singleShot(0, window.quit_without_asking))
    window._signal_wakeup = QTimer(window)  # a no-op every 250 ms: cheap, and needs no platform wakeup fd
    window._signal_wakeup.timeout.connect(lambda: None)
    window._signal_wakeup.start(250)
