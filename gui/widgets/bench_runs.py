"""The Benchmark step's runs side by side: one row per run with speed-ups against a chosen baseline, and
export of a run (CSV of samples, JSON summary, PNG of the plots). A failed run says why (in its Status
cell and on hover), is never the baseline, and can be removed like any finished run. A run measured on an
earlier model's files stays, greyed and labelled with the model it measured."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from edgewizard.core.bench.result import write_csv, write_json
from edgewizard.core.bench.runner import BenchRun
from edgewizard.core.devices import by_bench

from .latency_plots import in_unit, unit_for
from .plain_words import plain

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
TABLE = ("Run", "Model", "Device", "Precision", "N", "Median", "p90", "p99", "/s", "First", "Speed-up", "Status")
TIMES = ("Median", "p90", "p99", "First")  # columns of times: their unit (ms or µs) is in the header
TABLE_TIPS = {"Precision": "what the device computed in (OpenVINO reports it; a TensorFlow Lite model runs as it was converted)",
              "N": "inferences measured", "Median": "half the inferences were faster", "p90": "90% were faster",
              "p99": "99% were faster", "/s": "inferences per second", "First": "the very first inference, cold",
              "Speed-up": "median of the baseline run / median of this run"}
EARLIER = QColor("#8a8a8a")
FAILED = QColor("#b00020")
# What a conversion target's file computes in, in the words of the Target step.
FILE_PRECISION = {"tflite-float": "float32", "tflite-fp16": "float16", "tflite-dynamic": "int8 weights",
                  "tflite-int8": "int8", "edgetpu": "int8", "openvino-fp32": "float32", "openvino-fp16": "float16",
                  "openvino-int8": "int8"}
# Command-line words in messages written for the CLI, and what to click instead.
_REASONS = (("hung", "stopped: it hung"), ("could not compile", "the device could not compile the model"),
            ("could not open", "could not open the model"), ("could not read", "could not open the model"),
            ("not a valid", "could not open the model"), ("cannot run", "the runtime cannot run this model"),
            ("not fixed in size", "input sizes are not fixed"), ("input data", "the input data does not fit"),
            ("ssh could not reach", "could not reach the computer"), ("not installed", "a runtime is missing"),
            ("not found", "a runtime is missing"), ("failed after", "the runtime failed while measuring"),
            ("stopped unexpectedly", "the benchmark stopped unexpectedly"), ("replug", "the device did not open"))


def fmt(v, digits=2) -> str:
    return "—" if v is None else (f"{v:,}" if isinstance(v, int) else f"{v:.{digits}f}")


def short_reason(message: str) -> str:
    """A few words for a run's Status cell: 'could not open the model'."""
    low = message.lower()
    for key, words in _REASONS:
        if key in low:
            return words
    first = message.split(". ")[0].split(": ")[0].strip().rstrip(".")
    return first if len(first) <= 40 else first[:39].rstrip() + "…"


def device_words(device: str) -> str:
    """The catalogue's short name of a bench device ('OpenVINO CPU'), not its id."""
    entry = by_bench(device)
    return entry.short if entry else device.replace(":", " ")


class Run:
    """One benchmark run on the page: the core BenchRun, its samples as plotted, its curve, its bench key
    (core/plan.py bench_key), and for a file of a conversion its sha256 as the manifest lists it, the model
    file it was converted from and the conversion target (all empty for a file picked by hand)."""

    def __init__(self, number: int, bench: BenchRun, colour: str, sha256: str = "", key: str = "",
                 source_name: str = "", target: str = "") -> None:
        import numpy as np

        self.number, self.bench, self.colour = number, bench, colour
        self.sha256, self.key, self.source_name, self.target = sha256, key, source_name, target
        self.earlier = ""  # why it is not a run of the files open now ("earlier model: a.h5"), else ""
        self.values = np.empty(1024, dtype=np.float64)
        self.n = 0
        self.curve = None
        self.marks = None
        self.result = None
        self.saved: list[Path] = []  # the files written for the report (bench-<n>.json/.csv)

    def pull(self) -> int:
        import numpy as np

        new = self.bench.take_new()
        if new:
            while self.n + len(new) > len(self.values):
                self.values = np.resize(self.values, 2 * len(self.values))
            self.values[self.n:self.n + len(new)] = new
            self.n += len(new)
        return len(new)

    @property
    def failed(self) -> bool:
        return self.bench.done and self.bench.error is not None

    @property
    def reason(self) -> str:
        """Why it failed, in full ("" when it did not)."""
        return plain(self.bench.error.message) if self.failed else ""

    @property
    def status(self) -> str:
        if self.failed:
            return f"failed: {short_reason(self.bench.error.message)}"
        return self.result.status if self.result else "starting"

    @property
    def precision(self) -> str:
        """What the file holds (from its conversion), else what OpenVINO computed in; "" when unknown."""
        if self.target in FILE_PRECISION:
            return FILE_PRECISION[self.target]
        return self.result.precision if self.result and self.result.precision else ""

    @property
    def where_words(self) -> str:
        where = self.bench.request.where
        return f" on {where.ssh_host}" if where.remote else " (another Python)" if where.python else ""

    @property
    def label(self) -> str:
        r = self.bench.request
        precision = f" ({self.precision})" if self.precision else ""
        earlier = f" [{self.earlier}]" if self.earlier else ""
        return f"#{self.number} {Path(r.model).name}{precision} on {device_words(r.device)}{self.where_words}{earlier}"


class _DeleteKey(QObject):
    """Delete (or Backspace) on the table asks to remove the selected run."""

    def __init__(self, table: "RunTable") -> None:
        super().__init__(table)
        self._table = table

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.KeyPress and event.key() in (Qt.Key_Delete, Qt.Key_Backspace):
            self._table.remove_selected()
            return True
        return False


class RunTable(QWidget):
    """The runs of a page (the same list object the page appends to), a baseline and the export buttons."""

    remove_requested = Signal(object)  # a Run the person asked to remove
    selected = Signal(object)  # the Run selected in the table, or None

    def __init__(self, runs: list[Run], folder: Callable[[], str], settings, plot: Callable[[], Optional[QWidget]],
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.runs, self._folder, self._settings, self._plot = runs, folder, settings, plot
        self._choice: Optional[int] = None  # the baseline run the person chose; None: the first successful run
        cv = QVBoxLayout(self)
        cv.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel("<b>Runs</b> — speed-up against:", self))
        self.baseline = QComboBox(self)
        self.baseline.setAccessibleName("Baseline run")
        self.baseline.setToolTip("The run the others are compared with; a failed run is never offered")
        self.baseline.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.baseline.setMinimumContentsLength(18)
        top.addWidget(self.baseline, 1)
        self.remove = QPushButton("&Remove run", self)
        self.remove.setToolTip("Remove the selected run from the plot and the table (Delete key)")
        self.remove.setEnabled(False)
        top.addWidget(self.remove)
        self.export_csv = QPushButton("Export &CSV…", self)
        self.export_json = QPushButton("Export &JSON…", self)
        self.export_png = QPushButton("Save &plot…", self)
        for b in (self.export_csv, self.export_json, self.export_png):
            b.setEnabled(False)
            top.addWidget(b)
        cv.addLayout(top)
        self.table = QTableWidget(0, len(TABLE), self)
        self.table.setHorizontalHeaderLabels(TABLE)
        for c, name in enumerate(TABLE):
            if name in TABLE_TIPS:
                self.table.horizontalHeaderItem(c).setToolTip(TABLE_TIPS[name])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.setSelectionMode(QTableWidget.SingleSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.ElideNone)
        self.table.setAccessibleName("Benchmark runs")
        self.table.installEventFilter(_DeleteKey(self))
        cv.addWidget(self.table)
        self.baseline.currentIndexChanged.connect(self._baseline_chosen)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.remove.clicked.connect(self.remove_selected)
        self.export_csv.clicked.connect(self._export_csv)
        self.export_json.clicked.connect(self._export_json)
        self.export_png.clicked.connect(self._export_png)

    def added(self, run: Run) -> None:
        self.refresh()

    def finished(self) -> None:
        for b in (self.export_csv, self.export_json, self.export_png):
            b.setEnabled(bool(self.runs))
        self._update_remove()

    # -- the baseline
    def baseline_run(self) -> Optional[Run]:
        return next((r for r in self.runs if r.number == self.baseline.currentData()), None)

    def _default_baseline(self) -> Optional[Run]:
        """The first run that measured something and did not fail; while none has, the first that may."""
        ok = [r for r in self.runs if not r.failed]
        done = [r for r in ok if r.bench.done and r.result and r.result.count]
        return (done or ok or [None])[0]

    def _baseline_chosen(self) -> None:
        self._choice = self.baseline.currentData()
        self.refresh()

    def _sync_baseline(self) -> None:
        offered = [r for r in self.runs if not r.failed]
        numbers = [r.number for r in offered]
        if self._choice not in numbers:
            self._choice = None  # removed, or failed: back to the default
        default = self._default_baseline()
        want = self._choice if self._choice is not None else (default.number if default else None)
        self.baseline.blockSignals(True)
        if [self.baseline.itemData(i) for i in range(self.baseline.count())] != numbers:
            self.baseline.clear()
            for r in offered:
                self.baseline.addItem(r.label, r.number)
        for i, r in enumerate(offered):
            if self.baseline.itemText(i) != r.label:
                self.baseline.setItemText(i, r.label)
        self.baseline.setCurrentIndex(self.baseline.findData(want) if want is not None else -1)
        self.baseline.blockSignals(False)

    # -- the table
    def refresh(self) -> None:
        self._sync_baseline()
        base = self.baseline_run()
        base_median = base.result.median_ms if base and base.result else None
        column = {name: c for c, name in enumerate(TABLE)}
        units = {}
        for name, key in zip(TIMES, ("median_ms", "p90_ms", "p99_ms", "first_ms")):
            values = [getattr(r.result, key) for r in self.runs if r.result and getattr(r.result, key) is not None]
            units[name] = unit_for(max(values))[0] if values else "ms"
            self.table.horizontalHeaderItem(column[name]).setText(f"{name} ({units[name]})")
        self.table.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            res, req = run.result, run.bench.request
            speed = (f"{base_median / res.median_ms:.2f}×" if base_median and res and res.median_ms and not run.failed else "—")
            precision = res.precision if res and res.precision else "—" if req.device.startswith("openvino:") else "as converted"
            model = Path(req.model).name + (f" ({run.earlier})" if run.earlier else "")
            values = (f"#{run.number}", model, device_words(req.device) + run.where_words, precision,
                      fmt(res.count if res else None), in_unit(res and res.median_ms, units["Median"]),
                      in_unit(res and res.p90_ms, units["p90"]), in_unit(res and res.p99_ms, units["p99"]),
                      fmt(res and res.throughput_fps, 1), in_unit(res and res.first_ms, units["First"]), speed, run.status)
            tip = self._tip(run)
            for c, v in enumerate(values):
                item = QTableWidgetItem(str(v))
                if c == 0:
                    item.setForeground(Qt.white)
                    item.setBackground(EARLIER if run.earlier else QColor(run.colour))
                elif run.earlier:
                    item.setForeground(EARLIER)
                elif run.failed and c == column["Status"]:
                    item.setForeground(FAILED)
                if c >= column["N"] and c != column["Status"]:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                item.setToolTip(tip)
                self.table.setItem(row, c, item)
        self._update_remove()

    @staticmethod
    def _tip(run: Run) -> str:
        req = run.bench.request
        lines = [run.label]
        if run.failed:
            lines.append(f"Failed: {run.reason}")
        if run.earlier:
            lines.append(f"Measured {Path(req.model).name}, converted from {run.source_name or 'another model'}: "
                         "not one of the files converted from the model open now.")
        if run.precision and run.target:
            lines.append(f"The file holds {run.precision}; the Precision column is what the device computed in.")
        if run.result is not None and getattr(run.result, "profile", None) is not None:
            lines.append("Each op was timed too: select the run and open Time per op.")
        return "\n".join(lines)

    # -- removing
    def _selected(self) -> Optional[Run]:
        rows = self.table.selectionModel().selectedRows()
        return self.runs[rows[0].row()] if rows and rows[0].row() < len(self.runs) else None

    def _update_remove(self) -> None:
        run = self._selected()
        self.remove.setEnabled(run is not None and run.bench.done)  # a running run is stopped first

    def _selection_changed(self) -> None:
        self._update_remove()
        self.selected.emit(self._selected())

    def remove_selected(self) -> None:
        run = self._selected()
        if run is not None and run.bench.done:
            self.remove_requested.emit(run)

    def removed(self, run: Run) -> None:
        """After the page took `run` out of the list: the table, the baseline and the buttons follow."""
        self.table.clearSelection()
        self.refresh()
        if not self.runs:
            for b in (self.export_csv, self.export_json, self.export_png):
                b.setEnabled(False)

    # -- export
    def selected_run(self) -> Optional[Run]:
        return self._selected() or (self.runs[-1] if self.runs else None)

    def _save_name(self, title: str, suffix: str, filters: str) -> str:
        run = self.selected_run()
        start = str(Path(self._folder() or self._settings.last_dir("bench") or ".") / f"bench-{run.number}{suffix}")
        path, _ = QFileDialog.getSaveFileName(self, title, start, filters)
        return path

    def _export_csv(self) -> None:
        run = self.selected_run()
        path = run and self._save_name("Export samples", ".csv", "CSV (*.csv)")
        if path:
            write_csv(Path(path), run.bench.samples.snapshot(), run.bench.warmup.snapshot())

    def _export_json(self) -> None:
        run = self.selected_run()
        path = run and self._save_name("Export summary", ".json", "JSON (*.json)")
        if path:
            write_json(Path(path), run.bench.result())

    def _export_png(self) -> None:
        plot = self._plot()
        path = self.runs and plot is not None and self._save_name("Save plot", ".png", "PNG images (*.png)")
        if path:
            plot.grab().save(path)
