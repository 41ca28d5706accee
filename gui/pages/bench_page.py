"""Step 6, Benchmark: run a converted model on a device (here, under another Python, or on another
machine over ssh) with a live latency plot, running statistics, several runs side by side with
speed-ups against a baseline, and export (CSV of samples, JSON summary, PNG of the plot)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QPushButton, QSpinBox, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from edgewizard.core.bench.launch import Where
from edgewizard.core.bench.result import write_csv, write_json
from edgewizard.core.bench.runner import BenchRequest, BenchRun, default_device
from edgewizard.core.errors import EdgeWizardError

from ..state import converted_files
from .base import WizardPage, preview

DISCOVER = "edgewizard.core.bench.devices:discover"
DEVICES = (("tflite:CPU", "CPU with TensorFlow Lite (LiteRT)"), ("edgetpu", "Coral Edge TPU"),
           ("openvino:CPU", "Intel CPU with OpenVINO"), ("openvino:GPU", "Intel GPU with OpenVINO"),
           ("openvino:NPU", "Intel NPU with OpenVINO"), ("myriad", "Neural Compute Stick 2 (OpenVINO 2022.3)"))
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
STATS = ("count", "first_ms", "median_ms", "p90_ms", "p99_ms", "mean_ms", "min_ms", "max_ms", "throughput_fps")
PRECISIONS = ((None, "Device default"), ("f32", "float32 (exact)"), ("f16", "float16"), ("bf16", "bfloat16"))
TABLE = ("Run", "Model", "Device", "Precision", "N", "Median", "p90", "p99", "/s", "First", "Speed-up", "Status")
TABLE_TIPS = {"Precision": "what the device computed in (OpenVINO reports it; a TensorFlow Lite model runs as it was converted)",
              "N": "inferences measured", "Median": "ms", "p90": "ms", "p99": "ms",
              "/s": "inferences per second", "First": "the very first inference, cold (ms)",
              "Speed-up": "median of the baseline run / median of this run"}


def _fmt(v, digits=2) -> str:
    return "—" if v is None else (f"{v:,}" if isinstance(v, int) else f"{v:.{digits}f}")


class Run:
    """One benchmark run on the page: the core BenchRun, its samples as plotted, its curve."""

    def __init__(self, number: int, bench: BenchRun, colour: str) -> None:
        import numpy as np

        self.number, self.bench, self.colour = number, bench, colour
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
        return f"#{self.number} {Path(r.model).name} on {r.device}"


class BenchmarkPage(WizardPage):
    step = "Benchmark"
    title = "Benchmark"
    subtitle = ("Measure how fast a converted model runs: on this computer's CPU or accelerator, under another "
                "Python (for the NCS2's OpenVINO 2022.3 or Google's pycoral), or on a Raspberry Pi over ssh.")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.runs: list[Run] = []
        self.active: Optional[Run] = None
        self._plot_ready = False
        split = QSplitter(Qt.Horizontal, self)
        left = QWidget(self)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        what = QGroupBox("What and where", self)
        form = QFormLayout(what)
        self.model = QComboBox(self)
        self.model.setAccessibleName("Model file to benchmark")
        browse = QPushButton("…", self)
        browse.setFixedWidth(32)
        browse.setToolTip("Choose another .tflite or .xml file")
        browse.setAccessibleName("Choose another model file")
        browse.clicked.connect(self._browse_model)
        row = QHBoxLayout()
        row.addWidget(self.model, 1)
        row.addWidget(browse)
        model_label = QLabel("&Model:", self)
        model_label.setBuddy(self.model)
        form.addRow(model_label, row)
        self.device = QComboBox(self)
        for key, text in DEVICES:
            self.device.addItem(text, key)
        form.addRow("&Device:", self.device)
        self.where_kind = QComboBox(self)
        for key, text in (("here", "This computer"), ("python", "This computer, another Python"),
                          ("ssh", "Another computer, over ssh")):
            self.where_kind.addItem(text, key)
        form.addRow("W&here:", self.where_kind)
        self.where_text = QLineEdit(self)
        self.where_text.setAccessibleName("Python path or ssh host")
        form.addRow("", self.where_text)
        self.where_kind.currentIndexChanged.connect(self._where_changed)
        self._where_changed()
        self.count = QSpinBox(self)
        self.count.setRange(1, 10_000_000)
        self.count.setValue(200)
        self.warmup = QSpinBox(self)
        self.warmup.setRange(0, 10000)
        self.warmup.setValue(5)
        self.threads = QSpinBox(self)
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("runtime default")
        form.addRow("&Inferences:", self.count)
        form.addRow("&Warm-up:", self.warmup)
        form.addRow("&Threads:", self.threads)
        self.precision = QComboBox(self)
        for key, text in PRECISIONS:
            self.precision.addItem(text, key)
        self.precision.setToolTip("What OpenVINO computes in. Left to itself, a CPU with AMX or AVX512-BF16 runs even "
                                  "a float32 model in bfloat16: faster, slightly less exact.")
        form.addRow("&Precision:", self.precision)
        self._default_precisions: dict[str, str] = {}
        self.device.currentIndexChanged.connect(self._device_changed)
        self._device_changed()
        self.data = QComboBox(self)
        self.data.addItem("Random inputs", "")
        form.addRow("Input data:", self.data)
        lv.addWidget(what)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("&Start", self)
        self.stop_button = QPushButton("St&op", self)
        self.stop_button.setEnabled(False)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        lv.addLayout(buttons)
        self.stats = QGridLayout()
        self.stat_labels = {}
        for i, key in enumerate(STATS):
            name = QLabel(key.replace("_ms", " (ms)").replace("_fps", " (/s)").replace("_", " ") + ":", self)
            value = QLabel("—", self)
            value.setTextInteractionFlags(Qt.TextSelectableByMouse)
            self.stats.addWidget(name, i, 0)
            self.stats.addWidget(value, i, 1)
            self.stat_labels[key] = value
        stats_box = QGroupBox("This run", self)
        stats_box.setLayout(self.stats)
        lv.addWidget(stats_box)
        self.devices_label = QLabel(self)
        self.devices_label.setWordWrap(True)
        self.devices_label.setStyleSheet("color:#555;")
        lv.addWidget(self.devices_label)
        self.missing_toggle = QPushButton("What is missing for the other devices…", self)
        self.missing_toggle.setCheckable(True)
        self.missing_toggle.hide()
        self.missing = QLabel(self)
        self.missing.setWordWrap(True)
        self.missing.setStyleSheet("color:#555; font-size:11px;")
        self.missing.hide()
        self.missing_toggle.toggled.connect(self.missing.setVisible)
        lv.addWidget(self.missing_toggle)
        lv.addWidget(self.missing)
        lv.addStretch(1)
        left.setMaximumWidth(330)
        split.addWidget(left)

        right = QSplitter(Qt.Vertical, self)
        self.plot_area = QWidget(self)
        QVBoxLayout(self.plot_area).setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.plot_area)
        compare = QWidget(self)
        cv = QVBoxLayout(compare)
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
        right.addWidget(compare)
        right.setSizes([420, 200])
        split.addWidget(right)
        split.setSizes([330, 700])
        self.body.addWidget(split, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(33)  # ~30 Hz: plots are redrawn from the buffer, never per sample
        self.timer.timeout.connect(self._tick)
        self._ticks = 0
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.baseline.currentIndexChanged.connect(self._refresh_table)
        self.export_csv.clicked.connect(self._export_csv)
        self.export_json.clicked.connect(self._export_json)
        self.export_png.clicked.connect(self._export_png)
        self.device.currentIndexChanged.connect(self._pick_model_for_device)
        self.jobs.finished.connect(self._on_discovered)
        self.state.conversionChanged.connect(self._fill_models)
        self._fill_models()

    # -- choices
    def _fill_models(self) -> None:
        self.model.clear()
        for path, _ in converted_files(self.state.manifest, self.state.request.output_dir or "."):
            self.model.addItem(path.name, str(path))
        self.data.clear()
        self.data.addItem("Random inputs", "")
        calib = self.state.request.options.calibration
        for _, src in calib.sources:
            if src.endswith((".npy", ".npz")):
                self.data.addItem(f"Calibration data ({Path(src).name})", src)
        if not self._pick_model_for_device() and self.model.count():
            # nothing converted runs on the chosen device (e.g. only the OpenVINO files were kept): switch device
            index = self.device.findData(default_device(self.model.itemText(0)))
            if index >= 0:
                self.device.setCurrentIndex(index)

    def _pick_model_for_device(self) -> bool:
        device = self.device.currentData() or ""
        want = "_edgetpu.tflite" if device == "edgetpu" else (".xml" if device.startswith(("openvino", "myriad")) else ".tflite")
        for i in range(self.model.count()):
            name = self.model.itemText(i)
            if name.endswith(want) and not (want == ".tflite" and name.endswith("_edgetpu.tflite")):
                self.model.setCurrentIndex(i)
                return True
        return False

    def _browse_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model to benchmark", self.settings.last_dir("bench"),
                                              "Converted models (*.tflite *.xml *.onnx)")
        if path:
            self.settings.set_last_dir("bench", str(Path(path).parent))
            self.model.addItem(Path(path).name, path)
            self.model.setCurrentIndex(self.model.count() - 1)

    def _where_changed(self) -> None:
        kind = self.where_kind.currentData()
        self.where_text.setEnabled(kind != "here")
        self.where_text.setPlaceholderText({"here": "", "python": "Path of a python with the runtime (e.g. an OpenVINO 2022.3 venv)",
                                            "ssh": "user@raspberrypi (from your ssh config; nothing is installed there)"}[kind])

    def where(self) -> Where:
        kind = self.where_kind.currentData()
        text = self.where_text.text().strip()
        if kind == "python":
            return Where(python=text or None)
        if kind == "ssh":
            return Where(ssh_host=text or None)
        return Where()

    def request(self) -> BenchRequest:
        openvino = str(self.device.currentData()).startswith("openvino:")
        return BenchRequest(model=self.model.currentData() or "", device=self.device.currentData(),
                            count=self.count.value(), warmup=self.warmup.value(),
                            threads=self.threads.value() or None, data=self.data.currentData() or None,
                            precision=self.precision.currentData() if openvino else None, where=self.where())

    def _device_changed(self) -> None:
        """Only OpenVINO lets a precision be chosen; its default is named once the device was found."""
        device = str(self.device.currentData())
        openvino = device.startswith("openvino:")
        self.precision.setEnabled(openvino)
        if not openvino:
            self.precision.setItemText(0, "As the model was converted")
            self.precision.setCurrentIndex(0)
            return
        default = self._default_precisions.get(device)
        self.precision.setItemText(0, f"Device default ({default})" if default else "Device default")
        self.precision.setItemData(0, f"What this {device.split(':')[1]} computes in unless told: {default}" if default
                                   else "What the device computes in unless told", Qt.ToolTipRole)

    # -- running
    def on_enter(self) -> None:
        if not self.devices_label.text() and not self.jobs.busy:
            self.devices_label.setText("Looking for runtimes and accelerators…")
            self.jobs.start(DISCOVER)

    def _on_discovered(self, func: str, found) -> None:
        if func != DISCOVER:
            return
        self._default_precisions = {d.device: d.default_precision for d in found.devices if d.default_precision}
        self._device_changed()
        ready = [d.title for d in found.devices if d.ready]
        missing = [f"<p><b>{d.title}</b>: {d.reason}</p>" for d in found.devices if not d.ready]
        self.devices_label.setText(f"Ready here: {', '.join(ready) or 'nothing'}.")
        self.missing.setText("".join(missing))
        self.missing_toggle.setVisible(bool(missing))

    def start(self) -> None:
        if self.active is not None:
            return
        if self.where_kind.currentData() == "ssh" and not self.where_text.text().strip():
            # an empty host must not quietly become a run on this machine
            self.banner.show_message("Give the ssh host (as in your ssh config, e.g. pi@raspberrypi).", "warning")
            return
        try:
            req = self.request()  # a refused ssh host or interpreter path is the person's to fix
        except EdgeWizardError as exc:
            self.banner.show_error(exc)
            return
        if not req.model:
            self.banner.show_message("Choose a model file to benchmark (convert first, or pick a file).", "warning")
            return
        self.banner.clear()
        try:
            bench = BenchRun(req).start()
        except EdgeWizardError as exc:
            self.banner.show_error(exc)
            return
        self._ensure_plot()
        run = Run(len(self.runs) + 1, bench, COLOURS[len(self.runs) % len(COLOURS)])
        import pyqtgraph as pg

        run.curve = self.trace.plot([], [], pen=pg.mkPen(run.colour, width=1), name=run.label)
        self.runs.append(run)
        self.active = run
        self.baseline.addItem(run.label, run.number)
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self._refresh_table()
        self.timer.start()

    def stop(self) -> None:
        if self.active is not None:
            self.active.bench.stop()

    def _tick(self) -> None:
        run = self.active
        if run is None:
            self.timer.stop()
            return
        self._ticks += 1
        if run.pull():
            run.curve.setData(run.values[:run.n])
        if self._ticks % 8 == 0 or run.bench.done:  # statistics sort all samples: a few times a second
            run.result = run.bench.result()
            self._show_stats(run)
            self._refresh_table()
        if self._ticks % 15 == 0 or run.bench.done:
            self._draw_histogram(run)
        if run.bench.done:
            run.pull()
            run.curve.setData(run.values[:run.n])
            self._finished(run)

    def _finished(self, run: Run) -> None:
        self.timer.stop()
        self.active = None
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        for b in (self.export_csv, self.export_json, self.export_png):
            b.setEnabled(True)
        run.result = run.bench.result()
        self._show_stats(run)
        self._refresh_table()
        if run.bench.error is not None:
            said = "kept" in run.bench.error.message  # the runner's own words may say so already
            kept = f" The {run.n} inferences measured before it stopped are kept." if run.n and not said else ""
            self.banner.show_message(run.bench.error.message + kept, "error", run.bench.error.details)
        self._save_for_report(run)

    def _save_for_report(self, run: Run) -> None:
        """bench-<n>.json/.csv in the output folder, where the HTML report picks them up."""
        folder = Path(self.state.request.output_dir) if self.state.request.output_dir else None
        if folder is None or not folder.is_dir() or not run.n:
            return
        try:
            write_json(folder / f"bench-{run.number}.json", run.result)
            write_csv(folder / f"bench-{run.number}.csv", run.bench.samples.snapshot(), run.bench.warmup.snapshot())
        except OSError as exc:
            self.banner.show_message(f"The benchmark results could not be saved to {folder}: {exc}.", "warning")

    # -- showing
    def _ensure_plot(self) -> None:
        if self._plot_ready:
            return
        import pyqtgraph as pg  # imported on first use: start-up stays fast

        self.trace = pg.PlotWidget(background="w", title="Latency per inference")
        self.trace.setLabel("left", "ms")
        self.trace.setLabel("bottom", "inference")
        self.trace.addLegend(offset=(-10, 10))
        self.trace.setDownsampling(auto=True, mode="peak")
        self.trace.setClipToView(True)
        self.trace.showGrid(y=True, alpha=0.3)
        self.hist = pg.PlotWidget(background="w", title="Distribution (this run)")
        self.hist.setLabel("bottom", "ms")
        self.plot_area.layout().addWidget(self.trace, 3)
        self.plot_area.layout().addWidget(self.hist, 2)
        self._plot_ready = True

    def _draw_histogram(self, run: Run) -> None:
        import numpy as np
        import pyqtgraph as pg

        if run.n < 2:
            return
        counts, edges = np.histogram(run.values[:run.n], bins=40)
        self.hist.clear()
        self.hist.addItem(pg.BarGraphItem(x0=edges[:-1], x1=edges[1:], height=counts, brush=run.colour))

    def _show_stats(self, run: Run) -> None:
        d = run.result.to_dict() if run.result else {}
        for key, label in self.stat_labels.items():
            label.setText(_fmt(d.get(key)))

    def _refresh_table(self) -> None:
        base = next((r for r in self.runs if r.number == self.baseline.currentData()), None)
        base_median = base.result.median_ms if base and base.result else None
        self.table.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            res, req = run.result, run.bench.request
            speed = (f"{base_median / res.median_ms:.2f}×" if base_median and res and res.median_ms else "—")
            status = res.status if res else "starting"
            device = req.device if not (req.where.remote or req.where.python) else f"{req.device} ({req.where.label})"
            precision = res.precision if res and res.precision else "—" if req.device.startswith("openvino:") else "as converted"
            values = (f"#{run.number}", Path(req.model).name, device, precision,
                      _fmt(res.count if res else None), _fmt(res and res.median_ms), _fmt(res and res.p90_ms),
                      _fmt(res and res.p99_ms), _fmt(res and res.throughput_fps, 1),
                      _fmt(res and res.first_ms), speed, status)
            for c, v in enumerate(values):
                item = QTableWidgetItem(str(v))
                if c == 0:
                    item.setForeground(Qt.white)
                    item.setBackground(QColor(run.colour))
                self.table.setItem(row, c, item)

    # -- export
    def _selected_run(self) -> Optional[Run]:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            return self.runs[rows[0].row()]
        return self.runs[-1] if self.runs else None

    def _save_name(self, title: str, suffix: str, filters: str) -> str:
        run = self._selected_run()
        start = str(Path(self.state.request.output_dir or self.settings.last_dir("bench") or ".") / f"bench-{run.number}{suffix}")
        path, _ = QFileDialog.getSaveFileName(self, title, start, filters)
        return path

    def _export_csv(self) -> None:
        run = self._selected_run()
        path = run and self._save_name("Export samples", ".csv", "CSV (*.csv)")
        if path:
            write_csv(Path(path), run.bench.samples.snapshot(), run.bench.warmup.snapshot())

    def _export_json(self) -> None:
        run = self._selected_run()
        path = run and self._save_name("Export summary", ".json", "JSON (*.json)")
        if path:
            write_json(Path(path), run.bench.result())

    def _export_png(self) -> None:
        path = self.runs and self._save_name("Save plot", ".png", "PNG images (*.png)")
        if path:
            self.trace.grab().save(path)

    def shutdown(self) -> None:
        """Stop a running benchmark (window closing)."""
        if self.active is not None:
            self.active.bench.stop()
            self.active.bench.wait(10)


if __name__ == "__main__":
    import sys

    sys.exit(preview(BenchmarkPage))
