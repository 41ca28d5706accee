"""Step 4, Convert: run the conversion in the worker with a progress bar per target, Cancel, and a
live log (the converters' technical chatter hidden unless "Show full log" is ticked); then the files
made, with "Show in folder", or the one-sentence error with its details."""
from __future__ import annotations

import time
from collections import deque
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QGridLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QPlainTextEdit,
                               QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from edgewizard.core.files import human_bytes
from edgewizard.core.convert.base import get_target
from edgewizard.core.convert.log_noise import is_noise
from edgewizard.core.convert.run import finished_since, remove_partials, target_progress
from edgewizard.core.manifest import partial_manifest

from ..jobs_qt import CONVERT, is_cancel
from ..state import CONVERSION
from ..widgets.compact import compact_rows, fit_rows
from ..widgets.desktop import not_opened, open_with_desktop
from .base import WizardPage, preview

LOG_LINES = 5000


class ConvertPage(WizardPage):
    step = "Convert"
    title = "Convert"
    subtitle = "Make the converted model files. This runs in the background; you can cancel at any time."

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._job = None
        self._shown = None  # the manifest whose files, notes and log the page shows
        self._started_at = 0.0
        self._targets: list[str] = []
        self._log_buffer: list[str] = []
        self.full_log: deque[str] = deque(maxlen=LOG_LINES)  # every line; the log view may hide some
        self._hidden = 0  # lines of the converters' chatter not shown in the log view
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.body.addWidget(self.summary)
        row = QHBoxLayout()
        self.convert_button = QPushButton("&Convert", self)
        self.convert_button.setDefault(True)
        self.cancel_button = QPushButton("Ca&ncel", self)
        self.cancel_button.setEnabled(False)
        self.overall = QProgressBar(self)
        self.overall.setRange(0, 1000)
        self.overall.setTextVisible(False)
        self.message = QLabel(self)
        self.message.hide()  # no empty line under the buttons before a run (see _say)
        row.addWidget(self.convert_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.overall, 1)
        self.body.addLayout(row)
        self.body.addWidget(self.message)

        self.targets_box = QGroupBox("Targets", self)
        self._targets_layout = QVBoxLayout(self.targets_box)
        self._rows_widget: QWidget | None = None
        self.body.addWidget(self.targets_box)
        self.rows: list[tuple[QLabel, QProgressBar, QLabel]] = []

        self.results_box = QGroupBox("Files made", self)
        rv = QVBoxLayout(self.results_box)
        self.files = QTableWidget(0, 3, self)
        self.files.setHorizontalHeaderLabels(["File", "Size", "Made for"])
        self.files.verticalHeader().hide()
        self.files.setEditTriggers(QTableWidget.NoEditTriggers)
        compact_rows(self.files)
        self.files.setTextElideMode(Qt.ElideRight)
        header = self.files.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.Stretch)
        self.files.setAccessibleName("Files made")
        self.notes = QLabel(self)
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.show_folder = QPushButton("Show in &folder", self)
        rv.addWidget(self.files)
        rv.addWidget(self.notes)
        rv.addWidget(self.show_folder, 0, Qt.AlignLeft)
        self.body.addWidget(self.results_box)
        self.results_box.hide()

        self.log_toggle = QPushButton("Show &log", self)
        self.log_toggle.setCheckable(True)
        self.show_all = QCheckBox("Show f&ull log", self)
        self.show_all.setToolTip("Also show the converters' technical messages (TensorFlow's and OpenVINO's own "
                                 "logging), which are hidden otherwise")
        self.hidden_note = QLabel(self)
        self.hidden_note.setStyleSheet("color:#555;")
        log_row = QHBoxLayout()
        log_row.addWidget(self.log_toggle)
        log_row.addWidget(self.show_all)
        log_row.addWidget(self.hidden_note)
        log_row.addStretch(1)
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setAccessibleName("Conversion log")
        self.log.setLineWrapMode(QPlainTextEdit.NoWrap)
        for w in (self.log, self.show_all, self.hidden_note):
            w.hide()
        self.log_toggle.toggled.connect(self._show_log)
        self.show_all.toggled.connect(self._refill_log)
        self.body.addLayout(log_row)
        self.body.addWidget(self.log, 1)
        # Takes the spare height while the log is hidden (it stretches when shown), so the page's rows stay
        # together at the top instead of spreading over the window's height.
        self.body.addStretch(0)
        self._flush = QTimer(self)
        self._flush.setInterval(100)  # append log lines in batches, not one repaint per line
        self._flush.timeout.connect(self._flush_log)

        self.convert_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.show_folder.clicked.connect(self._show_folder)
        self.jobs.busyChanged.connect(lambda busy: self.convert_button.setEnabled(not busy))
        self.state.requestChanged.connect(self._describe)
        self.state.modelChanged.connect(self._describe)
        self.state.conversionChanged.connect(self._show_state)

    # -- before
    def on_enter(self) -> None:
        self._describe()

    @property
    def _running(self) -> bool:
        return self._job is not None

    def _describe(self) -> None:
        req, src = self.state.request, self.state.source
        if not self._running:
            if list(req.targets) != self._targets or not self.rows:
                self._targets = list(req.targets)
                self._build_rows()
                self._shown = None  # the rows are new: show the results in them again
            self._show_state()
        names = ", ".join(get_target(t).title for t in req.targets) or "no target chosen"
        self.summary.setText(f"<b>{Path(src).name if src else 'No model'}</b> → {names}<br>"
                             f"into <code>{req.output_dir or '?'}</code>")

    def _build_rows(self) -> None:
        # Replace the whole block of rows: removing widgets one by one leaves them painted until deleted.
        if self._rows_widget is not None:
            self._rows_widget.hide()
            self._rows_widget.setParent(None)
            self._rows_widget.deleteLater()
        container = QWidget(self.targets_box)
        grid = QGridLayout(container)
        grid.setContentsMargins(0, 0, 0, 0)
        self.rows = []
        for i, t in enumerate(self._targets):
            label = QLabel(get_target(t).title, container)
            bar = QProgressBar(container)
            bar.setRange(0, 100)
            bar.setValue(0)
            bar.setAccessibleName(f"{get_target(t).title}: progress")
            status = QLabel("Waiting", container)
            status.setMinimumWidth(160)
            grid.addWidget(label, i, 0)
            grid.addWidget(bar, i, 1)
            grid.addWidget(status, i, 2)
            self.rows.append((label, bar, status))
        grid.setColumnStretch(1, 1)
        self._targets_layout.addWidget(container)
        self._rows_widget = container

    # -- running
    def start(self) -> None:
        req = self.state.request
        why = self.state.why_not("Convert")
        if why:
            self.banner.show_message(why, "warning")
            return
        if self.jobs.busy:
            self.banner.show_message("Another step is still running; wait for it or cancel it first.", "warning")
            return
        self.banner.clear()
        self.results_box.hide()
        self.files.setRowCount(0)  # no row of an earlier run may look like this run's
        self._clear_log()
        self._targets = list(req.targets)
        self._build_rows()
        self.cancel_button.setEnabled(True)
        self.overall.setValue(0)
        self._say("Starting the worker…")
        self._flush.start()
        self._shown = None
        self.state.set_manifest(None)
        self._started_at = time.time()
        plan = self.state.plan
        job = self._job = self.jobs.start(CONVERT, plan, force=req.force)
        job.progress.connect(self._on_progress)
        job.log.connect(self._on_log)
        job.done.connect(lambda manifest: self._on_finished(manifest, plan))
        job.failed.connect(lambda error: self._on_failed(error, plan))

    def cancel(self) -> None:
        if self._running:
            self._say("Cancelling…")
            self._job.cancel()

    def _on_progress(self, fraction, message: str) -> None:
        self._say(message)
        if fraction < 0:  # UNKNOWN: a message without a figure
            return
        self.overall.setValue(int(1000 * fraction))
        index, local = target_progress(fraction, len(self.rows))
        for i, (_, bar, status) in enumerate(self.rows):
            if index is not None and i < index:
                bar.setValue(100)
                if status.text() in ("Waiting", "Running"):
                    status.setText("Done")
            elif i == index:
                bar.setValue(int(100 * (local or 0)))
                status.setText("Running")

    def _on_log(self, line: str) -> None:
        self._log_buffer.append(line)

    def _flush_log(self) -> None:
        if not self._log_buffer:
            return
        lines, self._log_buffer = self._log_buffer, []
        self.full_log.extend(lines)
        worth = [ln for ln in lines if not is_noise(ln)]
        self._hidden += len(lines) - len(worth)
        shown = lines if self.show_all.isChecked() else worth
        if shown:
            self.log.appendPlainText("\n".join(shown))
        self._say_hidden()

    def _clear_log(self) -> None:
        self.log.clear()
        self._log_buffer.clear()
        self.full_log.clear()
        self._hidden = 0
        self._say_hidden()

    def _refill_log(self) -> None:
        lines = self.full_log if self.show_all.isChecked() else [ln for ln in self.full_log if not is_noise(ln)]
        self.log.setPlainText("\n".join(lines))
        self._say_hidden()

    def _show_log(self, on: bool) -> None:
        self.log_toggle.setText("Hide &log" if on else "Show &log")
        self.log.setVisible(on)
        self.show_all.setVisible(on)
        self._say_hidden()

    def _say_hidden(self) -> None:
        hidden = self._hidden and not self.show_all.isChecked()
        self.hidden_note.setText(f"{self._hidden} technical message{'s' if self._hidden != 1 else ''} from the "
                                 "converters hidden." if hidden else "")
        self.hidden_note.setVisible(bool(hidden) and self.log_toggle.isChecked())
        self.log.setPlaceholderText("Only technical messages so far: tick “Show full log” to see them." if hidden
                                    else "No messages from the converters yet.")

    def _say(self, text: str, style: str = "") -> None:
        self.message.setText(text)
        self.message.setStyleSheet(style)
        self.message.setVisible(bool(text))

    def _stop(self) -> None:
        self._job = None
        self.cancel_button.setEnabled(False)
        self._flush.stop()
        self._flush_log()

    def _on_finished(self, manifest, plan) -> None:
        self._stop()
        self._shown = manifest
        self.state.set_manifest(manifest, plan, plan.output_dir)
        self._show_done(manifest, "Conversion finished.")

    def _show_done(self, manifest, message: str, out_of_date: str = "") -> None:
        self.overall.setValue(0 if out_of_date else 1000)
        self._say(message, "color:#8a4b00; font-weight:bold;" if out_of_date else "")
        for t, (_, bar, status) in zip(self._targets, self.rows):
            a = manifest.artifact(t)
            bar.setValue(100 if a is not None and not out_of_date else 0)
            status.setText("Not run" if a is None else "Out of date" if out_of_date else
                           "Not compiled (see note)" if a.status == "not_compiled" else "Done")
        self._show_results(manifest, out_of_date)

    def _show_state(self) -> None:
        """What the page shows when no conversion runs: the current plan's conversion, a conversion of
        the same model for another cut or other targets marked out of date, or nothing at all (never
        an earlier model's files, notes or log)."""
        if self._running:
            return
        current = self.state.current(CONVERSION)
        if current is not None and current is self._shown:
            return  # already on screen, with its log
        self._shown = current
        self._clear_log()
        self.files.setRowCount(0)
        self.results_box.hide()
        self.overall.setValue(0)
        self._say("")
        for _, bar, status in self.rows:
            bar.setValue(0)
            status.setText("Waiting")
        stale = self.state.stale(CONVERSION)
        if current is not None:
            self._show_done(current, "Converted.")
        elif stale is not None and not stale[1].startswith("for a different model"):
            self._show_done(stale[0], f"Out of date: the files below were made {stale[1]} — convert again.",
                            out_of_date=stale[1])

    def _on_failed(self, error, plan) -> None:
        self._stop()
        remove_partials(plan.output_dir)
        # Targets that finished before the failure are kept: list their files (a killed worker sent no
        # word about them, so ask the manifest it wrote after each one).
        kept = finished_since(plan.output_dir, self._targets, self._started_at)
        done = {a.target for a in kept}
        for t, (_, bar, status) in zip(self._targets, self.rows):
            if t in done:
                bar.setValue(100)
                if status.text() in ("Running", "Waiting"):
                    status.setText("Done")
            elif status.text() in ("Running", "Waiting", "Done"):
                status.setText("Cancelled" if is_cancel(error) else ("Not run" if status.text() == "Waiting" else "Failed"))
        if kept:  # what finished can be verified and benchmarked
            partial = partial_manifest(plan.output_dir, kept)
            self._shown = partial
            self.state.set_manifest(partial, plan, plan.output_dir)
            self._show_results(partial)
        if is_cancel(error):
            self._say("Cancelled.")
            self.banner.show_message("The conversion was cancelled. Files of targets that had finished were kept; "
                                     "nothing half-written was left.", "info")
        else:
            self._say("The conversion failed; the files of the targets that finished are kept (below)."
                                 if kept else "The conversion failed.")
            details = error.details or "\n".join(list(self.full_log)[-400:])
            self.banner.show_message(error.message, "error", details)

    # -- after
    def _show_results(self, manifest, out_of_date: str = "") -> None:
        files: dict[str, list] = {}  # one row per file, even when several targets share it (the int8 model)
        notes = []
        for a in manifest.artifacts:
            if a.target not in self._targets:
                continue
            title = a.title or get_target(a.target).title  # the Targets rows' words, never the target's id
            for f in a.files:
                row = files.setdefault(f.name, [f.name, human_bytes(f.size_bytes), []])
                row[2].append(title)
            notes += [f"<b>{title}</b>: {n}" for n in a.notes]
        rows = [(name, size, "; ".join(t)) for name, size, t in files.values()]
        self.files.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, v in enumerate(values):
                item = QTableWidgetItem(v)
                item.setToolTip(v)
                self.files.setItem(r, c, item)
        fit_rows(self.files, 6)
        self.notes.setText("<br>".join(notes))
        self.files.setEnabled(not out_of_date)  # greyed: made for another cut or other targets
        self.results_box.setTitle("Files made" + (f" (out of date: {out_of_date})" if out_of_date else ""))
        self.results_box.show()

    def _show_folder(self) -> None:
        folder = self.state.output_folder
        if not open_with_desktop(folder):
            self.banner.show_message(not_opened(folder), "warning")


if __name__ == "__main__":
    import sys

    from .base import load_sample

    sys.exit(preview(ConvertPage, lambda state, jobs, page: load_sample(state, jobs)))
