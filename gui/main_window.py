"""The main window: the step list, the pages, Back/Next, the status bar, drag-and-drop of models,
and the one place unexpected errors from any thread are shown (on the page in view)."""
from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow, QMessageBox,
                               QPushButton, QStackedWidget, QVBoxLayout, QWidget)

from edgewizard.core.errors import InternalError

from .jobs_qt import JobController
from .pages.base import WizardPage
from .pages.convert_page import ConvertPage
from .pages.bench_page import BenchmarkPage
from .pages.verify_page import VerifyPage
from .pages.model_page import ModelPage
from .pages.nodes_page import NodesPage
from .pages.target_page import TargetPage
from .settings import Settings
from .welcome import maybe_show_welcome
from .state import STEPS, WizardState


class ErrorSink(QObject):
    """Unexpected exceptions from any thread arrive here and are shown on the GUI thread."""

    error = Signal(object)

    def install(self) -> None:
        self._old_hook, self._old_thread_hook = sys.excepthook, threading.excepthook
        sys.excepthook = lambda t, v, tb: self.error.emit(v)
        threading.excepthook = lambda args: self.error.emit(args.exc_value)

    def uninstall(self) -> None:
        if hasattr(self, "_old_hook"):
            sys.excepthook, threading.excepthook = self._old_hook, self._old_thread_hook


PREFERRED = QSize(1280, 860)  # a first start's size where the screen has room for it
FRAME = QSize(16, 48)  # what the window manager adds around the window: borders and a title bar


def fitting_size(available: QSize, wanted: Optional[QSize] = None) -> QSize:
    """The window's size on a screen with `available` room (its panels left out): `wanted` (a saved size,
    else PREFERRED), shrunk so that the window and its title bar fit (1366×768 laptops included)."""
    wanted = wanted or PREFERRED
    return QSize(min(wanted.width(), available.width() - FRAME.width()),
                 min(wanted.height(), available.height() - FRAME.height()))


class MainWindow(QMainWindow):
    def __init__(self, settings: Optional[Settings] = None, jobs: Optional[JobController] = None,
                 welcome: bool = True) -> None:
        """`welcome=False`: never show the first-run welcome (tests, figure scripts, the self-test)."""
        super().__init__()
        self._welcome = welcome
        self._ask_before_quit = True  # False once the session is ending (SIGTERM)
        self.setWindowTitle("EdgeWizard")
        self.setAcceptDrops(True)
        self.settings = settings or Settings()
        self.state = WizardState(self)
        self.jobs = jobs or JobController(self)
        self.sink = ErrorSink(self)
        self.sink.error.connect(self._unexpected)

        self.steps = QListWidget(self)
        self.steps.setAccessibleName("Steps")
        self.steps.setFixedWidth(170)
        self.steps.setStyleSheet("QListWidget{font-size:14px;} QListWidget::item{padding:8px;}")
        self.stack = QStackedWidget(self)
        self.pages: list[WizardPage] = [
            cls(self.state, self.jobs, self.settings, self)
            for cls in (ModelPage, NodesPage, TargetPage, ConvertPage, VerifyPage, BenchmarkPage)
        ]
        for i, page in enumerate(self.pages):
            self.stack.addWidget(page)
            self.steps.addItem(QListWidgetItem(f"{i + 1}  {page.step}"))
        self.back = QPushButton("← &Back", self)
        self.next = QPushButton("&Next →", self)
        self.reason = QLabel(self)
        self.reason.setStyleSheet("color:#8a4b00;")
        nav = QHBoxLayout()
        nav.addWidget(self.back)
        nav.addWidget(self.reason, 1)
        nav.addWidget(self.next)
        right = QVBoxLayout()
        right.addWidget(self.stack, 1)
        right.addLayout(nav)
        central = QWidget(self)
        row = QHBoxLayout(central)
        row.addWidget(self.steps)
        row.addLayout(right, 1)
        self.setCentralWidget(central)
        self.runtimes = QLabel(self)
        self.statusBar().addPermanentWidget(self.runtimes)

        self.steps.currentRowChanged.connect(self._step_clicked)
        self.back.clicked.connect(lambda: self.go(self.stack.currentIndex() - 1))
        self.next.clicked.connect(lambda: self.go(self.stack.currentIndex() + 1))
        self.state.changed.connect(self._update_steps)
        self.state.modelChanged.connect(self._model_loaded)
        self.jobs.busyChanged.connect(self._busy)
        quit_action = QAction("Quit", self, shortcut=QKeySequence.Quit, triggered=self.close)
        self.addAction(quit_action)
        for i in range(len(self.pages)):
            self.addAction(QAction(self, shortcut=QKeySequence(f"Alt+{i + 1}"), triggered=lambda _=False, i=i: self.go(i)))
        self.setTabOrder(self.steps, self.stack)
        self.steps.setCurrentRow(0)
        self._update_steps()
        geometry = self.settings.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is not None:  # a first start, or a size saved on a bigger screen: fit this one
            size = self.size() if geometry is not None else None
            self.resize(fitting_size(screen.availableGeometry().size(), size))

    # -- navigation
    def page(self, step: str) -> WizardPage:
        return self.pages[STEPS.index(step)]

    def why_not(self, index: int) -> Optional[str]:
        step = STEPS[index]
        why = self.state.why_not(step)
        if why is None and index > STEPS.index("Nodes") and self.state.model is not None:
            why = self.page("Nodes").shapes_complete()
        if why is None and step == "Convert":
            why = self.page("Target").missing()
            why = why and f"{why} (step Target)"
        return why

    def go(self, index: int) -> bool:
        if not 0 <= index < len(self.pages):
            return False
        why = self.why_not(index)
        if why:
            self.reason.setText(why)
            self.steps.blockSignals(True)
            self.steps.setCurrentRow(self.stack.currentIndex())
            self.steps.blockSignals(False)
            return False
        self.reason.clear()
        self.stack.setCurrentIndex(index)
        self.steps.blockSignals(True)
        self.steps.setCurrentRow(index)
        self.steps.blockSignals(False)
        self.pages[index].on_enter()
        self._update_nav()
        return True

    def _step_clicked(self, row: int) -> None:
        if row >= 0:
            self.go(row)

    def _update_steps(self) -> None:
        for i in range(len(self.pages)):
            item = self.steps.item(i)
            why = self.why_not(i)
            item.setForeground(Qt.gray if why else Qt.black)
            item.setToolTip(why or "")
        self._update_nav()

    def _update_nav(self) -> None:
        i = self.stack.currentIndex()
        self.back.setEnabled(i > 0)
        self.next.setEnabled(i < len(self.pages) - 1)
        nxt = self.why_not(i + 1) if i + 1 < len(self.pages) else None
        self.next.setToolTip(nxt or "")
        if self.reason.text() and self.why_not(i) is None and not nxt:
            self.reason.clear()

    def _model_loaded(self) -> None:
        if self.state.model is not None:
            self.setWindowTitle(f"EdgeWizard — {Path(self.state.source).name}")

    def _busy(self, busy: bool) -> None:
        self.statusBar().showMessage("Working…" if busy else "Ready", 0 if busy else 3000)

    # -- models from outside
    def open_model(self, path: str) -> None:
        self.go(0)
        self.page("Model").open_model(path)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            self.open_model(files[0])
            event.acceptProposedAction()

    # -- status, errors, closing
    def show_runtimes(self) -> None:
        from edgewizard.core.environment import components

        parts = []
        for c in components():
            mark = "✓" if c.available else "✗"
            parts.append(f"{mark} {c.name}")
        self.runtimes.setText("   ".join(parts))
        self.runtimes.setToolTip("\n".join(f"{c.name}: {'found' if c.available else 'missing — ' + c.hint}" for c in components()))

    def _unexpected(self, error) -> None:
        page = self.stack.currentWidget()
        err = error if hasattr(error, "message") else InternalError(
            f"EdgeWizard hit a bug: {type(error).__name__}: {error}. Please report it.")
        page.banner.show_error(err)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not getattr(self, "_shown_once", False):
            self._shown_once = True
            self.sink.install()
            # After the first paint: the worker imports TensorFlow while the person looks around.
            QTimer.singleShot(0, self.show_runtimes)
            QTimer.singleShot(0, self.jobs.warm_up)
            if self._welcome:
                QTimer.singleShot(0, lambda: maybe_show_welcome(self))  # first start only

    def quit_without_asking(self) -> None:
        """Close as on the window's X, but cancel a running step without asking (the session is ending)."""
        self._ask_before_quit = False
        self.close()

    def closeEvent(self, event) -> None:
        if self._ask_before_quit and self.jobs.busy:  # a step a page started (the warm-up is not one)
            answer = QMessageBox.question(self, "Quit EdgeWizard?",
                                          "A step is still running. Cancel it and quit?",
                                          QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
            if answer != QMessageBox.Yes:
                event.ignore()
                return
        self.page("Benchmark").shutdown()
        self.settings.set_geometry(self.saveGeometry())
        self.settings.sync()
        self.jobs.shutdown()
        self.sink.uninstall()
        event.accept()
