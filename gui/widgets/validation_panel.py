""""Will it run?": checks the chosen devices before converting and shows, per device, a summary
line and a per-node table (runs on the device / on the CPU / cannot run, and why), with suggestions."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from edgewizard.core.devices import families

from ..jobs_qt import VALIDATE, is_cancel
from ..state import VALIDATION
from .compact import compact_rows
from .plain_words import plain

COLOURS = {"device": QColor("#dcfce7"), "cpu": QColor("#fef3c7"), "unsupported": QColor("#fde2e1")}
WHERE_TEXT = {"device": "on the device", "cpu": "on the CPU", "unsupported": "cannot run"}
# The wizard's device choices (target page keys) -> the validators that judge them.
DEVICE_VALIDATORS = {f.id: f.validators for f in families()}


class ValidationPanel(QWidget):
    cutSuggested = Signal(tuple)  # original-model output names a "cut before the tail" suggestion proposes

    def __init__(self, page) -> None:
        super().__init__(page)
        self.page = page
        self.reports = []
        self.out_of_date = ""  # why the reports shown no longer match the plan ("for other devices"), or ""
        self._job = None
        v = QVBoxLayout(self)
        v.setContentsMargins(6, 6, 6, 6)
        intro = QLabel("Before spending time on a conversion, see which operations of this model each chosen device "
                       "can run, where the model would be split between the accelerator and the CPU, and why.", self)
        intro.setWordWrap(True)
        v.addWidget(intro)
        row = QHBoxLayout()
        self.check = QPushButton("Check which ops each device can &run", self)
        self.cancel = QPushButton("Cancel", self)
        self.cancel.setEnabled(False)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(220)
        self.message = QLabel(self)
        for w in (self.check, self.cancel, self.progress):
            row.addWidget(w)
        row.addWidget(self.message, 1)
        v.addLayout(row)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        v.addWidget(self.summary)
        pick = QHBoxLayout()
        self.device = QComboBox(self)
        self.device.setAccessibleName("Device to show")
        pick.addWidget(QLabel("Details for:", self))
        pick.addWidget(self.device, 1)
        self.cut_button = QPushButton("Cut &before the CPU tail", self)
        self.cut_button.setToolTip("Make the converted model end where the accelerator stops (the rest is usually post-processing)")
        self.cut_button.hide()
        pick.addWidget(self.cut_button)
        v.addLayout(pick)
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["#", "Op", "Runs", "Why / original node"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        compact_rows(self.table)  # a long reason is cut with "…" on its one line; its tooltip holds all of it
        self.table.setTextElideMode(Qt.ElideRight)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.Stretch)
        for c in range(3):
            self.table.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeToContents)
        self.table.setAccessibleName("Where each op runs")
        v.addWidget(self.table, 1)
        self.check.clicked.connect(self.start)
        self.cancel.clicked.connect(lambda: self._job is not None and self._job.cancel())
        self.device.currentIndexChanged.connect(self._show_device)
        self.cut_button.clicked.connect(self._cut)
        page.state.validationChanged.connect(self._from_state)
        page.state.modelChanged.connect(self._from_state)

    def devices(self) -> list[str]:
        from edgewizard.core.validate.base import device_choices

        present = {c.name: c for c in device_choices()}
        out = []
        for key, check in self.page.device_checks.items():
            if not check.isChecked():
                continue
            for i, name in enumerate(DEVICE_VALIDATORS[key]):
                # A family's first device (OpenVINO's CPU) is always judged; the others (GPU, NPU) where present.
                if i > 0 and not (present.get(name) and present[name].available):
                    continue
                out.append(name)
        return out

    def start(self) -> None:
        state, jobs = self.page.state, self.page.jobs
        devices = self.devices()
        if not devices:
            self.message.setText("Choose a device above first.")
            return
        if jobs.busy:
            self.message.setText("Another step is still running.")
            return
        state.set_devices(devices)
        plan = state.plan
        self.cancel.setEnabled(True)
        self.progress.setValue(0)
        self._job = job = jobs.start(VALIDATE, plan)
        job.progress.connect(self._on_progress)
        job.done.connect(lambda reports: self._on_finished(reports, plan))
        job.failed.connect(self._on_failed)

    def _on_progress(self, fraction, message) -> None:
        self.message.setText(message)
        if fraction >= 0:
            self.progress.setValue(int(1000 * fraction))

    def _on_failed(self, error) -> None:
        self._job = None
        self.cancel.setEnabled(False)
        self.message.setText("Cancelled." if is_cancel(error) else "The check failed.")
        if not is_cancel(error):
            self.page.banner.show_error(error)

    def _on_finished(self, reports, plan) -> None:
        self._job = None
        self.cancel.setEnabled(False)
        self.progress.setValue(1000)
        self.message.setText("Checked.")
        self.page.state.set_validation(reports, plan)

    def _from_state(self) -> None:
        """Show the current plan's check; one for the same model but other devices or another cut is
        shown greyed and marked out of date; one for another model is not shown at all."""
        state = self.page.state
        everything = list(state.current(VALIDATION) or ())
        stale = state.stale(VALIDATION)
        self.out_of_date = ""
        if not everything and stale is not None and stale[0] and stale[0][0].plan_key and \
                not stale[1].startswith("for a different model"):
            everything, self.out_of_date = list(stale[0]), stale[1]
        if not everything and self._job is None:
            self.progress.setValue(0)
        # Devices that could not be judged here (an absent GPU, a missing runtime) get one line together.
        self.reports = [r for r in everything if r.status != "not_checked"]
        lines = []
        for r in self.reports:
            good = r.runs_entirely_on_device
            colour = "#1a7f37" if good else ("#8a4b00" if r.status == "checked" else "#555")
            lines.append(f"<span style='color:{colour}'>{'✔' if good else '•'} {r.summary()}</span>")
        skipped = [r.title for r in everything if r.status == "not_checked"]
        if skipped:
            lines.append(f"<span style='color:#555'>Not checked, no such device on this machine: {', '.join(skipped)}.</span>")
        if self.out_of_date and self._job is None:
            self.progress.setValue(0)
            self.message.setText("")
        if self.out_of_date:
            lines.insert(0, f"<b style='color:#8a4b00'>Out of date: these results are {self.out_of_date} — "
                            "check again.</b>")
        self._summary_html = "<br>".join(lines)
        self.summary.setText(self._summary_html)
        self.device.blockSignals(True)
        self.device.clear()
        for r in self.reports:
            self.device.addItem(r.title, r.device)
        self.device.blockSignals(False)
        self._show_device()
        if not self.reports:
            self.message.setText("")

    def report(self):
        i = self.device.currentIndex()
        return self.reports[i] if 0 <= i < len(self.reports) else None

    def _show_device(self) -> None:
        r = self.report()
        nodes = list(r.nodes) if r else []
        self.table.setRowCount(len(nodes))
        for row, n in enumerate(nodes):
            why = plain(n.reason or "")
            if n.source_node:
                why = f"{why}  [{n.source_node}]" if why else n.source_node
            marker = "  ◀ partition point" if r.partition_index == n.index else ""
            for c, text in enumerate((str(n.index), n.op, WHERE_TEXT.get(n.where, n.where) + marker, why)):
                item = QTableWidgetItem(text)
                item.setBackground(COLOURS.get(n.where, QColor("white")))
                item.setToolTip(why)
                self.table.setItem(row, c, item)
        tails = [s for s in (r.suggestions if r else ()) if s.kind == "cut_tail" and s.outputs]
        self.table.setEnabled(not self.out_of_date)  # greyed: for another cut or other devices
        self.cut_button.setVisible(bool(tails) and not self.out_of_date)
        self._tail = tails[0].outputs if tails else ()
        extra = [f"<li>{plain(s.text)}</li>" for s in (r.suggestions if r else ())]
        tips = f"<p><b>Suggestions for {r.title}:</b><ul>{''.join(extra)}</ul></p>" if extra else ""
        self.summary.setText(getattr(self, "_summary_html", "") + tips)

    def _cut(self) -> None:
        if self._tail:
            self.cutSuggested.emit(tuple(self._tail))
