"""Step 1, Model: open a model file or folder (dialog, drag-and-drop, recent files, the sample) and
see what it is: format, inputs, outputs, op counts, parameters, size."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QProgressBar, QPushButton, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from edgewizard.core.files import human_bytes
from edgewizard.core.graph import FORMATS, ModelInfo
from edgewizard.core.plan import LoadOptions
from edgewizard.core.samples import sample_model_path

from ..jobs_qt import INSPECT, is_cancel
from ..widgets.compact import compact_rows
from .base import WizardPage, preview
MODEL_FILTER = "Models (*.keras *.h5 *.hdf5 *.pb *.pbtxt *.meta *.tflite *.xml *.onnx);;All files (*)"


def tensor_table(parent: QWidget, headers=("Name", "Shape", "Type")) -> QTableWidget:
    table = QTableWidget(0, len(headers), parent)
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectRows)
    compact_rows(table)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
    for i in range(1, len(headers)):
        table.horizontalHeader().setSectionResizeMode(i, QHeaderView.ResizeToContents)
    return table


def fill(table: QTableWidget, rows) -> None:
    table.setRowCount(0)
    for r, values in enumerate(rows):
        table.insertRow(r)
        for c, v in enumerate(values):
            item = QTableWidgetItem(str(v))
            if isinstance(v, int):
                item.setData(Qt.DisplayRole, v)
            table.setItem(r, c, item)


class ModelPage(WizardPage):
    step = "Model"
    title = "Model"
    subtitle = ("Open the trained model you want to run on your accelerator: a Keras .keras or .h5 file, a "
                "TensorFlow SavedModel folder, a frozen .pb, a .meta checkpoint, a .tflite, an OpenVINO .xml or an "
                ".onnx file. You can also drop it onto this window.")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._pending = ""  # path being loaded
        self._loading = False
        self._job = None
        row = QHBoxLayout()
        self.open_file = QPushButton("&Open model file…", self)
        self.open_folder = QPushButton("Open Saved&Model folder…", self)
        self.use_sample = QPushButton("Use the &sample model", self)
        self.recent = QComboBox(self)
        self.recent.setAccessibleName("Recent models")
        self.recent.setMinimumWidth(240)
        recent_label = QLabel("&Recent:", self)
        recent_label.setBuddy(self.recent)
        for w in (self.open_file, self.open_folder, self.use_sample):
            row.addWidget(w)
        row.addStretch(1)
        row.addWidget(recent_label)
        row.addWidget(self.recent)
        self.body.addLayout(row)

        options = QGroupBox("Loading options", self)
        form = QFormLayout(options)
        self.custom_objects = QLineEdit(self)
        self.custom_objects.setPlaceholderText("Only for models with custom layers: a Python file defining them")
        browse = QPushButton("&Browse…", self)
        browse.clicked.connect(self._browse_custom_objects)
        line = QHBoxLayout()
        line.addWidget(self.custom_objects, 1)
        line.addWidget(browse)
        label = QLabel("Custom &objects file:", self)
        label.setBuddy(self.custom_objects)
        form.addRow(label, line)
        self.allow_unsafe = QCheckBox("Allow unsafe &Lambda layers", self)
        warn = QLabel("A Lambda layer carries Python code that runs when the model is opened. "
                      "Tick this only for a model file you trust.", self)
        warn.setWordWrap(True)
        warn.setStyleSheet("color:#8a4b00;")
        form.addRow(self.allow_unsafe, warn)
        self.body.addWidget(options)

        busy = QHBoxLayout()
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(240)
        self.progress_label = QLabel(self)
        self.cancel = QPushButton("Cancel", self)
        self.cancel.clicked.connect(lambda: self._job is not None and self._job.cancel())
        busy.addWidget(self.progress)
        busy.addWidget(self.progress_label, 1)
        busy.addWidget(self.cancel)
        self.busy_row = QWidget(self)
        self.busy_row.setLayout(busy)
        self.busy_row.hide()
        self.body.addWidget(self.busy_row)

        self.summary_box = QGroupBox("This model", self)
        summary = QVBoxLayout(self.summary_box)
        facts = QFormLayout()
        self.facts = {k: QLabel(self) for k in ("File", "Format", "Size", "Parameters", "Nodes")}
        for k, v in self.facts.items():
            v.setTextInteractionFlags(Qt.TextSelectableByMouse)
            v.setWordWrap(True)
            facts.addRow(f"{k}:", v)
        self.notes = QLabel(self)
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet("color:#555;")
        summary.addLayout(facts)
        summary.addWidget(self.notes)
        split = QSplitter(Qt.Horizontal, self)
        self.inputs = tensor_table(self)
        self.outputs = tensor_table(self)
        self.ops = tensor_table(self, ("Op", "Count"))
        for title, table in (("Inputs", self.inputs), ("Outputs", self.outputs), ("Ops", self.ops)):
            box = QGroupBox(title, self)
            QVBoxLayout(box).addWidget(table)
            split.addWidget(box)
        split.setSizes([300, 300, 220])
        summary.addWidget(split, 1)
        self.body.addWidget(self.summary_box, 1)
        self.summary_box.hide()
        self.empty = QLabel("No model open yet.", self)
        self.empty.setAlignment(Qt.AlignCenter)
        self.empty.setStyleSheet("color:#777; font-size:14px;")
        self.body.addWidget(self.empty, 1)

        self.open_file.clicked.connect(self._choose_file)
        self.open_folder.clicked.connect(self._choose_folder)
        self.use_sample.clicked.connect(lambda: self.open_model(str(sample_model_path())))
        self.recent.activated.connect(self._open_recent)
        self.jobs.busyChanged.connect(self._on_busy)
        self.state.modelChanged.connect(self._show_model)
        self._refresh_recent()

    # -- opening
    def load_options(self) -> LoadOptions:
        return LoadOptions(custom_objects=self.custom_objects.text().strip() or None,
                           allow_unsafe=self.allow_unsafe.isChecked())

    def open_model(self, path: str) -> None:
        """Inspect `path` in the worker; the state changes when it has loaded."""
        if self.jobs.busy:
            self.banner.show_message("Another step is still running; wait for it or cancel it first.", "warning")
            return
        self.banner.clear()
        self._pending = os.path.abspath(os.path.expanduser(path))
        self.progress_label.setText(f"Opening {Path(self._pending).name}…")
        options = self.load_options()
        job = self._job = self.jobs.start(INSPECT, self._pending, options)
        job.progress.connect(self._on_progress)
        job.done.connect(lambda info, path=self._pending: self._on_finished(path, options, info))
        job.failed.connect(self._on_failed)
        self._loading = True
        self._on_busy(True)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", self.settings.last_dir("models"), MODEL_FILTER)
        if path:
            self.settings.set_last_dir("models", str(Path(path).parent))
            self.open_model(path)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open SavedModel folder", self.settings.last_dir("models"))
        if path:
            self.settings.set_last_dir("models", str(Path(path).parent))
            self.open_model(path)

    def _browse_custom_objects(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Custom objects file", self.settings.last_dir("models"),
                                              "Python files (*.py)")
        if path:
            self.custom_objects.setText(path)

    def _open_recent(self, index: int) -> None:
        path = self.recent.itemData(index)
        if path:
            self.open_model(path)

    def _refresh_recent(self) -> None:
        self.recent.clear()
        items = self.settings.recent_models()
        self.recent.addItem("(none yet)" if not items else "Choose a recent model…", "")
        for p in items:
            self.recent.addItem(Path(p).name, p)
            self.recent.setItemData(self.recent.count() - 1, p, Qt.ToolTipRole)
        self.recent.setEnabled(bool(items))

    # -- job events
    def _on_busy(self, busy: bool) -> None:
        if not busy:
            self._loading = False
        self.busy_row.setVisible(busy and self._loading)
        for w in (self.open_file, self.open_folder, self.use_sample, self.recent):
            w.setEnabled(not busy)
        if not busy:
            self.recent.setEnabled(bool(self.settings.recent_models()))

    def _on_progress(self, fraction, message: str) -> None:
        if message:
            self.progress_label.setText(message)

    def _on_finished(self, path: str, options: LoadOptions, info: ModelInfo) -> None:
        self._pending = ""
        self.settings.add_recent_model(path)
        self._refresh_recent()
        self.state.set_model(path, options, info)

    def _on_failed(self, error) -> None:
        self._pending = ""
        if is_cancel(error):
            self.banner.show_message("Opening the model was cancelled.", "info")
        else:
            self.banner.show_error(error)

    # -- showing
    def _show_model(self) -> None:
        info = self.state.model
        self.summary_box.setVisible(info is not None)
        self.empty.setVisible(info is None)
        if info is None:
            return
        self.facts["File"].setText(info.path)
        self.facts["Format"].setText(FORMATS.get(info.format, info.format))
        self.facts["Size"].setText(human_bytes(info.size_bytes))
        self.facts["Parameters"].setText(f"{info.param_count:,}")
        self.facts["Nodes"].setText(str(len(info.graph.nodes)))
        self.notes.setText("\n".join(info.notes))
        fill(self.inputs, [(t.name, t.shape_text(), t.dtype) for t in info.graph.inputs])
        fill(self.outputs, [(t.name, t.shape_text(), t.dtype) for t in info.graph.outputs])
        fill(self.ops, list(info.graph.op_counts().items()))


if __name__ == "__main__":
    import sys

    sys.exit(preview(ModelPage, lambda state, jobs, page: page.open_model(str(sample_model_path()))))
