"""The Nodes step's "Accuracy lost per layer (int8)": the per-layer analysis (core/quant/layers.py, run from the
Verify step) as a table worst first, in sync with the graph and its heat map, and "Keep these in float", which
puts the chosen layers into the plan and, when the Edge TPU is among the devices, checks it again to show what
moves off the accelerator."""
from __future__ import annotations

import re
from typing import Optional

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from edgewizard.core.quant.results import METRIC, METRIC_NOTE

from ..jobs_qt import VALIDATE, is_cancel
from ..state import VALIDATION
from .compact import compact_rows

TITLE = "Accuracy lost per layer (int8)"
HEAT_TITLE = f"{METRIC.capitalize()} each layer adds in int8"
EDGETPU = "edgetpu"
FIND = "Find the layers that lose accuracy"
EMPTY = (f"To see which layers lose accuracy, verify an int8 model on the Verify step and click “{FIND}”. "
         "The layers are then listed here and coloured on the graph.")
HELP = ("Worst first. 0 is exact, 0.01 is usual for int8, 0.3 or more has lost most of the layer's detail. "
        "Select layers (Ctrl or Shift for several) to find them on the graph.")
# White (nothing lost) -> yellow -> red (the worst layer): the graph's heat map scale (resources/netron/bridge.js).
STOPS = ((0.0, (255, 255, 255)), (0.5, (255, 214, 64)), (1.0, (198, 40, 40)))


def heat_colour(value: float) -> tuple[QColor, QColor]:
    """(background, text) for `value` 0..1 on the heat map's scale."""
    v = min(1.0, max(0.0, value))
    (a, ca), (b, cb) = (STOPS[0], STOPS[1]) if v <= STOPS[1][0] else (STOPS[1], STOPS[2])
    t = (v - a) / (b - a)
    rgb = [round(x + (y - x) * t) for x, y in zip(ca, cb)]
    return QColor(*rgb), QColor("#ffffff" if v > 0.8 else "#1f2328")


def number(value: float) -> str:
    if value < 0.0005:
        return "0"
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"


def words(names) -> str:
    """"conv2", "conv2 and conv1", "conv3, conv2 and conv1"."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def edgetpu_line(report) -> str:
    """How much of the model runs on the Edge TPU, in a few words."""
    t = report.totals
    if not t["device"]:
        return f"none of the {t['total']} ops runs on the Edge TPU"
    point = report.partition_point
    where = f"; it stops at {point.source_node or point.op}" if point is not None else ""
    return f"{t['device']} of {t['total']} ops on the Edge TPU{where}"


class LayerErrorsPanel(QWidget):
    nodesSelected = Signal(list)  # original nodes of the rows the person selected
    heatToggled = Signal(bool)

    def __init__(self, page) -> None:
        super().__init__(page)
        self.page = page
        self.state = page.state
        self.report = None
        self._syncing = False
        self._job = None
        self._said = ""
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 4, 0, 0)
        title = QLabel(f"<b>{TITLE}</b>", self)
        v.addWidget(title)
        self.about = QLabel(self)
        self.about.setWordWrap(True)
        self.about.setStyleSheet("color:#555;")
        v.addWidget(self.about)
        self.empty = QLabel(EMPTY, self)
        self.empty.setWordWrap(True)
        v.addWidget(self.empty)
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["Layer", "Op", METRIC.capitalize(), "Added"])
        self.table.horizontalHeaderItem(2).setToolTip(METRIC_NOTE)
        self.table.horizontalHeaderItem(3).setToolTip("How much this layer adds to the error it receives "
                                                      "(the table is sorted by it). " + METRIC_NOTE)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setAccessibleName("Accuracy lost per layer")
        compact_rows(self.table)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        for c in (1, 2, 3):
            header.setSectionResizeMode(c, QHeaderView.ResizeToContents)
        v.addWidget(self.table, 1)
        self.help = QLabel(HELP, self)
        self.help.setWordWrap(True)
        self.help.setToolTip(METRIC_NOTE)
        self.help.setStyleSheet("color:#555;")
        v.addWidget(self.help)
        self.heat = QCheckBox("Show as a &heat map on the graph", self)
        self.heat.setToolTip("Colour each layer from white (nothing lost) through yellow to red (the worst layer)")
        v.addWidget(self.heat)
        row = QHBoxLayout()
        self.keep = QPushButton("&Keep these in float", self)
        self.keep.setToolTip("Convert the selected layers in float and the rest in int8: the model gets a little "
                             "bigger and slower and usually gets its accuracy back")
        self.clear = QPushButton("Convert all to int8", self)
        self.clear.setToolTip("Keep no layer in float")
        row.addWidget(self.keep)
        row.addStretch(1)
        v.addLayout(row)
        self.outcome = QLabel(self)
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextSelectableByMouse)
        v.addWidget(self.outcome)
        kept_row = QHBoxLayout()
        self.kept = QLabel(self)
        self.kept.setWordWrap(True)
        kept_row.addWidget(self.kept, 1)
        kept_row.addWidget(self.clear, 0, Qt.AlignTop)
        v.addLayout(kept_row)
        v.addStretch(0)  # takes the room only while the table is hidden: the lines stay together at the top
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.heat.toggled.connect(self.heatToggled)
        self.keep.clicked.connect(self.keep_selected)
        self.clear.clicked.connect(self.clear_kept)
        self.state.layersChanged.connect(self._from_state)
        self.state.requestChanged.connect(self._show_kept)
        self._from_state()

    # -- state in
    def _from_state(self) -> None:
        report = self.state.layers()
        new = report is not None and report is not self.report
        self.report = report
        self._syncing = True
        try:
            self._fill(report)
        finally:
            self._syncing = False
        for w in (self.table, self.help, self.heat, self.keep):
            w.setVisible(report is not None)
        self.empty.setVisible(report is None)
        last = self.state.last_layers
        if report is None and last is not None:
            self.empty.setText(f"The figures measured in {last.file} belong to an earlier conversion. Convert again, "
                               f"verify the new int8 model and click “{FIND}” on the Verify step to measure it.")
        else:
            self.empty.setText(EMPTY)
        self.about.setVisible(report is not None)
        if report is None:
            self.about.setText("")
            self.heat.setChecked(False)
        else:
            data = re.sub(r"(?:[A-Za-z]:)?(?:[\\/][^\\/\s(),]+)+[\\/]([^\\/\s(),]+)", r"\1", report.data)
            self.about.setText(f"Measured in {report.file} on {report.samples} samples. Data: {data.rstrip('.')}."
                               + "".join(f" {n}" for n in report.notes))
            self.about.setToolTip(f"{report.artifact}\n{report.data}")
            if new:
                self.outcome.setText("")
                self.heat.setChecked(True)
                self.heatToggled.emit(True)  # the graph is coloured with the new figures too
        self._selection_changed()
        self._show_kept()

    def _fill(self, report) -> None:
        rows = list(report.rows) if report else []
        top = report.heat_top() if report else 1.0
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            op = r.op if r.quantized else f"{r.op} (float)"
            cells = (r.label, op, number(r.error), number(r.added))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.UserRole, list(r.source_nodes))
                item.setToolTip(f"{r.label}: {r.op}, converted as {r.node}\n{METRIC}: {r.error:.4g}; "
                                f"added by this layer: {r.added:.4g}" + ("" if r.quantized else "\nComputed in float."))
                if c in (2, 3):
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if c == 3:
                    value = max(r.added, 0.0) / top if top > 0 else 0.0
                    back, fore = heat_colour(value)
                    item.setBackground(back)
                    item.setForeground(fore)
                elif not r.quantized:
                    item.setForeground(QColor("#6b7280"))
                self.table.setItem(i, c, item)

    def _show_kept(self) -> None:
        kept = self.state.plan.options.keep_float
        self.clear.setVisible(bool(kept))
        self.kept.setText(f"Kept in float when converting: {', '.join(kept)}." if kept else "")

    # -- the graph's scale
    def heat_values(self) -> dict[str, float]:
        return self.report.heat() if self.report else {}

    def heat_scale(self) -> str:
        if not self.report:
            return "0 (nothing lost)|"
        worst = max((max(r.added, 0.0) for r in self.report.rows), default=0.0)
        top = self.report.heat_top()
        return f"0 (nothing lost)|{number(top)} (worst)" if worst >= top else f"0 (nothing lost)|{number(top)} or more"

    # -- selection, both ways
    def selected_rows(self) -> list[int]:
        return sorted({i.row() for i in self.table.selectionModel().selectedRows()})

    def selected_nodes(self) -> list[str]:
        out: list[str] = []
        for row in self.selected_rows():
            for name in self.table.item(row, 0).data(Qt.UserRole) or []:
                if name not in out:
                    out.append(name)
        return out

    def _selection_changed(self) -> None:
        nodes = self.selected_nodes()
        self.keep.setEnabled(bool(nodes))
        if not self._syncing and nodes:
            self.nodesSelected.emit(nodes)

    def select_node(self, name: str) -> bool:
        """Select the rows of original node `name` (a click in the graph); False when no row has it."""
        rows = [r for r in range(self.table.rowCount()) if name in (self.table.item(r, 0).data(Qt.UserRole) or [])]
        self._syncing = True
        try:
            self.table.clearSelection()
            for r in rows:
                self._add_row(r)
            if rows:
                self.table.scrollToItem(self.table.item(rows[0], 0))
        finally:
            self._syncing = False
        self.keep.setEnabled(bool(self.selected_nodes()))
        return bool(rows)

    def _add_row(self, row: int) -> None:
        model = self.table.selectionModel()
        model.select(self.table.model().index(row, 0), QItemSelectionModel.Select | QItemSelectionModel.Rows)

    # -- keep in float
    def keep_selected(self) -> None:
        nodes = self.selected_nodes()
        if not nodes:
            self.outcome.setText("Select the layers to keep in float in the table (or on the graph) first.")
            return
        before = self._edgetpu_report()
        old_plan = self.state.plan
        earlier = [n for n in old_plan.options.keep_float if n not in nodes]
        self.state.set_keep_float(tuple(nodes) + tuple(earlier))
        also = f" ({words(earlier)} too, chosen earlier)" if earlier else ""
        self._said = f"{words(nodes)} will stay in float{also}. Convert again to make the new int8 model."
        self.outcome.setText(self._said)
        if EDGETPU in self.state.devices:
            self._check_edgetpu(before, old_plan)

    def clear_kept(self) -> None:
        self.state.set_keep_float(())
        self.outcome.setText("Every layer converts to int8 again. Convert again to make the new int8 model.")

    def _edgetpu_report(self, reports=None):
        reports = self.state.current(VALIDATION) if reports is None else reports
        return next((r for r in reports or () if r.device == EDGETPU and r.status == "checked"), None)

    def _check_edgetpu(self, before, old_plan) -> None:
        """Check the Edge TPU again on the new plan (and on the old one first when it was never checked), the
        way the Target step's check does, and say what moves off the accelerator."""
        jobs = self.page.jobs
        if jobs.busy:
            self.outcome.setText(self._said + " Another step is running: check the Edge TPU again on the Target "
                                 "step (“Will it run there?”) to see what moves to the CPU.")
            return
        self.outcome.setText(self._said + " Checking the Edge TPU again…")
        if before is None:
            self._job = job = jobs.start(VALIDATE, old_plan)
            job.done.connect(lambda reports: self._check_new(self._edgetpu_report(reports)))
        else:
            self._check_new(before)
            return
        job.failed.connect(self._failed)

    def _check_new(self, before) -> None:
        plan = self.state.plan
        self._job = job = self.page.jobs.start(VALIDATE, plan)
        job.done.connect(lambda reports: self._checked(before, reports, plan))
        job.failed.connect(self._failed)

    def _failed(self, error) -> None:
        self._job = None
        if not is_cancel(error):
            self.outcome.setText(self._said + " The Edge TPU could not be checked again: " + error.message)

    def _checked(self, before, reports, plan) -> None:
        self._job = None
        self.state.set_validation(reports, plan)
        after = self._edgetpu_report(reports)
        if after is None:
            self.outcome.setText(self._said)
            return
        moved = (before.totals["device"] - after.totals["device"]) if before is not None else 0
        lines = [self._said, "", "<b>On the Edge TPU</b>"]
        if before is not None:
            lines.append(f"Before: {edgetpu_line(before)}.")
        lines.append(f"After: {edgetpu_line(after)}.")
        if moved > 0:
            lines.append(f"{moved} op{'s' if moved != 1 else ''} move{'s' if moved == 1 else ''} to the CPU: a layer "
                         "in float cannot run on the Edge TPU, so the model is split there.")
        self.outcome.setText("<br>".join(lines))

    @property
    def checking(self) -> Optional[object]:
        return self._job
