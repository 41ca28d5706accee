"""The Verify step's way into the quantization doctor: for the int8 model selected in the results, find the
layers that lose accuracy (core/quant/layers.py, in the worker, on the data the page verified with) and
show them on the graph (the Nodes step); and open the accuracy-budget search (budget_dialog.py)."""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from edgewizard.core.errors import EdgeWizardError
from edgewizard.core.quant.results import METRIC, METRIC_NOTE, LayerReport
from edgewizard.core.verify import VerifyData

from ..jobs_qt import is_cancel
from .budget_dialog import BudgetDialog, Search, int8_targets
from .plain_words import plain

PER_LAYER = "edgewizard.core.quant.layers:per_layer"
CONVERT_AGAIN = "Convert again to make the files with this choice, then verify and benchmark the new files."
FIND_TIP = ("Runs the selected int8 model and the original layer by layer on the data you verified with, and "
            "measures how much each layer adds to the error.\n\n" + METRIC_NOTE)


def is_int8(check) -> bool:
    """An int8 TensorFlow Lite or OpenVINO INT8 model the per-layer analysis can open."""
    return check is not None and check.precision == "int8" and check.runtime in ("litert", "openvino")


class QuantDoctor(QWidget):
    """A row of the Verify step. `artifact()` gives the selected row's ArtifactCheck (or None); `data()` the
    data and its description the page verified with (None when it has not). `goToStep(step, note)` asks the
    window to show a step, with a note for its banner."""

    goToStep = Signal(str, str)

    def __init__(self, page, artifact: Callable[[], object], data: Callable[[], Optional[tuple[VerifyData, object]]]) -> None:
        super().__init__(page)
        self.page, self.state, self.jobs, self.settings = page, page.state, page.jobs, page.settings
        self._artifact, self._data = artifact, data
        self._job = None
        self._last_search: Optional[Search] = None
        self.dialog: Optional[BudgetDialog] = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.find_button = QPushButton("Find the layers that lose accuracy", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.hide()
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(160)
        self.progress.hide()
        self.graph_button = QPushButton("Show on the graph", self)
        self.graph_button.setToolTip("Opens the Nodes step with the layers coloured by how much accuracy they lose.")
        self.budget_button = QPushButton("Fit to an accuracy budget…", self)
        self.budget_button.setToolTip("Finds which layers to keep in float so that the int8 model loses no more "
                                      "accuracy than you allow.")
        for w in (self.find_button, self.cancel_button, self.progress, self.graph_button, self.budget_button):
            row.addWidget(w)
        row.addStretch(1)
        outer.addLayout(row)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.status.hide()
        outer.addWidget(self.status)

        self.find_button.clicked.connect(self.find_layers)
        self.cancel_button.clicked.connect(lambda: self._job is not None and self._job.cancel())
        self.graph_button.clicked.connect(lambda: self.goToStep.emit("Nodes", ""))
        self.budget_button.clicked.connect(self.open_budget)
        self.jobs.busyChanged.connect(lambda busy: self.update_buttons())
        for signal in (self.state.layersChanged, self.state.changed):
            signal.connect(self.update_buttons)
        # The page calls update_buttons() once its results table exists.

    def update_buttons(self) -> None:
        """What can be done with the row selected now (nothing while a step runs)."""
        free, int8 = not self.jobs.busy, bool(int8_targets(self.state.plan))
        self.setVisible(int8)  # only int8 models lose accuracy layer by layer
        check = self._artifact()
        self.find_button.setEnabled(free and is_int8(check) and self._data() is not None)
        self.find_button.setToolTip(FIND_TIP if is_int8(check) or check is None else
                                    "Select an int8 model in the results: only int8 models lose accuracy this way.")
        report = self.state.layers()
        self.graph_button.setEnabled(report is not None)
        self.budget_button.setEnabled(free and int8)
        if self._job is None:
            self._describe(report)

    def _describe(self, report: Optional[LayerReport]) -> None:
        if report is None or not report.rows:
            self.status.hide()
            return
        worst = report.rows[0]
        self.status.setText(f"In {report.file}, <b>{worst.label}</b> loses the most accuracy ({METRIC} "
                            f"{worst.error:.3g}, of which it adds {worst.added:.3g}). Show on the graph to see "
                            "every layer and keep the worst in float.")
        self.status.show()

    # -- per-layer analysis
    def find_layers(self) -> None:
        check, given = self._artifact(), self._data()
        if not is_int8(check) or given is None:
            return
        if self.jobs.busy:
            self.page.banner.show_message("Another step is still running; wait for it or cancel it first.", "warning")
            return
        data = given[0]
        self.page.banner.clear()
        plan = self.state.plan
        self._running(True)
        self.status.setText(f"Comparing every layer of {check.file} with the original…")
        self.status.show()
        job = self._job = self.jobs.start(PER_LAYER, plan.source.path, plan.source.load_options, plan.selection,
                                          check.path, data)
        job.progress.connect(self._on_progress)
        job.done.connect(self._on_done)
        job.failed.connect(self._on_failed)

    def _running(self, on: bool) -> None:
        self.cancel_button.setVisible(on)
        self.progress.setVisible(on)
        self.progress.setValue(0)

    def _on_progress(self, fraction: float, message: str) -> None:
        if message:
            self.status.setText(plain(message))
        if fraction >= 0:
            self.progress.setValue(int(1000 * fraction))

    def _on_done(self, report: LayerReport) -> None:
        self._job = None
        self._running(False)
        self.state.set_layers(report)
        self.update_buttons()

    def _on_failed(self, error) -> None:
        self._job = None
        self._running(False)
        self.status.hide()
        if not is_cancel(error):
            why = plain(error.message) if isinstance(error, EdgeWizardError) else str(error)
            details = error.details if isinstance(error, EdgeWizardError) else ""
            self.page.banner.show_message(f"The layers could not be compared. {why}", "error", details)
        self.update_buttons()

    # -- accuracy budget
    def open_budget(self) -> None:
        given = self._data()
        labelled = given is not None and given[1].labelled
        self.dialog = BudgetDialog(self.state, self.jobs, self.settings, given[0] if labelled else None,
                                   given[1].description if labelled else "", self._last_search, self.window())
        self.dialog.searched.connect(self._searched)
        self.dialog.adopted.connect(self._adopt)
        self.dialog.finished.connect(lambda *_: setattr(self, "dialog", None))
        self.dialog.resize(min(1100, self.window().width() - 40), min(640, self.window().height() - 40))
        self.dialog.open()

    def _searched(self, search: Search) -> None:
        self._last_search = search

    def _adopt(self, nodes) -> None:
        self.state.set_keep_float(tuple(nodes))
        kept = f"{', '.join(nodes)} will be kept in float." if nodes else "No layer will be kept in float."
        self.goToStep.emit("Convert", f"{kept} {CONVERT_AGAIN}")
