"""No command-line words in the wizard (issue 16): every string a person can see on any page (labels,
buttons, group titles, tooltips, table headers and cells, combo items, placeholders, tabs, banners, the
window title, the status bar) is scanned in several states of a real run of the sample, and none may
hold a command-line option ("--runtime-python"), an `edgewizard <command>` line, or a conversion target's
internal id ("tflite-dynamic"). Names the person made (digits_cnn_int8.tflite, folders) and the log
behind "Show log"/"Show full log" are theirs and the tools', and are not judged.

Also: the Convert page's live log hides the converters' chatter but keeps it in the full log, and
"Show in folder" says so when no application can open the folder."""
from __future__ import annotations

import html
import re
import shutil

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QComboBox, QGroupBox, QHeaderView, QLabel,
                               QLineEdit, QMainWindow, QPlainTextEdit, QProgressBar, QTabWidget, QTextEdit, QWidget)

from edgewizard.core.convert.log_noise import is_noise

from .test_stale_state import check_devices, choose, convert, open_model

TIMEOUT = 240_000

FLAG = re.compile(r"(?<![\w-])--[a-z][\w-]*")
CLI_VERBS = ("inspect", "validate", "convert", "verify", "bench", "report", "gui", "doctor", "self-test")
COMMAND = re.compile(r"\bedgewizard (?:%s)\b" % "|".join(CLI_VERBS))
TARGET_ID = re.compile(r"(?<![\w.-])(?:tflite-(?:float|fp16|dynamic|int8)|openvino-(?:fp32|fp16|int8))(?![\w-])")
# What the person made or chose: paths and file names are shown as they are, whatever words they hold.
THEIRS = re.compile(r"\S*[/\\]\S*|\S+\.(?:tflite|xml|bin|onnx|keras|h5|hdf5|pb|pbtxt|meta|npz|npy|json|html|pdf"
                    r"|png|csv|txt|py)\b")
TAG = re.compile(r"<[a-zA-Z/!][^<>]*>")
LOG_VIEWS = ("Conversion log",)  # accessible names of the log views behind "Show log" (the tools' own words)

def problems(text: str) -> list[str]:
    """The command-line words in one visible string."""
    text = html.unescape(TAG.sub(" ", text))  # rich text: its words, not its markup (nor a link's address)
    text = THEIRS.sub(" ", text)
    return [m.group(0) for rx in (FLAG, COMMAND, TARGET_ID) for m in rx.finditer(text)]


def _page_of(widget: QWidget) -> str:
    from edgewizard.gui.pages.base import WizardPage

    w = widget
    while w is not None:
        if isinstance(w, WizardPage):
            return w.step
        w = w.parentWidget()
    return "window"


def _columns(model, parent) -> int:
    try:
        return model.columnCount(parent)
    except TypeError:  # a list model keeps its one column private in PySide6
        return 1


def _model_strings(model, parent=QModelIndex()):
    if model is None:
        return
    if not parent.isValid():
        for orientation in (Qt.Horizontal, Qt.Vertical):
            count = _columns(model, parent) if orientation == Qt.Horizontal else model.rowCount(parent)
            for section in range(min(count, 2000)):
                for role in (Qt.DisplayRole, Qt.ToolTipRole):
                    yield "header", model.headerData(section, orientation, role)
    for r in range(model.rowCount(parent)):
        for c in range(_columns(model, parent)):
            index = model.index(r, c, parent)
            yield "cell", index.data(Qt.DisplayRole)
            yield "cell tooltip", index.data(Qt.ToolTipRole)
            if c == 0 and model.rowCount(index) > 0:  # a tree's children
                yield from _model_strings(model, index)


def visible_strings(root: QWidget):
    """(where, text) for every string `root` and its children can show."""
    for widget in [root, *root.findChildren(QWidget)]:
        name = widget.accessibleName() or widget.objectName()
        where = f"{_page_of(widget)}: {widget.metaObject().className()} {name}"
        found = [("tooltip", widget.toolTip()), ("whats this", widget.whatsThis())]
        if widget.isWindow() or isinstance(widget, QMainWindow):
            found.append(("window title", widget.windowTitle()))
        if isinstance(widget, QMainWindow):
            found.append(("status bar", widget.statusBar().currentMessage()))
        if isinstance(widget, QLabel):
            found.append(("text", widget.text()))
        elif isinstance(widget, QAbstractButton):
            found.append(("text", widget.text()))
        elif isinstance(widget, QGroupBox):
            found.append(("title", widget.title()))
        elif isinstance(widget, QLineEdit):
            found.append(("placeholder", widget.placeholderText()))
        elif isinstance(widget, QProgressBar):
            found.append(("text", widget.text()))
        elif isinstance(widget, QComboBox):
            found += [("item", widget.itemText(i)) for i in range(widget.count())]
            found += [("item tooltip", widget.itemData(i, Qt.ToolTipRole)) for i in range(widget.count())]
            found.append(("placeholder", widget.placeholderText()))
        elif isinstance(widget, QTabWidget):
            found += [("tab", widget.tabText(i)) for i in range(widget.count())]
            found += [("tab tooltip", widget.tabToolTip(i)) for i in range(widget.count())]
        elif isinstance(widget, (QPlainTextEdit, QTextEdit)) and widget.accessibleName() not in LOG_VIEWS:
            found.append(("text", widget.toPlainText()))
            found.append(("placeholder", widget.placeholderText()))
        elif isinstance(widget, QAbstractItemView) and not isinstance(widget, QHeaderView):  # (headers: above)
            found += list(_model_strings(widget.model()))
        for action in widget.actions():
            found += [("action", action.text()), ("action tooltip", action.toolTip())]
        for what, text in found:
            if isinstance(text, str) and text:
                yield f"{where} ({what})", text


def offending(root: QWidget) -> list[str]:
    out = []
    for where, text in visible_strings(root):
        words = problems(text)
        if words:
            out.append(f"{where}: {words} in {text!r}")
    return out


def test_the_scan_catches_what_the_old_wizard_showed():
    """The strings of issue 16 are caught; file names and plain words are not."""
    assert problems("EdgeWizard then benchmarks through that Python (<code>edgewizard bench --runtime-python "
                    "PATH</code>).") == ["--runtime-python", "edgewizard bench"]
    assert problems("edgetpu, tflite-int8") == ["tflite-int8"]
    assert problems("<b>tflite-dynamic</b>: dynamic range") == ["tflite-dynamic"]
    assert problems("run edgewizard verify /tmp/out again") == ["edgewizard verify"]
    for fine in ("digits_cnn_int8.tflite", "/tmp/x/tflite-int8/model.xml", "TensorFlow Lite, full integer (int8)",
                 "Pixels / 127.5 − 1 → [−1, 1]", "an en dash -- between words", "EdgeWizard cuts at this node",
                 "pip install tflite-runtime"):
        assert problems(fine) == [], fine


def test_no_page_shows_command_line_words(qtbot, window, tmp_path):
    """A whole run of the sample: fresh, opened, checked, converted to int8 (Edge TPU, TFLite) and OpenVINO,
    verified, and the Benchmark step entered; after each, no visible string on any page has a flag."""
    from edgewizard.gui.welcome import WelcomeDialog

    w = window
    welcome = WelcomeDialog()
    seen = {"welcome": offending(welcome)}
    welcome.deleteLater()
    seen["fresh window"] = offending(w)
    open_model(qtbot, w)
    assert w.go(1)
    seen["sample open"] = offending(w)
    choose(w, tmp_path / "out", ("edgetpu", "openvino", "tflite"), {"openvino": 1, "tflite": 3})  # FP16, int8
    check_devices(qtbot, w)
    assert w.go(1)  # the graph coloured by device
    seen["devices checked"] = offending(w)
    page = convert(qtbot, w)
    assert page.files.rowCount() >= 3
    seen["converted"] = offending(w)
    strings = {text for _, text in visible_strings(w)}  # the scan sees the states it judges
    assert {"digits_cnn_int8.tflite", "digits_cnn_fp16.xml"} <= strings
    assert "Coral Edge TPU (full int8 + edgetpu_compiler); TensorFlow Lite, full integer (int8)" in strings
    assert w.go(4)
    verify = w.page("Verify")
    verify.verify_button.click()
    qtbot.waitUntil(lambda: not w.jobs.busy, timeout=TIMEOUT)
    assert verify.table.rowCount() >= 2, verify.banner.text
    seen["verified"] = offending(w)
    assert w.go(5)
    bench = w.page("Benchmark")
    label = getattr(bench, "devices_label", None)
    if label is not None:
        qtbot.waitUntil(lambda: label.text() and "Looking for" not in label.text(), timeout=TIMEOUT)
    seen["benchmark entered"] = offending(w)
    report = [f"{state}: {line}" for state, found in seen.items() for line in found]
    assert not report, "command-line words on screen:\n" + "\n".join(report)


def test_the_live_log_hides_the_converters_chatter_and_the_full_log_keeps_it(window):
    chatter = ["W0000 00:00:1796309592.329132    5177 tf_tfl_flatbuffer_helpers.cc:364] Ignored output_format.",
               "fully_quantize: 0, inference_type: 6, input_inference_type: UINT8, output_inference_type: UINT8",
               "2024-05-01 10:00:00.000000: I tensorflow/core/util/port.cc:113] oneDNN custom operations are on.",
               "WARNING:absl:Compiled the loaded model, but the compiled metrics have yet to be built.",
               "/usr/lib/python3/site-packages/keras/src/saving.py:12: UserWarning: You are saving your model",
               "  warnings.warn("]
    assert all(is_noise(line) for line in chatter)
    assert not any(is_noise(line) for line in ("Converting to TensorFlow Lite…", "Error: the model has no inputs",
                                                "WARNING: the calibration data has 3 samples"))
    page = window.page("Convert")
    page.log_toggle.click()
    for line in chatter + ["Calibrating on 100 samples"]:
        page._on_log(line)
    page._flush_log()
    assert page.log.toPlainText() == "Calibrating on 100 samples"
    assert page.hidden_note.text() == "6 technical messages from the converters hidden."
    page.show_all.click()
    assert page.log.toPlainText().splitlines() == chatter + ["Calibrating on 100 samples"]
    assert page.hidden_note.isHidden()
    page.show_all.click()
    assert page.log.toPlainText() == "Calibrating on 100 samples" == page.full_log[-1]


def test_a_real_int8_conversion_log_shows_no_quantizer_settings(qtbot, window, tmp_path):
    w = window
    open_model(qtbot, w)
    choose(w, tmp_path / "out", ("tflite",), {"tflite": 3})
    page = convert(qtbot, w)
    full = "\n".join(page.full_log)
    if "fully_quantize" not in full:
        pytest.skip("this TensorFlow does not print the quantizer's settings; nothing to hide")
    assert "fully_quantize" not in page.log.toPlainText() and page._hidden > 0
    cell = page.files.item(0, 2).text()
    assert cell == "TensorFlow Lite, full integer (int8)" and page.files.item(0, 0).text() == "digits_cnn_int8.tflite"


@pytest.mark.parametrize("how", ["no application", "folder gone"])
def test_show_in_folder_says_when_the_folder_could_not_be_opened(qtbot, window, tmp_path, monkeypatch, how):
    w = window
    open_model(qtbot, w)
    out = tmp_path / "out folder"
    choose(w, out, ("openvino",))
    page = convert(qtbot, w)
    asked = []
    if how == "no application":  # a desktop without a file manager: Qt answers False
        monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: asked.append(url.toLocalFile()) or False)
        page.show_folder.click()
        assert asked == [str(out)]
        assert page.banner.text.startswith("No application was found on this computer to open the folder")
        assert str(out) in page.banner.text
    else:
        shutil.rmtree(out)
        page.show_folder.click()
        assert page.banner.text == f"{out} no longer exists."


def test_the_device_check_shows_the_cores_advice_without_options(qtbot, window):
    """The Edge TPU's advice and reasons are core sentences the command line shares ("--shape 1,H,W,C",
    "--edgetpu-intermediate"): the "Will it run there?" panel shows them in the wizard's words."""
    from edgewizard.core.validate.edgetpu import _FIXES
    from edgewizard.core.validate.report import NodeVerdict, Suggestion, ValidationReport

    w = window
    open_model(qtbot, w)
    why = ("Runs on the CPU because mapping stops after the intermediate tensors you named "
           "(--edgetpu-intermediate).")
    report = ValidationReport("edgetpu", "Coral Edge TPU", "checked", "table", nodes=(
        NodeVerdict(0, "conv", "CONV_2D", "device", "Runs on the Edge TPU."),
        NodeVerdict(1, "softmax", "SOFTMAX", "cpu", why, ("probabilities",))), partition_index=1,
        suggestions=tuple(Suggestion(kind, text) for kind, text in _FIXES.items()))
    w.state.set_validation([report])
    panel = w.page("Target").checks
    assert panel.table.rowCount() == 2 and "mapping stops after the intermediate tensors" in panel.table.item(1, 3).text()
    assert "Fix the batch" in panel.summary.text()
    assert offending(w.page("Target")) == []


def test_core_sentences_the_wizard_shows_name_no_options():
    """The device catalogue's words (the Benchmark step's "What is missing", the status bar's tooltip) are
    shown as they are; the verify advice goes through the wizard's words for target names."""
    from edgewizard.core.devices import devices
    from edgewizard.core.verify.metrics import remedies
    from edgewizard.gui.widgets.plain_words import plain

    shown = [text for d in devices() for text in (d.title, d.install_hint, d.description, *d.notes)]
    assert [t for t in shown if problems(t)] == []
    advice = [plain(r) for p in ("int8", "dynamic-range int8", "float16", "float32") for r in remedies(p)]
    assert [a for a in advice if problems(a) or "NNCF" in a] == []
