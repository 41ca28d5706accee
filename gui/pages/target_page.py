"""Step 3, Target: where the model will run, in plain words, and how to convert it for that:
precision, the int8 input/output type, calibration data and preprocessing, the output folder."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QFileDialog, QFormLayout, QGridLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton, QSpinBox, QTabWidget,
                               QVBoxLayout, QWidget)

from edgewizard.core.calibrate import SYNTHETIC, SYNTHETIC_WARNING, CalibrationSpec
from edgewizard.core.convert.base import ConvertOptions, get_target
from edgewizard.core.devices import families
from edgewizard.core.samples import sample_calibration_path, sample_model_path

from ..state import ConversionRequest
from ..widgets.found_data import FoundData
from ..widgets.plain_words import TARGET_WORDS  # the precision menu's words for each target
from ..widgets.validation_panel import ValidationPanel
from .base import WizardPage, preview

# The devices, their titles, what they are and which targets each runs come from the device catalogue
# (core/devices.py); the precision menu words each target as plain_words.TARGET_WORDS does.


def _choices():
    """(key, label, help, precisions as (label, target name)) per device family that has targets."""
    out = []
    for f in families():
        if not f.targets:
            continue  # the first-generation stick: nothing can be made for it
        only = len(f.targets) == 1
        words = tuple(((TARGET_WORDS.get(t, t).split(" (")[0] + " (required)") if only else TARGET_WORDS.get(t, t), t)
                      for t in f.targets)
        out.append((f.id, f.title, f.description, words))
    return tuple(out)


DEVICES = _choices()
PRESETS = (("Pixels / 255 → [0, 1]", "unit"), ("Pixels / 127.5 − 1 → [−1, 1] (MobileNet)", "symmetric"),
           ("Raw pixels 0…255", "raw"), ("Caffe: BGR minus ImageNet mean (VGG, ResNet50)", "caffe"),
           ("ImageNet mean / std (PyTorch style)", "imagenet"))
IO_TYPES = (("uint8 (what the Edge TPU expects)", "uint8"), ("int8", "int8"), ("float32 (converted inside)", "float32"))


def needs_calibration(targets) -> bool:
    return any(get_target(t).needs_calibration for t in targets)


class TargetPage(WizardPage):
    step = "Target"
    title = "Target"
    subtitle = "Choose where the model will run. You can pick several; each gets its own converted file."

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._loading = False
        self.tabs = QTabWidget(self)
        settings_tab = QWidget(self)
        body = QVBoxLayout(settings_tab)
        body.setContentsMargins(6, 6, 6, 6)
        devices = QGroupBox("Where will it run?", self)
        grid = QGridLayout(devices)
        self.device_checks: dict[str, QCheckBox] = {}
        self.precision: dict[str, QComboBox] = {}
        for row, (key, label, help_text, precisions) in enumerate(DEVICES):
            check = QCheckBox(label, self)
            check.setToolTip(help_text)
            combo = QComboBox(self)
            combo.setAccessibleName(f"{label} precision")
            for text, target in precisions:
                combo.addItem(text, target)
            combo.setEnabled(len(precisions) > 1)
            note = QLabel(help_text, self)
            note.setStyleSheet("color:#555;")
            note.setWordWrap(True)
            grid.addWidget(check, row, 0)
            grid.addWidget(combo, row, 1)
            grid.addWidget(note, row, 2)
            self.device_checks[key], self.precision[key] = check, combo
            check.toggled.connect(self._changed)
            combo.currentIndexChanged.connect(self._changed)
        grid.setColumnStretch(2, 1)
        body.addWidget(devices)

        self.int8_box = QGroupBox("Full-integer (int8) conversion", self)
        form = QFormLayout(self.int8_box)
        explain = QLabel("int8 models need a few typical inputs to measure value ranges (calibration). "
                         "Use real examples of what the model will see: 100 is usually enough.", self)
        explain.setWordWrap(True)
        form.addRow(explain)
        source_row = QHBoxLayout()
        self.calib_kind = QButtonGroup(self)
        self.calib_radios = {}
        for key, text in (("sample", "The sample's calibration set"), ("folder", "Image &folder"),
                          ("array", "&Array file (.npy/.npz)"), ("synthetic", "&Random data (poor accuracy)")):
            radio = QRadioButton(text, self)
            self.calib_kind.addButton(radio)
            self.calib_radios[key] = radio
            source_row.addWidget(radio)
            radio.toggled.connect(self._changed)
        source_row.addStretch(1)
        form.addRow("Calibration data:", source_row)
        path_row = QHBoxLayout()
        self.calib_path = QLineEdit(self)
        self.calib_path.setAccessibleName("Calibration data path")
        self.calib_browse = QPushButton("Bro&wse…", self)
        self.calib_browse.clicked.connect(self._browse_calib)
        path_row.addWidget(self.calib_path, 1)
        path_row.addWidget(self.calib_browse)
        form.addRow("Path:", path_row)
        # Data found beside the model, offered for a click (never chosen for the person).
        self.found = FoundData(self, "calibration")
        form.addRow(self.found.title, self.found)
        form.setRowVisible(self.found, False)
        self.found.available.connect(lambda on: form.setRowVisible(self.found, on))
        self.found.picked.connect(self._use_found)
        self.calib_path.textChanged.connect(self.found.show_path)
        self.synthetic_warning = QLabel(SYNTHETIC_WARNING, self)
        self.synthetic_warning.setWordWrap(True)
        self.synthetic_warning.setStyleSheet("color:#a61b1b; font-weight:bold;")
        form.addRow(self.synthetic_warning)
        self.samples = QSpinBox(self)
        self.samples.setRange(1, 100000)
        self.samples.setValue(100)
        form.addRow("Samples to use:", self.samples)
        self.preset = QComboBox(self)
        for text, key in PRESETS:
            self.preset.addItem(text, key)
        self.bgr = QCheckBox("Feed colour channels as BGR (Caffe/OpenCV-trained models)", self)
        form.addRow("Image preprocessing:", self.preset)
        form.addRow("", self.bgr)
        self.io_type = QComboBox(self)
        for text, key in IO_TYPES:
            self.io_type.addItem(text, key)
        form.addRow("Model input/output type:", self.io_type)
        # Layers the Nodes step's "Keep these in float" chose: said here, where the conversion is set up.
        kept_row = QHBoxLayout()
        kept_row.setContentsMargins(0, 0, 0, 0)
        self.kept_float = QLabel(self)
        self.kept_float.setWordWrap(True)
        self.kept_float.setAccessibleName("Layers kept in float")
        self.clear_kept = QPushButton("&Clear", self)
        self.clear_kept.setToolTip("Convert every layer to int8 again")
        self.clear_kept.clicked.connect(lambda: self.state.set_keep_float(()))
        kept_row.addWidget(self.kept_float, 1)
        kept_row.addWidget(self.clear_kept)
        self.kept_widget = QWidget(self)
        self.kept_widget.setLayout(kept_row)
        form.addRow("Kept in float:", self.kept_widget)
        self._int8_form = form
        form.setRowVisible(self.kept_widget, False)
        body.addWidget(self.int8_box)
        for w in (self.calib_path,):
            w.textChanged.connect(self._changed)
        for w in (self.samples,):
            w.valueChanged.connect(self._changed)
        for w in (self.preset, self.io_type):
            w.currentIndexChanged.connect(self._changed)
        self.bgr.toggled.connect(self._changed)

        out = QGroupBox("Output", self)
        of = QFormLayout(out)
        row = QHBoxLayout()
        self.output_dir = QLineEdit(self)
        self.output_dir.setAccessibleName("Output folder")
        browse = QPushButton("Choose &folder…", self)
        browse.clicked.connect(self._browse_output)
        row.addWidget(self.output_dir, 1)
        row.addWidget(browse)
        of.addRow("Output folder:", row)
        self.force = QCheckBox("Replace files that already exist there", self)
        of.addRow("", self.force)
        self.output_dir.textChanged.connect(self._changed)
        self.force.toggled.connect(self._changed)
        body.addWidget(out)
        self.validation = QLabel("", self)
        self.validation.setWordWrap(True)
        body.addWidget(self.validation)
        body.addStretch(1)
        self.checks = ValidationPanel(self)
        self.checks.cutSuggested.connect(self._cut_suggested)
        self.tabs.addTab(settings_tab, "&Devices and options")
        self.tabs.addTab(self.checks, "&Will it run there?")
        self.body.addWidget(self.tabs, 1)

        self.state.modelChanged.connect(self._model_changed)
        self.state.requestChanged.connect(self._show_kept_float)
        self.state.selectionChanged.connect(self.found.look)  # a new input shape: whether arrays fit changes
        self._restore()

    # -- request out
    def targets(self) -> list[str]:
        names = []
        for key, check in self.device_checks.items():
            if check.isChecked():
                t = self.precision[key].currentData()
                if t not in names:
                    names.append(t)
        return names

    def calibration(self) -> CalibrationSpec:
        kind = next((k for k, r in self.calib_radios.items() if r.isChecked()), "folder")
        if kind == "sample":
            source = str(sample_calibration_path())
        elif kind == "synthetic":
            source = SYNTHETIC
        else:
            source = self.calib_path.text().strip()
        return CalibrationSpec(sources=((None, source),) if source else (), samples=self.samples.value(),
                               preset=self.preset.currentData(), color="BGR" if self.bgr.isChecked() else "RGB")

    def _changed(self, *args) -> None:
        if self._loading:
            return
        targets = self.targets()
        int8 = needs_calibration(targets)
        self.int8_box.setEnabled(int8)
        kind = next((k for k, r in self.calib_radios.items() if r.isChecked()), "folder")
        self.calib_path.setEnabled(kind in ("folder", "array"))
        self.calib_browse.setEnabled(kind in ("folder", "array"))
        self.synthetic_warning.setVisible(kind == "synthetic")
        options = ConvertOptions(io_type=self.io_type.currentData(), calibration=self.calibration(),
                                 keep_float=self.state.plan.options.keep_float)
        self.state.set_request(ConversionRequest(tuple(targets), options, self.output_dir.text().strip(), self.force.isChecked()))
        self.state.set_devices(self.checks.devices())  # unticking a device marks its check out of date
        self.settings.set_value("convert/devices", {k: self.precision[k].currentData()
                                                    for k, c in self.device_checks.items() if c.isChecked()})
        self.settings.set_value("convert/int8", {"calib_kind": kind, "samples": self.samples.value(),
                                                 "preset": self.preset.currentData(), "bgr": self.bgr.isChecked(),
                                                 "io_type": self.io_type.currentData()})
        problem = None
        if int8 and not self.calibration().given:
            problem = "Choose calibration data for the int8 conversion (an image folder or an array file)."
        self.validation.setText(f"<span style='color:#a61b1b'>{problem}</span>" if problem else "")

    def _show_kept_float(self) -> None:
        kept = self.state.plan.options.keep_float
        self._int8_form.setRowVisible(self.kept_widget, bool(kept))
        self.kept_float.setText(f"{', '.join(kept)} — these layers compute in float, the rest in int8 "
                                "(chosen on the Nodes step)." if kept else "")

    def missing(self) -> str | None:
        """Why Next can't go on yet, or None."""
        targets = self.targets()
        if not targets:
            return "Choose at least one device."
        if needs_calibration(targets) and not self.calibration().given:
            return "Choose calibration data for the int8 conversion."
        if not self.output_dir.text().strip():
            return "Choose an output folder."
        return None

    # -- state in
    def _restore(self) -> None:
        self._loading = True
        try:
            chosen = self.settings.value("convert/devices", {}) or {}
            for key, check in self.device_checks.items():
                check.setChecked(key in chosen)
                index = self.precision[key].findData(chosen.get(key))
                if index >= 0:
                    self.precision[key].setCurrentIndex(index)
            saved = self.settings.value("convert/int8", {}) or {}
            self.calib_radios.get(saved.get("calib_kind", "folder"), self.calib_radios["folder"]).setChecked(True)
            self.samples.setValue(int(saved.get("samples", 100)))
            self.preset.setCurrentIndex(max(0, self.preset.findData(saved.get("preset", "unit"))))
            self.bgr.setChecked(bool(saved.get("bgr", False)))
            self.io_type.setCurrentIndex(max(0, self.io_type.findData(saved.get("io_type", "uint8"))))
        finally:
            self._loading = False

    def _model_changed(self) -> None:
        source = self.state.source
        is_sample = bool(source) and Path(source) == Path(sample_model_path())
        self.calib_radios["sample"].setVisible(is_sample)
        self._loading = True
        if is_sample:
            self.calib_radios["sample"].setChecked(True)
        elif self.calib_radios["sample"].isChecked():
            self.calib_radios["folder"].setChecked(True)
        # The plan gave the new model its own default folder (an earlier model's folder never carries over).
        self.output_dir.setText(self.state.request.output_dir)
        self._loading = False
        self._changed()
        self.found.look()

    def _use_found(self, candidate) -> None:
        """The person chose data found beside the model: calibrate with it."""
        self.calib_radios["array" if candidate.kind == "arrays" else "folder"].setChecked(True)
        self.calib_path.setText(str(candidate.path))

    def _browse_calib(self) -> None:
        kind = next((k for k, r in self.calib_radios.items() if r.isChecked()), "folder")
        start = self.settings.last_dir("calibration")
        if kind == "array":
            path, _ = QFileDialog.getOpenFileName(self, "Calibration array", start, "Arrays (*.npy *.npz)")
        else:
            path = QFileDialog.getExistingDirectory(self, "Folder of calibration images", start)
        if path:
            self.settings.set_last_dir("calibration", str(Path(path).parent))
            self.calib_path.setText(path)

    def _browse_output(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Output folder", self.output_dir.text() or self.settings.last_dir("output"))
        if path:
            self.settings.set_last_dir("output", path)
            self.output_dir.setText(path)

    def on_enter(self) -> None:
        self._changed()
        self.found.look()

    def _cut_suggested(self, outputs: tuple) -> None:
        from edgewizard.core.plan import Selection

        sel = self.state.selection
        self.state.set_selection(Selection(sel.inputs, tuple(outputs), sel.shapes))
        self.banner.show_message(f"The model now ends at {', '.join(outputs)} (step Nodes); check again to see the result.", "info")


if __name__ == "__main__":
    import sys

    from .base import load_sample

    sys.exit(preview(TargetPage, lambda state, jobs, page: load_sample(state, jobs)))
