"""The Benchmark step's "What and where": the model file and the device go together (a device that cannot
run the file is greyed out and says why; choosing a file of another kind switches the device, choosing a
device picks a file it runs), where it runs (this computer, another Python with a guided setup, another
computer over ssh), and how long and in what precision."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QSpinBox)

from edgewizard.core.bench.fits import Fit, fits_file, not_compiled_note
from edgewizard.core.bench.launch import Where
from edgewizard.core.bench.runner import BenchRequest, default_device
from edgewizard.core.devices import by_bench, devices

PRECISIONS = ((None, "Device default"), ("f32", "float32 (exact)"), ("f16", "float16"), ("bf16", "bfloat16"))
WHERE = (("here", "This computer"), ("python", "This computer, another Python"), ("ssh", "Another computer, over ssh"))
NOT_FOR_FILE = " — not for this file"
PROFILE_KEY = "bench/profile"  # settings: whether runs measure each op's time too
PROFILE_NOTE = "After the timing run, the model runs again with each op timed. The timing figures are not affected."
_SETUP = importlib.util.find_spec(".runtime_setup", __package__) is not None  # written by another part of the app


class BenchChoices(QGroupBox):
    """What to run, on which device, where: `request()` is the BenchRequest they make."""

    def __init__(self, settings, parent=None) -> None:
        super().__init__("What and where", parent)
        self.settings = settings
        self._following = False  # the model and the device follow each other: one step at a time
        self._fit_cache: dict[tuple, tuple[Fit, ...]] = {}
        self._texts = {"python": "", "ssh": ""}  # what was typed for each kind of Where
        self._default_precisions: dict[str, str] = {}
        form = self.form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.model = QComboBox(self)
        self.model.setAccessibleName("Model file to benchmark")
        self.model.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.model.setMinimumContentsLength(12)
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
        self.device.setAccessibleName("Device to benchmark on")
        self.device.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.device.setMinimumContentsLength(8)
        for d in devices():  # the device catalogue's, in its order
            if d.bench:
                self.device.addItem(d.title, d.bench)
                self.device.setItemData(self.device.count() - 1, d.description, Qt.ToolTipRole)
        self.device.setCurrentIndex(self.device.findData("tflite:CPU"))
        form.addRow("&Device:", self.device)
        self.fit_note = self._note()
        form.addRow(self.fit_note)
        self.where_kind = QComboBox(self)
        for key, text in WHERE:
            self.where_kind.addItem(text, key)
        form.addRow("W&here:", self.where_kind)
        self.where_label = QLabel("Python:", self)
        self.where_text = QLineEdit(self)
        self.where_text.setAccessibleName("Python path or ssh host")
        self.where_label.setBuddy(self.where_text)
        self.setup_button = QPushButton("Set &up…", self)
        self.setup_button.setToolTip("Find or make a Python with the runtime a device needs (the NCS2's OpenVINO 2022.3)")
        self.setup_button.clicked.connect(lambda: self.open_runtime_setup())
        where_row = QHBoxLayout()
        where_row.addWidget(self.where_text, 1)
        where_row.addWidget(self.setup_button)
        self._where_row = form.rowCount()
        form.addRow(self.where_label, where_row)
        self.ncs2_hint = self._note()
        self.ncs2_hint.linkActivated.connect(lambda _: self.open_runtime_setup())
        form.addRow(self.ncs2_hint)
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
        self.data = QComboBox(self)
        self.data.addItem("Random inputs", "")
        form.addRow("Input data:", self.data)
        self.profile = QCheckBox("Profile each &op", self)
        self.profile.setToolTip("See which ops take the time (under Time per op), and show it on the graph")
        self.profile.setChecked(str(settings.value(PROFILE_KEY, "false")).lower() in ("true", "1"))
        self.profile.toggled.connect(lambda on: settings.set_value(PROFILE_KEY, bool(on)))
        form.addRow(self.profile)
        self.profile_note = self._note()
        self.profile_note.setText(PROFILE_NOTE)
        self.profile_note.show()
        form.addRow(self.profile_note)
        self.where_kind.currentIndexChanged.connect(self._where_changed)
        self.device.currentIndexChanged.connect(self._device_changed)
        self.model.currentIndexChanged.connect(self._model_changed)
        self._where_changed()
        self._device_changed()
        self._wide_popup()

    def _note(self) -> QLabel:
        label = QLabel(self)
        label.setWordWrap(True)
        label.setStyleSheet("color:#555;")
        label.hide()
        return label

    def _wide_popup(self) -> None:
        """The lists open as wide as their longest names, whatever the column's width."""
        for combo in (self.device, self.model):
            view = combo.view()
            view.setTextElideMode(Qt.ElideNone)
            view.setMinimumWidth(view.sizeHintForColumn(0) + 24)
        # the combo itself as wide as the longest device name (not the "not for this file" words)
        longest = max(self.device.fontMetrics().horizontalAdvance(d.title) for d in devices() if d.bench)
        self.device.setMinimumWidth(longest + 44)

    # -- the files offered
    def fill(self, files: list[str], data: list[tuple[str, str]]) -> None:
        """The converted files (paths) and the input data files ((text, path)) to offer."""
        self.model.blockSignals(True)
        self.model.clear()
        for path in files:
            self.model.addItem(Path(path).name, path)
            self.model.setItemData(self.model.count() - 1, path, Qt.ToolTipRole)
        self.model.blockSignals(False)
        self._wide_popup()
        self.data.clear()
        self.data.addItem("Random inputs", "")
        for text, path in data:
            self.data.addItem(text, path)
        self._following = True
        self.pick_model_for_device()  # the device chosen before keeps its file, when one runs there
        self._following = False
        self._model_changed()

    def _browse_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model to benchmark", self.settings.last_dir("bench"),
                                              "Converted models (*.tflite *.xml *.onnx)")
        if path:
            self.add_file(path)

    def add_file(self, path: str) -> None:
        """A file picked by hand: offered and chosen (the device follows it)."""
        self.settings.set_last_dir("bench", str(Path(path).parent))
        index = self.model.findData(path)
        if index < 0:
            self.model.addItem(Path(path).name, path)
            index = self.model.count() - 1
            self.model.setItemData(index, path, Qt.ToolTipRole)
            self._wide_popup()
        self.model.setCurrentIndex(index)

    # -- the model and the device, together
    def fits(self, path: Optional[str] = None) -> tuple[Fit, ...]:
        """Each bench device and why it cannot run the file (the chosen one by default)."""
        path = path if path is not None else (self.model.currentData() or "")
        if not path:
            return ()
        try:
            st = os.stat(path)
            key = (path, st.st_size, st.st_mtime_ns)
        except OSError:
            key = (path, None, None)
        if key not in self._fit_cache:
            self._fit_cache[key] = fits_file(path)
        return self._fit_cache[key]

    def why_not(self) -> str:
        """Why the chosen device cannot run the chosen file; "" when it can."""
        device = self.device.currentData()
        return next((f.reason for f in self.fits() if f.device.bench == device), "")

    def _model_changed(self) -> None:
        fits = self.fits()
        ok = [f.device.bench for f in fits if f.ok]
        titles = {d.bench: d.title for d in devices() if d.bench}
        items = self.device.model()
        for i in range(self.device.count()):
            bench = self.device.itemData(i)
            fit = next((f for f in fits if f.device.bench == bench), None)
            usable = fit is None or fit.ok
            items.item(i).setEnabled(usable)
            self.device.setItemText(i, titles.get(bench, bench) + ("" if usable else NOT_FOR_FILE))
            self.device.setItemData(i, fit.reason if fit and fit.reason else by_bench(bench).description, Qt.ToolTipRole)
        self._wide_popup()
        self._show_fit_note(fits)
        if self._following or not fits or self.device.currentData() in ok or not ok:
            return
        name = self.model.currentText()
        preferred = default_device(name)
        self._following = True
        self.device.setCurrentIndex(self.device.findData(preferred if preferred in ok else ok[0]))
        self._following = False

    def _show_fit_note(self, fits: tuple[Fit, ...]) -> None:
        no = [f for f in fits if not f.ok]
        note = not_compiled_note()
        if any(f.reason == note for f in no):
            text = note  # the one a person can act on: say it in full
        elif no:
            text = "Greyed out for this file (hover for why): " + ", ".join(f.device.short for f in no) + "."
        else:
            text = ""
        self.fit_note.setText(text)
        self.fit_note.setVisible(bool(text))

    def _device_changed(self) -> None:
        self._precision_for_device()
        self._show_hints()
        if self._following:
            return
        self._following = True
        self.pick_model_for_device()
        self._following = False

    def pick_model_for_device(self) -> bool:
        """Choose a file the device runs, of the kind it prefers (an OpenVINO device its .xml); the chosen
        file stays when it is one. False when none of the files runs there."""
        device = self.device.currentData() or ""
        entry = by_bench(device)
        kinds = entry.file_kinds if entry else ()
        best, best_rank = None, len(kinds)
        for i in range(self.model.count()):
            path = self.model.itemData(i) or ""
            if not any(f.ok and f.device.bench == device for f in self.fits(path)):
                continue
            rank = next((k for k, kind in enumerate(kinds) if path.lower().endswith(kind)), len(kinds))
            if rank < best_rank or (rank == best_rank and i == self.model.currentIndex()):
                best, best_rank = i, rank
        if best is None:
            return False
        self.model.setCurrentIndex(best)
        return True

    def set_default_precisions(self, found: dict[str, str]) -> None:
        self._default_precisions = dict(found)
        self._precision_for_device()

    def _precision_for_device(self) -> None:
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

    # -- where
    def _where_changed(self) -> None:
        kind = self.where_kind.currentData()
        previous = getattr(self, "_where_shown", None)
        if previous in self._texts:
            self._texts[previous] = self.where_text.text()
        self._where_shown = kind
        self.form.setRowVisible(self._where_row, kind != "here")
        self.setup_button.setVisible(kind == "python" and _SETUP)
        if kind == "python":
            self.where_label.setText("&Python:")
            self.where_text.setPlaceholderText("Path to that Python")
            self.where_text.setText(self._texts["python"] or self._remembered())
        elif kind == "ssh":
            self.where_label.setText("&Computer:")
            self.where_text.setPlaceholderText("user@raspberrypi, as in your ssh config")
            self.where_text.setText(self._texts["ssh"])
        self._show_hints()

    def _remembered(self) -> str:
        if not _SETUP:
            return ""
        try:
            from .runtime_setup import remembered_runtime
        except ImportError:
            return ""
        return remembered_runtime(self.settings) or ""

    def _show_hints(self) -> None:
        """The NCS2 needs OpenVINO 2022.3 in a Python of its own: say how to get one where it matters."""
        if not hasattr(self, "ncs2_hint"):
            return
        show = self.device.currentData() == "myriad" and self.where_kind.currentData() == "here"
        if show:
            self.ncs2_hint.setText("The NCS2 runs under OpenVINO 2022.3, in a Python of its own. "
                                   + ("<a href='setup'>Set up the NCS2 runtime…</a>" if _SETUP else
                                      "Choose “This computer, another Python” under Where and give that Python."))
        self.ncs2_hint.setVisible(show)

    def open_runtime_setup(self) -> bool:
        """The guided setup of another Python; once it gives one, the benchmark runs there."""
        try:
            from .runtime_setup import RuntimeSetupDialog
        except ImportError:
            self.setup_button.hide()
            return False
        dialog = RuntimeSetupDialog(self.settings, self.window())
        if dialog.exec() != QDialog.Accepted or not getattr(dialog, "python_path", ""):
            return False
        self._texts["python"] = dialog.python_path
        self.where_kind.setCurrentIndex(self.where_kind.findData("python"))
        self.where_text.setText(dialog.python_path)
        return True

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
                            precision=self.precision.currentData() if openvino else None, where=self.where(),
                            profile=self.profile.isChecked())
