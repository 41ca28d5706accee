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
    code = app.exec()
    # Tear Qt down while Python is still whole: leaving it to interpreter finalization has crashed
    # in PySide6's object deallocation ("none_dealloc") in our measurements.
    del window
    app.shutdown()
    from edgewizard.core import tempdirs

    tempdirs.cleanup()  # the worker is gone (the window stopped it): its session's temp folder goes too
    return code
