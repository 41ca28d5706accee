"""Step 5, Verify: run the original and each converted model on the same inputs and show how far
their answers differ, with plain-words flags and remedies, an error histogram, the worst samples,
and "Save report" (one self-contained HTML file, saved where the person says). The verdict says what
the data can show: random inputs and the calibration data are never presented as an all-clear."""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (QButtonGroup, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QListWidget, QListWidgetItem, QProgressBar, QPushButton,
                               QRadioButton, QScrollArea, QSpinBox, QSplitter, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from edgewizard.core.errors import EdgeWizardError
from edgewizard.core.samples import sample_model_path, sample_test_path
from edgewizard.core.verify import Thresholds, VerifyData, VerifyReport, save

from ..jobs_qt import VERIFY, Job, is_cancel
from ..state import VERIFY as VERIFIED
from ..state import converted_files
from ..state import STEPS
from ..widgets.found_data import FoundData
from ..widgets.layer_job import QuantDoctor
from ..widgets.plain_words import plain
from ..widgets.report_view import ReportSavedBar
from ..widgets.verify_verdict import STYLES, same_path, verdict
from .base import WizardPage, preview

COLUMNS = ("Model file", "Output", "Accuracy", "Change", "Top-1 agreement", "Cosine", "Max |error|", "Mean |error|", "Result")
FLAGGED = QColor("#fde2e1")


def _pct(v: Optional[float]) -> str:
    return "—" if v is None else f"{100 * v:.2f} %"


class VerifyPage(WizardPage):
    step = "Verify"
    title = "Verify"
    subtitle = ("Check that the converted models still give the original's answers: both run on the same inputs, "
                "and every output is compared. Quantized (int8) models are expected to differ a little.")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._job: Optional[Job] = None
        self._shown: Optional[VerifyReport] = None  # the report the table and detail show
        self._rows: list = []
        self._verified: Optional[tuple[VerifyReport, VerifyData]] = None  # a report and the data it ran on
        data = QGroupBox("Inputs to compare on", self)
        form = QFormLayout(data)
        kinds = QHBoxLayout()
        self.kind = QButtonGroup(self)
        self.kind_radios = {}
        for key, text in (("test", "The sample's test set"), ("path", "&Labelled images or .npz"),
                          ("calibration", "The &calibration data"), ("random", "Ran&dom data")):
            r = QRadioButton(text, self)
            self.kind.addButton(r)
            self.kind_radios[key] = r
            kinds.addWidget(r)
        kinds.addStretch(1)
        form.addRow(kinds)
        row = QHBoxLayout()
        self.data_path = QLineEdit(self)
        self.data_path.setAccessibleName("Data for verification")
        self.data_path.setPlaceholderText("A folder of images (sub-folder names as labels) or a .npz with x (and y)")
        self.browse = QPushButton("Bro&wse…", self)
        self.browse.clicked.connect(self._browse)
        row.addWidget(self.data_path, 1)
        row.addWidget(self.browse)
        form.addRow("Data:", row)
        self.found = FoundData(self, "verify", self._found_note)
        form.addRow(self.found.title, self.found)
        form.setRowVisible(self.found, False)
        self.found.available.connect(lambda on: form.setRowVisible(self.found, on))
        self.found.picked.connect(self._use_found)
        self.data_path.textChanged.connect(self.found.show_path)
        limits = QHBoxLayout()
        self.samples = QSpinBox(self)
        self.samples.setRange(1, 100000)
        self.samples.setValue(1000)
        self.min_agree = QDoubleSpinBox(self)
        self.min_agree.setRange(0, 100)
        self.min_agree.setValue(98.0)
        self.min_agree.setSuffix(" %")
        self.min_cos = QDoubleSpinBox(self)
        self.min_cos.setDecimals(3)
        self.min_cos.setRange(0, 1)
        self.min_cos.setSingleStep(0.001)
        self.min_cos.setValue(0.99)
        for label, w in (("At most", self.samples), ("samples; flag top-1 agreement below", self.min_agree),
                         ("or cosine below", self.min_cos)):
            limits.addWidget(QLabel(label, self))
            limits.addWidget(w)
        limits.addStretch(1)
        form.addRow(limits)
        self.body.addWidget(data)

        run = QHBoxLayout()
        self.verify_button = QPushButton("&Verify", self)
        self.cancel_button = QPushButton("Ca&ncel", self)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.message = QLabel(self)  # progress while a step runs; the verdict, as a coloured banner, after
        self.message.setWordWrap(True)  # a long verdict (random inputs, what they show) must not widen the window
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.verdict_kind = ""  # the verdict banner's colour: "success", "info", "warning", "error"; "" for none
        self.report_bar = ReportSavedBar(self)
        self.save_report = QPushButton("&Save report…", self)
        self.save_report.setEnabled(False)
        for w in (self.verify_button, self.cancel_button):
            run.addWidget(w)
        run.addWidget(self.progress, 1)
        run.addWidget(self.save_report)
        self.body.addLayout(run)
        self.body.addWidget(self.message)
        self.body.addWidget(self.report_bar)
        self.doctor = QuantDoctor(self, self._selected_check, self._verified_data)
        self.doctor.goToStep.connect(self._go_to)
        self.body.addWidget(self.doctor)

        split = QSplitter(Qt.Vertical, self)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.setSelectionMode(QTableWidget.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        for c in range(1, len(COLUMNS)):
            self.table.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeToContents)
        self.table.setAccessibleName("Verification results")
        split.addWidget(self.table)
        detail = QWidget(self)
        dv = QHBoxLayout(detail)
        dv.setContentsMargins(0, 0, 0, 0)
        self.flags = QLabel(self)
        self.flags.setWordWrap(True)
        self.flags.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.flags.setAlignment(Qt.AlignTop)
        self.plot_box = QGroupBox("Error per value (selected row)", self)
        QVBoxLayout(self.plot_box)
        self.plot = None  # pyqtgraph is imported when the first result arrives, not at start-up
        self.worst = QListWidget(self)
        self.worst.setViewMode(QListWidget.IconMode)
        self.worst.setIconSize(QSize(64, 64))
        self.worst.setAccessibleName("Worst-agreeing samples")
        worst_box = QGroupBox("Worst-agreeing samples", self)
        QVBoxLayout(worst_box).addWidget(self.worst)
        flags_scroll = QScrollArea(self)  # a flag's advice runs longer than the detail is high at 1366x768
        flags_scroll.setWidget(self.flags)
        flags_scroll.setWidgetResizable(True)
        flags_scroll.setFrameShape(QScrollArea.NoFrame)
        flags_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        dv.addWidget(flags_scroll, 2)
        dv.addWidget(self.plot_box, 2)
        dv.addWidget(worst_box, 2)
        split.addWidget(detail)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 2)
        split.setSizes([160, 320])  # a few rows of files; the detail (advice, plot, samples) needs the height
        self.body.addWidget(split, 1)

        for r in self.kind_radios.values():
            r.toggled.connect(self._kind_changed)
        self.verify_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(lambda: self._job is not None and self._job.cancel())
        self.save_report.clicked.connect(self._save_report)
        self.table.itemSelectionChanged.connect(self._show_detail)
        self.table.itemSelectionChanged.connect(self.doctor.update_buttons)
        self.jobs.busyChanged.connect(lambda busy: self.verify_button.setEnabled(not busy))
        self.state.modelChanged.connect(self._model_changed)
        self.state.selectionChanged.connect(self.found.look)
        self.state.requestChanged.connect(self.found.reword)  # which entry is the calibration data
        # The page shows the verification of the files on screen only: it looks again whenever the plan
        # or a result moves (a verification of another model's files is never shown as this one's).
        for signal in (self.state.modelChanged, self.state.conversionChanged, self.state.verifyChanged):
            signal.connect(self._refresh)
        self._model_changed()
        self._refresh()
        self.doctor.update_buttons()

    @property
    def report(self) -> Optional[VerifyReport]:
        """The verification of the current conversion's files, or None."""
        return self.state.current(VERIFIED)

    # -- choices
    def _is_sample(self) -> bool:
        return bool(self.state.source) and Path(self.state.source) == Path(sample_model_path())

    def _model_changed(self) -> None:
        sample = self._is_sample()
        self.kind_radios["test"].setVisible(sample)
        (self.kind_radios["test"] if sample else self.kind_radios["calibration"]).setChecked(True)
        self._kind_changed()
        self.found.look()

    def _found_note(self, candidate) -> str:
        spec = self.state.request.options.calibration
        same = any(same_path(src, str(candidate.path)) for _, src in spec.sources)
        return "used to calibrate the int8 model" if same else ""

    def _use_found(self, candidate) -> None:
        """The person chose data found beside the model: compare on it."""
        self.kind_radios["path"].setChecked(True)
        self.data_path.setText(str(candidate.path))

    def _kind_changed(self) -> None:
        path = self.kind_radios["path"].isChecked()
        self.data_path.setEnabled(path)
        self.browse.setEnabled(path)

    def _browse(self) -> None:
        start = self.settings.last_dir("verify")
        path, _ = QFileDialog.getOpenFileName(self, "Labelled data (.npz)", start, "Arrays (*.npz *.npy);;All files (*)")
        if not path:
            path = QFileDialog.getExistingDirectory(self, "Folder of images (sub-folders = labels)", start)
        if path:
            self.settings.set_last_dir("verify", str(Path(path).parent))
            self.data_path.setText(path)

    def data(self) -> VerifyData:
        n = self.samples.value()
        if self.kind_radios["test"].isChecked() and self._is_sample():
            return VerifyData.from_path(str(sample_test_path()), max_samples=n, label="the sample's test split")
        if self.kind_radios["path"].isChecked() and self.data_path.text().strip():
            return VerifyData.from_path(self.data_path.text().strip(), self.state.request.options.calibration, n)
        if self.kind_radios["calibration"].isChecked() and self.state.request.options.calibration.given:
            return VerifyData.from_calibration(self.state.request.options.calibration, n)
        return VerifyData(kind="random", random_samples=min(n, 256))

    def artifacts(self) -> list[str]:
        # A compiled _edgetpu.tflite runs only on the Edge TPU: there is nothing here to compare it on.
        return [str(p) for p, _ in converted_files(self.state.manifest, self.state.output_folder)
                if not p.name.endswith("_edgetpu.tflite")]

    # -- running
    def on_enter(self) -> None:
        self._refresh()
        self.found.look()

    def start(self) -> None:
        artifacts = self.artifacts()
        if not artifacts:
            self.banner.show_message("There is no converted model to verify yet; convert first (step Convert).", "warning")
            return
        if self.jobs.busy:
            self.banner.show_message("Another step is still running; wait for it or cancel it first.", "warning")
            return
        self.banner.clear()
        self._show_verdict("", "")  # the progress line until the new verdict
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        thresholds = Thresholds(min_top1_agreement=self.min_agree.value() / 100, min_cosine=self.min_cos.value())
        plan, data = self.state.plan, self.data()
        job = self._job = self.jobs.start(VERIFY, self.state.source, self.state.load_options, self.state.selection,
                                          artifacts, data, thresholds)
        job.progress.connect(self._on_progress)
        job.done.connect(lambda report: self._on_finished(report, plan, data))
        job.failed.connect(self._on_failed)

    def _on_progress(self, fraction, message: str) -> None:
        self.message.setText(message)
        if fraction >= 0:
            self.progress.setValue(int(1000 * fraction))

    def _on_failed(self, error) -> None:
        self._job = None
        self.cancel_button.setEnabled(False)
        if is_cancel(error):
            self.message.setText("Cancelled.")
        else:
            self.message.setText("Verification failed.")
            if isinstance(error, EdgeWizardError):
                self.banner.show_message(plain(error.message), "error", error.details)
            else:
                self.banner.show_error(error)

    def _on_finished(self, report: VerifyReport, plan, data: VerifyData) -> None:
        self._job = None
        self._verified = (report, data)
        self.cancel_button.setEnabled(False)
        self.progress.setValue(1000)
        self.state.set_verify(report, plan)  # the page shows it from the state (_refresh)
        if self.report is not report:
            return  # the plan moved on while it ran: it is not this conversion's
        folder = self.state.output_folder
        try:
            save(report, folder)  # verify.json beside the models, for the report
        except OSError as exc:
            self.banner.show_message(f"The results could not be saved to {folder}: {exc}.", "warning")

    def _refresh(self) -> None:
        """Show the verification of the files on screen, or nothing (saying why an earlier one went)."""
        if self._job is not None:
            return  # the running step's progress is on show; its result comes through the state
        report = self.report
        if report is not self._shown:
            self._shown = report
            self.banner.clear()  # a warning about another verification
            self.report_bar.clear()  # a "Report saved" of another verification
            self.save_report.setEnabled(report is not None)
            self.progress.setValue(1000 if report is not None else 0)
            self._fill(report)
        if report is not None:
            kind, text = verdict(report, self.state.request.options.calibration)
            self._show_verdict(kind, text)
            return
        self._show_verdict("", "")
        n = len(self.artifacts())
        text = f"{n} converted model file{'s' if n != 1 else ''} to check." if n else "Convert first."
        stale = self.state.stale(VERIFIED)
        if stale is not None:
            text += f" The last verification was {stale[1]} — run again."
        self.message.setText(text)

    def _show_verdict(self, kind: str, text: str) -> None:
        """The verdict as a banner in its colour ("" for none: the plain progress line)."""
        self.verdict_kind = kind
        self.message.setStyleSheet(f"QLabel {{{STYLES[kind]} border-radius:4px; padding:6px;}}" if kind else "")
        if text:
            self.message.setText(text)

    # -- the quantization doctor (gui/widgets/layer_job.py)
    def _selected_check(self):
        selected = self.table.selectionModel().selectedRows()
        return self._rows[selected[0].row()][0] if selected and selected[0].row() < len(self._rows) else None

    def _verified_data(self):
        """(the data, its summary) of the verification on show, when this page ran it; else None."""
        if self._verified is None or self.report is None or self._verified[0] is not self.report:
            return None
        return self._verified[1], self.report.data

    def _go_to(self, step: str, note: str) -> None:
        window = self.window()
        if hasattr(window, "go") and window.go(STEPS.index(step)) and note:
            window.page(step).banner.show_message(note, "info")

    # -- showing
    def _fill(self, report: Optional[VerifyReport]) -> None:
        """One row per output of each file of `report` (none for None); the detail follows the first row."""
        rows = [(a, o) for a in report.artifacts for o in (a.outputs or [None])] if report is not None else []
        self._rows = rows
        self.table.clearSelection()
        self.table.setRowCount(len(rows))
        for r, (a, o) in enumerate(rows):
            change = None if o is None or o.accuracy_drop is None else -o.accuracy_drop + 0.0  # no "-0.00"
            if change is not None and abs(change) < 5e-5:
                change = 0.0
            values = (a.file, o.name if o else "—",
                      _pct(o.accuracy_artifact) if o else "—",
                      "—" if change is None else f"{100 * change:+.2f} pt",
                      _pct(o.top1_agreement) if o else "—",
                      f"{o.cosine:.5f}" if o else "—",
                      f"{o.max_abs_error:.4g}" if o else "—",
                      f"{o.mean_abs_error:.4g}" if o else "—",
                      {"ok": "OK", "flagged": "Flagged", "skipped": "Skipped"}.get(a.status, a.status))
            for c, v in enumerate(values):
                item = QTableWidgetItem(v)
                item.setData(Qt.UserRole, r)
                if a.status == "flagged":
                    item.setBackground(FLAGGED)
                self.table.setItem(r, c, item)
        if rows:
            self.table.selectRow(0)
        self._show_detail()  # also when the selection did not move (row 0 before and after)

    def _show_detail(self) -> None:
        """The flags, error histogram and worst samples of the selected row; nothing without one."""
        selected = self.table.selectionModel().selectedRows()
        self.worst.clear()
        if not selected or selected[0].row() >= len(self._rows):
            self.flags.setText("")
            if self.plot is not None:
                self.plot.clear()
            return
        a, o = self._rows[selected[0].row()]
        parts = []
        for f in a.flags:
            remedies = "".join(f"<li>{plain(r)}</li>" for r in f.remedies)
            parts.append(f"<p><b style='color:#a61b1b'>{plain(f.message)}</b></p><ul>{remedies}</ul>")
        if not a.flags and a.status != "skipped":
            parts.append("<p>No problems found for this file.</p>")
        parts += [f"<p>{plain(n)}</p>" for n in a.notes]  # e.g. the precision OpenVINO computed in
        self.flags.setText("".join(parts))
        self._plot_histogram(o)
        for w in (o.worst if o else []):
            text = f"#{w.index}: {w.original_top1} → {w.artifact_top1}" if w.original_top1 is not None else f"#{w.index}"
            item = QListWidgetItem(text)
            item.setToolTip(f"sample {w.index}: mean |error| {w.error:.4g}")
            if w.image and w.image.startswith("data:image/png;base64,"):
                img = QImage.fromData(base64.b64decode(w.image.split(",", 1)[1]), "PNG")
                item.setIcon(QIcon(QPixmap.fromImage(img)))
            self.worst.addItem(item)

    def _plot_histogram(self, output) -> None:
        import pyqtgraph as pg

        if self.plot is None:
            self.plot = pg.PlotWidget(background="w")
            self.plot.setLabel("bottom", "|artifact − original|")
            self.plot.setLabel("left", "values")
            for side in ("bottom", "left"):  # plain numbers (0.02), not a "(x0.001)" scale beside the axis title
                self.plot.getAxis(side).enableAutoSIPrefix(False)
            self.plot_box.layout().addWidget(self.plot)
        self.plot.clear()
        h = output.histogram if output is not None else None
        if h is None or not h.counts:
            return
        width = (h.edges[-1] - h.edges[0]) / max(1, len(h.counts))
        centers = [(h.edges[i] + h.edges[i + 1]) / 2 for i in range(len(h.counts))]
        self.plot.addItem(pg.BarGraphItem(x=centers, height=h.counts, width=width * 0.9, brush="#4a7bd0"))

    def _save_report(self) -> None:
        """Ask where (the output folder's report.html first), write the report there, and offer to open it."""
        from edgewizard.core.report import REPORT_FILE, write_report

        folder = Path(self.state.output_folder)
        start = folder if folder.is_dir() else Path(self.settings.last_dir("report") or Path.home())
        chosen, _ = QFileDialog.getSaveFileName(self, "Save report", str(start / REPORT_FILE),
                                                "Web page (*.html *.htm)")
        if not chosen:
            return
        target = Path(chosen)
        if target.suffix.lower() not in (".html", ".htm"):
            target = target.with_name(target.name + ".html")
        try:
            path = write_report(folder, target)
        except (EdgeWizardError, OSError) as exc:
            why = plain(exc.message) if isinstance(exc, EdgeWizardError) else f"{target}: {exc}"
            self.banner.show_message(f"The report could not be saved. {why}", "error")
            return
        self.settings.set_last_dir("report", str(path.parent))
        self.report_bar.saved(path)


if __name__ == "__main__":
    import sys

    from .base import load_sample

    sys.exit(preview(VerifyPage, lambda state, jobs, page: load_sample(state, jobs)))
