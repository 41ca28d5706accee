"""The Benchmark step's runs side by side: one row per run with speed-ups against a chosen baseline, and
export of a run (CSV of samples, JSON summary, PNG of the plot). A run measured on an earlier model's
files stays, greyed and labelled with the model it measured, never passed off as one of the files open now."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from edgewizard.core.bench.result import write_csv, write_json
from edgewizard.core.bench.runner import BenchRun

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
TABLE = ("Run", "Model", "Device", "Precision", "N", "Median", "p90", "p99", "/s", "First", "Speed-up", "Status")
TABLE_TIPS = {"Precision": "what the device computed in (OpenVINO reports it; a TensorFlow Lite model runs as it was converted)",
              "N": "inferences measured", "Median": "ms", "p90": "ms", "p99": "ms",
              "/s": "inferences per second", "First": "the very first inference, cold (ms)",
              "Speed-up": "median of the baseline run / median of this run"}
EARLIER = QColor("#8a8a8a")


def fmt(v, digits=2) -> str:
    return "—" if v is None else (f"{v:,}" if isinstance(v, int) else f"{v:.{digits}f}")


class Run:
    """One benchmark run on the page: the core BenchRun, its samples as plotted, its curve, its bench key
    (core/plan.py bench_key), and for a file of a conversion its sha256 as the manifest lists it and the
    model file it was converted from (both empty for a file picked by hand)."""

    def __init__(self, number: int, bench: BenchRun, colour: str, sha256: str = "", key: str = "",
                 source_name: str = "") -> None:
        import numpy as np

        self.number, self.bench, self.colour = number, bench, colour
        self.sha256, self.key, self.source_name = sha256, key, source_name
        self.earlier = ""  # why it is not a run of the files open now ("earlier model: a.h5"), else ""
        self.values = np.empty(1024, dtype=np.float64)
        self.n = 0
        self.curve = None
        self.result = None

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
    def label(self) -> str:
        r = self.bench.request
        earlier = f" ({self.earlier})" if self.earlier else ""
        return f"#{self.number} {Path(r.model).name} on {r.device}{earlier}"


class RunTable(QWidget):
    """The runs of a page (the same list object the page appends to), a baseline and the export buttons."""

    def __init__(self, runs: list[Run], folder: Callable[[], str], settings, plot: Callable[[], Optional[QWidget]],
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.runs, self._folder, self._settings, self._plot = runs, folder, settings, plot
        cv = QVBoxLayout(self)
        cv.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel("<b>Runs</b> — speed-up against:", self))
        self.baseline = QComboBox(self)
        self.baseline.setAccessibleName("Baseline run")
        self.baseline.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        top.addWidget(self.baseline, 1)
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
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(False)
        self.table.setAccessibleName("Benchmark runs")
        cv.addWidget(self.table)
        self.baseline.currentIndexChanged.connect(self.refresh)
        self.export_csv.clicked.connect(self._export_csv)
        self.export_json.clicked.connect(self._export_json)
        self.export_png.clicked.connect(self._export_png)

    def added(self, run: Run) -> None:
        self.baseline.addItem(run.label, run.number)
        self.refresh()

    def finished(self) -> None:
        for b in (self.export_csv, self.export_json, self.export_png):
            b.setEnabled(True)

    def refresh(self) -> None:
        base = next((r for r in self.runs if r.number == self.baseline.currentData()), None)
        base_median = base.result.median_ms if base and base.result else None
        self.table.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            res, req = run.result, run.bench.request
            speed = (f"{base_median / res.median_ms:.2f}×" if base_median and res and res.median_ms else "—")
            status = res.status if res else "starting"
            device = req.device if not (req.where.remote or req.where.python) else f"{req.device} ({req.where.label})"
            precision = res.precision if res and res.precision else "—" if req.device.startswith("openvino:") else "as converted"
            model = Path(req.model).name + (f" ({run.earlier})" if run.earlier else "")
            values = (f"#{run.number}", model, device, precision,
                      fmt(res.count if res else None), fmt(res and res.median_ms), fmt(res and res.p90_ms),
                      fmt(res and res.p99_ms), fmt(res and res.throughput_fps, 1),
                      fmt(res and res.first_ms), speed, status)
            for c, v in enumerate(values):
                item = QTableWidgetItem(str(v))
                if c == 0:
                    item.setForeground(Qt.white)
                    item.setBackground(EARLIER if run.earlier else QColor(run.colour))
                elif run.earlier:
                    item.setForeground(EARLIER)
                if run.earlier:
                    item.setToolTip(f"Measured {Path(req.model).name}, converted from {run.source_name or 'another model'}: "
                                    "not one of the files converted from the model open now.")
                self.table.setItem(row, c, item)
            index = self.baseline.findData(run.number)
            if index >= 0:
                self.baseline.setItemText(index, run.label)

    # -- export
    def selected_run(self) -> Optional[Run]:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            return self.runs[rows[0].row()]
        return self.runs[-1] if self.runs else None

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
