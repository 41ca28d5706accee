"""Step 6, Benchmark: run a converted model on a device (here, under another Python, or on another
machine over ssh) with a live latency plot and running statistics; the runs side by side, with
speed-ups and export, are gui/widgets/bench_runs.py."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QSpinBox, QSplitter, QVBoxLayout, QWidget)

from edgewizard.core.bench.launch import Where
from edgewizard.core.bench.result import write_csv, write_json
from edgewizard.core.bench.runner import BenchRequest, BenchRun, default_device
from edgewizard.core.devices import devices
from edgewizard.core.errors import EdgeWizardError

from ..state import converted_files
from ..widgets.bench_runs import COLOURS, TABLE, Run, RunTable, fmt  # noqa: F401 (TABLE: the tests read it here)
from .base import WizardPage, preview

STATS = ("count", "first_ms", "median_ms", "p90_ms", "p99_ms", "mean_ms", "min_ms", "max_ms", "throughput_fps")
PRECISIONS = ((None, "Device default"), ("f32", "float32 (exact)"), ("f16", "float16"), ("bf16", "bfloat16"))


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
        for d in devices():  # the device catalogue's, in its order; the CPU's runtime is chosen first
            if d.bench:
                self.device.addItem(d.title, d.bench)
        self.device.setCurrentIndex(self.device.findData("tflite:CPU"))
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
        self.compare = RunTable(self.runs, lambda: self.state.output_folder, self.settings,
                                lambda: self.trace if self._plot_ready else None, self)
        # the page's names for the comparison's parts, as the tests and scripts use them
        c = self.compare
        self.table, self.baseline = c.table, c.baseline
        self.export_csv, self.export_json, self.export_png = c.export_csv, c.export_json, c.export_png
        right.addWidget(self.compare)
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
        self.device.currentIndexChanged.connect(self._pick_model_for_device)
        self._discovery = None  # the device discovery Job, once started
        self.state.modelChanged.connect(self._plan_changed)
        self.state.conversionChanged.connect(self._plan_changed)
        self._fill_models()

    # -- choices
    def _plan_changed(self) -> None:
        """Another model or conversion: only its files are offered, and runs of other files say so."""
        self._fill_models()
        self._mark_earlier_runs()

    def _fill_models(self) -> None:
        self.model.clear()
        for path, _ in converted_files(self.state.manifest, self.state.output_folder or "."):
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

    def _measured(self, path: str) -> tuple[str, str]:
        """(sha256 of the file, name of the model it was converted from) for a file of the current
        conversion; ("", "") for a file picked by hand."""
        manifest = self.state.manifest
        for p, target in converted_files(manifest, self.state.output_folder or "."):
            if str(p) == path:
                entry = next((f for f in manifest.artifact(target).files if f.name == p.name), None)
                return (entry.sha256 if entry else ""), Path(self.state.source).name
        return "", ""

    def _mark_earlier_runs(self) -> None:
        manifest = self.state.manifest
        now = {f.sha256 for a in manifest.artifacts for f in a.files} if manifest is not None else set()
        model = Path(self.state.source).name if self.state.source else ""
        for run in self.runs:
            if not run.sha256 or run.sha256 in now:  # a file picked by hand is labelled by its name alone
                run.earlier = ""
            elif run.source_name != model:
                run.earlier = f"earlier model: {run.source_name}"
            else:
                run.earlier = "an earlier conversion"
            if run.curve is not None:
                run.curve.setOpacity(0.35 if run.earlier else 1.0)
        self.compare.refresh()

    # -- running
    def on_enter(self) -> None:
        # Discovery runs the bench agent in a subprocess of its own: it does not queue behind the worker's
        # TensorFlow warm-up or a conversion.
        if self._discovery is None:
            from edgewizard.core.bench.devices import discover

            self.devices_label.setText("Looking for runtimes and accelerators…")
            self._discovery = self.jobs.call(discover)
            self._discovery.done.connect(self._on_discovered)
            self._discovery.failed.connect(self._on_discovery_failed)

    def _on_discovery_failed(self, error) -> None:
        self._discovery = None  # looked for again on the next visit
        self.devices_label.setText(f"Could not look for devices: {error}")

    def _on_discovered(self, found) -> None:
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
        sha, source = self._measured(req.model)
        run = Run(len(self.runs) + 1, bench, COLOURS[len(self.runs) % len(COLOURS)], sha, bench.plan_key, source)
        import pyqtgraph as pg

        run.curve = self.trace.plot([], [], pen=pg.mkPen(run.colour, width=1), name=run.label)
        self.runs.append(run)
        self.active = run
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.compare.added(run)
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
            self.compare.refresh()
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
        self.compare.finished()
        run.result = run.bench.result()
        self._show_stats(run)
        self.compare.refresh()
        if run.bench.error is not None:
            said = "kept" in run.bench.error.message  # the runner's own words may say so already
            kept = f" The {run.n} inferences measured before it stopped are kept." if run.n and not said else ""
            self.banner.show_message(run.bench.error.message + kept, "error", run.bench.error.details)
        self._save_for_report(run)

    def _save_for_report(self, run: Run) -> None:
        """bench-<n>.json/.csv in the output folder, where the HTML report picks them up."""
        folder = Path(self.state.output_folder) if self.state.output_folder else None
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
            label.setText(fmt(d.get(key)))

    def shutdown(self) -> None:
        """Stop a running benchmark (window closing)."""
        if self.active is not None:
            self.active.bench.stop()
            self.active.bench.wait(10)


if __name__ == "__main__":
    import sys

    sys.exit(preview(BenchmarkPage))
