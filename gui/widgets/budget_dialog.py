"""Fit an int8 conversion to an accuracy budget: the person gives labelled data and the largest accuracy
drop they accept; the search (core/quant/budget.py, in the worker) keeps the worst layers in float one at a
time and lists what it tried. The person picks a candidate; "Use this one" puts its layers into the plan's
"keep in float" and the Convert step makes the files again."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDialog, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QProgressBar, QPushButton, QRadioButton,
                               QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from edgewizard.core.devices import device
from edgewizard.core.errors import EdgeWizardError
from edgewizard.core.plan import Plan
from edgewizard.core.quant.results import BudgetResult, Candidate
from edgewizard.core.verify import VerifyData

from ..jobs_qt import is_cancel
from .latency_plots import unit_for, with_unit
from .plain_words import plain

SEARCH = "edgewizard.core.quant.budget:search"
INT8_TARGETS = ("tflite-int8", "edgetpu", "openvino-int8")
COLUMNS = ("Kept in float", "Accuracy", "Drop", "Size", "Ops on the accelerator", "Latency here", "Fits")
MAX_DROP_KEY = "quant/max_drop"
CHOSEN = QColor("#e3f0ff")


def int8_targets(plan: Plan) -> list[str]:
    return [t for t in INT8_TARGETS if t in plan.targets]


def target_name(target: str) -> str:
    """What the person chose on the Target page, in its words (no ids)."""
    if target == "edgetpu":
        return device("edgetpu").title
    return {"tflite-int8": "TensorFlow Lite, full int8", "openvino-int8": "OpenVINO, INT8"}.get(target, target)


def size_text(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def kept_text(c: Candidate) -> str:
    return ", ".join(c.keep_float) if c.keep_float else "nothing (all int8)"


@dataclass(frozen=True)
class Search:
    """A finished search and what it was run for: shown again only for the same model, cut and target."""

    result: BudgetResult
    plan: Plan  # with keep_float cleared: adopting a candidate must not hide the table it came from
    data: VerifyData

    @staticmethod
    def part(plan: Plan) -> Plan:
        return plan.with_options(replace(plan.options, keep_float=())).with_output_dir("")

    def belongs_to(self, plan: Plan) -> bool:
        return self.part(plan) == self.plan


def _left(widget: QWidget) -> QHBoxLayout:
    """A form field at its own width, not stretched across the dialog."""
    row = QHBoxLayout()
    row.addWidget(widget)
    row.addStretch(1)
    return row


class BudgetDialog(QDialog):
    """One search at a time. `searched` carries a finished Search (the Verify step keeps the last one);
    `adopted` a candidate's keep-float nodes, after which the dialog closes."""

    searched = Signal(object)
    adopted = Signal(object)

    def __init__(self, state, jobs, settings, verified: Optional[VerifyData], verified_text: str,
                 last: Optional[Search] = None, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.jobs, self.settings = state, jobs, settings
        self.setWindowTitle("Fit to an accuracy budget")
        self._verified = verified
        self._job = None
        self._search: Optional[Search] = None
        self._plot = None
        outer = QVBoxLayout(self)
        intro = QLabel("Keeps the layers that lose the most accuracy in float, one at a time, until the int8 model "
                       "is as accurate as you ask. Each try is converted and measured on your labelled data; "
                       "it takes a few conversions.", self)
        intro.setWordWrap(True)
        outer.addWidget(intro)
        form = QFormLayout()
        self.target = QComboBox(self)
        for t in int8_targets(state.plan):
            self.target.addItem(target_name(t), t)
        self.target.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        form.addRow("Convert for:", _left(self.target))
        self.data_kind = QButtonGroup(self)
        self.use_verified = QRadioButton(f"What you verified with: {verified_text}" if verified is not None
                                         else "What you verified with (it has no labels)", self)
        self.use_verified.setEnabled(verified is not None)
        self.use_other = QRadioButton("Another file or folder:", self)
        for r in (self.use_verified, self.use_other):
            self.data_kind.addButton(r)
        (self.use_verified if verified is not None else self.use_other).setChecked(True)
        other = QHBoxLayout()
        self.data_path = QLineEdit(self)
        self.data_path.setAccessibleName("Labelled data")
        self.data_path.setPlaceholderText("A .npz with x and y, or a folder with one sub-folder of images per class")
        self.browse = QPushButton("Bro&wse…", self)
        other.addWidget(self.use_other)
        other.addWidget(self.data_path, 1)
        other.addWidget(self.browse)
        data_box = QVBoxLayout()
        data_box.addWidget(self.use_verified)
        data_box.addLayout(other)
        form.addRow("Labelled data:", data_box)
        self.max_drop = QDoubleSpinBox(self)
        self.max_drop.setRange(0.0, 50.0)
        self.max_drop.setDecimals(1)
        self.max_drop.setSingleStep(0.5)
        self.max_drop.setSuffix(" points")
        self.max_drop.setMinimumWidth(120)
        self.max_drop.setValue(float(settings.value(MAX_DROP_KEY, 1.0) or 1.0))
        self.max_drop.setToolTip("How many percentage points of accuracy the int8 model may lose against the "
                                 "original: 1 point is 98 % instead of 99 %.")
        form.addRow("Largest accuracy drop allowed:", _left(self.max_drop))
        outer.addLayout(form)

        run = QHBoxLayout()
        self.start_button = QPushButton("&Start", self)
        self.cancel_button = QPushButton("Ca&ncel", self)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.hide()  # shown while the search runs
        run.addWidget(self.start_button)
        run.addWidget(self.cancel_button)
        run.addWidget(self.progress, 1)
        run.addStretch(0)
        outer.addLayout(run)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        outer.addWidget(self.message)

        split = QSplitter(Qt.Horizontal, self)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.setSelectionMode(QTableWidget.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        for c in range(1, len(COLUMNS)):
            header.setSectionResizeMode(c, QHeaderView.ResizeToContents)
        self.table.setAccessibleName("Candidates tried")
        split.addWidget(self.table)
        self.plot_box = QWidget(self)
        plot_layout = QVBoxLayout(self.plot_box)
        plot_layout.setContentsMargins(0, 0, 0, 0)
        legend = QLabel("<span style='color:#1b7a35'>●</span> within the drop you allowed &nbsp; "
                        "<span style='color:#a61b1b'>●</span> loses more &nbsp; ringed: the search's choice", self)
        legend.setStyleSheet("color:#555;")
        plot_layout.addWidget(legend)
        split.addWidget(self.plot_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([720, 340])  # the table's columns need the width; the plot is a glance
        outer.addWidget(split, 1)

        buttons = QHBoxLayout()
        self.note = QLabel(self)  # the selected candidate's note
        self.note.setWordWrap(True)
        self.use_button = QPushButton("&Use this one", self)
        self.use_button.setEnabled(False)
        self.use_button.setToolTip("Keeps this candidate's layers in float and takes you to the Convert step "
                                   "to make the files again.")
        self.close_button = QPushButton("Close", self)
        buttons.addWidget(self.note, 1)
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.close_button)
        outer.addLayout(buttons)

        self.browse.clicked.connect(self._browse)
        self.data_path.textChanged.connect(lambda text: text and self.use_other.setChecked(True))
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(lambda: self._job is not None and self._job.cancel())
        self.close_button.clicked.connect(self.reject)
        self.use_button.clicked.connect(self._use)
        self.table.itemSelectionChanged.connect(self._selected)
        self.max_drop.valueChanged.connect(lambda v: settings.set_value(MAX_DROP_KEY, float(v)))
        self.start_button.setEnabled(self.target.count() > 0)
        if last is not None and last.belongs_to(state.plan):
            self._show(last)
        else:
            self.message.setText(self._ready_text(last))
            self._fill(None)

    def _ready_text(self, last: Optional[Search]) -> str:
        if not self.target.count():
            return "Choose an int8 precision first (step Target): only int8 models lose accuracy this way."
        text = "Choose the labelled data and the drop you accept, then Start."
        if last is not None:
            from ..state import different

            text = f"The last search was {different(last.plan, self.state.plan)}; start again. " + text
        return text

    # -- inputs
    def _browse(self) -> None:
        start = self.settings.last_dir("verify")
        path, _ = QFileDialog.getOpenFileName(self, "Labelled data (.npz with x and y)", start,
                                              "Arrays (*.npz);;All files (*)")
        if not path:
            path = QFileDialog.getExistingDirectory(self, "Folder of images (one sub-folder per class)", start)
        if path:
            self.settings.set_last_dir("verify", str(Path(path).parent))
            self.data_path.setText(path)

    def data(self) -> Optional[VerifyData]:
        if self.use_verified.isChecked():
            return self._verified
        path = self.data_path.text().strip()
        if not path:
            return None
        return VerifyData.from_path(path, self.state.request.options.calibration)

    # -- running
    def start(self) -> None:
        data = self.data()
        if data is None:
            self.message.setText("Choose labelled data first: a .npz with x and y, or a folder of images with one "
                                 "sub-folder per class.")
            return
        if self.jobs.busy:
            self.message.setText("Another step is still running; wait for it or cancel it first.")
            return
        plan = self.state.plan
        target = self.target.currentData()
        work_dir = os.path.join(self.state.output_folder or plan.output_dir, "accuracy budget", target)
        self._fill(None)
        self.message.setText("Starting…")
        self.message.setStyleSheet("")
        self.progress.setValue(0)
        self.progress.show()
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        job = self._job = self.jobs.start(SEARCH, plan.source.path, plan.source.load_options, plan.selection, target,
                                          replace(plan.options, keep_float=()), data, self.max_drop.value(),
                                          work_dir)
        job.progress.connect(self._on_progress)
        job.done.connect(lambda result: self._on_done(Search(result, Search.part(plan), data)))
        job.failed.connect(self._on_failed)

    def _on_progress(self, fraction: float, message: str) -> None:
        self.message.setText(plain(message))
        if fraction >= 0:
            self.progress.setValue(int(1000 * fraction))

    def _ended(self) -> None:
        self._job = None
        self.progress.hide()
        self.start_button.setEnabled(self.target.count() > 0)
        self.cancel_button.setEnabled(False)

    def _on_failed(self, error) -> None:
        self._ended()
        self.progress.setValue(0)
        if is_cancel(error):
            self.message.setText("Cancelled.")
            return
        text = plain(error.message) if isinstance(error, EdgeWizardError) else str(error)
        self.message.setText(f"The search failed. {text}")
        self.message.setStyleSheet("QLabel{background:#fde2e1; color:#6b1010; border-radius:4px; padding:6px;}")

    def _on_done(self, search: Search) -> None:
        self._ended()
        self.progress.setValue(1000)
        self.searched.emit(search)
        if search.belongs_to(self.state.plan):
            self._show(search)
        else:
            self.message.setText(self._ready_text(search))

    # -- showing
    def _show(self, search: Search) -> None:
        self._search = search
        r = search.result
        index = self.target.findData(r.target)
        if index >= 0:
            self.target.setCurrentIndex(index)
        self.max_drop.blockSignals(True)  # the remembered budget is the person's, not the search's
        self.max_drop.setValue(r.max_drop)
        self.max_drop.blockSignals(False)
        colour = "#e6f4ea; color:#0f3d1c" if r.fits else "#fff4d6; color:#5c4400"
        self.message.setStyleSheet(f"QLabel{{background:{colour}; border-radius:4px; padding:6px;}}")
        self.message.setText(f"<b>{plain(r.message)}</b><br>The original: {100 * r.float_accuracy:.2f} % on "
                             f"{r.data}.")
        self._fill(r)

    def _fill(self, r: Optional[BudgetResult]) -> None:
        cands = r.candidates if r is not None else ()
        self.table.setRowCount(len(cands))
        for row, c in enumerate(cands):
            ops = f"{c.accelerator_ops} of {c.total_ops}" if c.accelerator_ops is not None and c.total_ops else "—"
            values = (kept_text(c), f"{100 * c.accuracy:.2f} %", f"{c.drop:.2f} pt", size_text(c.size_bytes), ops,
                      with_unit(c.latency_ms), "✓" if c.fits else "✗")
            for col, v in enumerate(values):
                item = QTableWidgetItem(v)
                if col == 0:
                    item.setToolTip(plain(c.note or c.label))
                if col == len(values) - 1:
                    item.setTextAlignment(Qt.AlignCenter)
                    item.setForeground(QColor("#1b7a35" if c.fits else "#a61b1b"))
                    item.setToolTip("Within the drop you allowed." if c.fits else "Loses more than you allowed.")
                if row == r.chosen:
                    item.setBackground(CHOSEN)
                self.table.setItem(row, col, item)
        self._draw(r)
        if r is not None and 0 <= r.chosen < len(cands):
            self.table.selectRow(r.chosen)
        else:
            self.table.clearSelection()
        self._selected()

    def selected(self) -> Optional[Candidate]:
        rows = self.table.selectionModel().selectedRows()
        if self._search is None or not rows or self.table.rowCount() == 0:
            return None
        return self._search.result.candidates[rows[0].row()]

    def _selected(self) -> None:
        c = self.selected()
        self.use_button.setEnabled(c is not None and not self._job)
        if c is None:
            self.note.setText("")
            return
        chosen = self._search.result.chosen
        mark = " (the search's choice)" if self._search.result.candidates.index(c) == chosen else ""
        note = plain(c.note).rstrip(".")
        self.note.setText(f"Selected: {plain(c.label) or kept_text(c)}{mark}." + (f" {note[:1].upper()}{note[1:]}." if note else ""))

    def _draw(self, r: Optional[BudgetResult]) -> None:
        """Accuracy against latency on this computer, with the budget as a line: what each candidate costs."""
        import pyqtgraph as pg

        if self._plot is None:
            self._plot = pg.PlotWidget(background="w")
            self._plot.setLabel("left", "accuracy (%)")
            for side in ("bottom", "left"):
                self._plot.getAxis(side).enableAutoSIPrefix(False)
            self._plot.setMinimumWidth(260)
            self._plot.setAccessibleName("Accuracy against latency")
            self._plot.getPlotItem().getViewBox().setDefaultPadding(0.12)  # the choice's ring is not cut off
            self.plot_box.layout().insertWidget(0, self._plot, 1)
        self._plot.clear()
        if r is None:
            return
        known = [c.latency_ms for c in r.candidates if c.latency_ms is not None]
        unit, factor = unit_for(max(known, default=None))  # the table's unit: µs under a millisecond
        self._plot.setLabel("bottom", f"latency on this computer ({unit})")
        points = [(factor * c.latency_ms, 100 * c.accuracy, i) for i, c in enumerate(r.candidates)
                  if c.latency_ms is not None]
        if points:
            spots = [{"pos": (x, y), "size": 14 if i == r.chosen else 9,
                      "brush": pg.mkBrush("#1b7a35" if r.candidates[i].fits else "#a61b1b"),
                      "pen": pg.mkPen("#1a4d8f", width=2) if i == r.chosen else pg.mkPen(None)} for x, y, i in points]
            self._plot.addItem(pg.ScatterPlotItem(spots=spots))
        floor = 100 * r.float_accuracy - r.max_drop
        self._plot.addItem(pg.InfiniteLine(pos=floor, angle=0, pen=pg.mkPen("#888", style=Qt.DashLine),
                                           label=f"budget: {floor:.1f} %", labelOpts={"position": 0.15, "color": "#555"}))

    def _use(self) -> None:
        c = self.selected()
        if c is not None:
            self.adopted.emit(c.keep_float)
            self.accept()

    def reject(self) -> None:
        if self._job is not None:
            self._job.cancel()  # closing while it runs stops the search
        super().reject()
