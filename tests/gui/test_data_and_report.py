"""Data found next to the model is offered on the Target and Verify pages and used only when picked; the
Verify banner says what random inputs and the calibration data can and cannot show; Save report asks
where, writes there and offers to open it, saying so when nothing can; the Target and Verify pages show
no command-line flags or internal target ids (issue 16).

The model is the bundled sample copied into a folder of its own, with data files beside it."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (QAbstractButton, QComboBox, QGroupBox, QLabel, QLineEdit, QTableWidget, QTabWidget,
                               QWidget)

from edgewizard.core.samples import sample_calibration_path, sample_model_path, sample_test_path
from edgewizard.gui.state import VERIFY
from edgewizard.gui.widgets.plain_words import TARGET_WORDS

from .test_stale_state import choose, convert, open_model

TIMEOUT = 240_000
TFLITE_INT8 = 3  # the TensorFlow Lite precision menu's "full int8"


@pytest.fixture
def model_dir(tmp_path) -> Path:
    """mine/digits_cnn.keras with calib.npz (fits: the sample's calibration set), held_out.npz (fits, labelled:
    part of the sample's test set) and wrong.npz beside it."""
    here = tmp_path / "mine"
    here.mkdir()
    shutil.copy(sample_model_path(), here / "digits_cnn.keras")
    with np.load(sample_calibration_path()) as calib:
        np.savez(here / "calib.npz", x=calib["x"])
    with np.load(sample_test_path()) as test:
        np.savez(here / "held_out.npz", x=test["x"][:60], y=test["y"][:60])
    np.savez(here / "wrong.npz", x=np.zeros((5, 28, 28), np.float32))
    return here


def visible_strings(root: QWidget) -> list[str]:
    """Every string a person can read on `root`: texts, titles, tooltips, placeholders, menu entries, cells."""
    out = []
    for w in [root, *root.findChildren(QWidget)]:
        out.append(w.toolTip())
        if isinstance(w, (QLabel, QAbstractButton)):
            out.append(w.text())
        if isinstance(w, QLineEdit):
            out.append(w.placeholderText())
        if isinstance(w, QGroupBox):
            out.append(w.title())
        if isinstance(w, QComboBox):
            out += [w.itemText(i) for i in range(w.count())] + [str(w.itemData(i, Qt.ToolTipRole) or "")
                                                                 for i in range(w.count())]
        if isinstance(w, QTabWidget):
            out += [w.tabText(i) for i in range(w.count())]
        if isinstance(w, QTableWidget):
            out += [w.horizontalHeaderItem(c).text() for c in range(w.columnCount()) if w.horizontalHeaderItem(c)]
            out += [w.item(r, c).text() for r in range(w.rowCount()) for c in range(w.columnCount()) if w.item(r, c)]
    return [s for s in out if s]


def command_line_words(root: QWidget) -> list[str]:
    ids = re.compile(r"\b(" + "|".join(re.escape(t) for t in TARGET_WORDS if "-" in t) + r")\b")
    return [s for s in visible_strings(root) if re.search(r"(^|\s|\()--[a-z]", s) or ids.search(s)]


def pick(combo: QComboBox, index: int) -> None:
    """Choose entry `index` with the keyboard, as a person would (QComboBox says 'activated' for that only)."""
    combo.setFocus()
    while combo.currentIndex() < index:
        before = combo.currentIndex()
        QTest.keyClick(combo, Qt.Key_Down)
        assert combo.currentIndex() != before


def entry(combo: QComboBox, name: str) -> int:
    return next(i for i in range(combo.count()) if combo.itemText(i).startswith(name + " — "))


def test_the_target_page_offers_data_beside_the_model_and_uses_it_only_when_picked(qtbot, window, model_dir, tmp_path):
    w = window
    open_model(qtbot, w, model_dir / "digits_cnn.keras")
    page = choose(w, tmp_path / "out", ("tflite",), {"tflite": TFLITE_INT8})
    qtbot.waitUntil(lambda: page.found.count() > 0, timeout=TIMEOUT)
    texts = [page.found.itemText(i) for i in range(page.found.count())]
    assert texts[0] == "3 found: choose one to use it"
    assert texts[1] == "calib.npz — x: 100×32×32×1 float32; fits the model's input (32×32×1 per sample)"
    assert texts[3] == "wrong.npz — x: 5×28×28 float32; the model takes 32×32×1 per sample"
    assert page.found.isVisibleTo(page) and page.found.title.isVisibleTo(page)
    calib = str(model_dir / "calib.npz")
    assert w.state.request.options.calibration.sources != ((None, calib),)  # offered, not chosen
    pick(page.found, entry(page.found, "calib.npz"))
    assert page.calib_radios["array"].isChecked() and page.calib_path.text() == calib
    assert w.state.request.options.calibration.sources == ((None, calib),)
    with qtbot.waitSignal(w.state.validationChanged, timeout=TIMEOUT, check_params_cb=lambda *a: bool(w.state.validation)):
        page.checks.check.click()  # "Will it run there?" filled in too
    assert page.checks.table.rowCount() > 0 and command_line_words(page) == []


def verify_on(qtbot, w, page, kind: str):
    page.kind_radios[kind].setChecked(True)
    page.samples.setValue(50)
    with qtbot.waitSignal(w.state.verifyChanged, timeout=TIMEOUT, check_params_cb=lambda *a: page.report is not None):
        page.verify_button.click()
    qtbot.waitUntil(lambda: not w.jobs.busy, timeout=TIMEOUT)
    return page.verdict_kind, page.message.text()


def test_verify_says_what_random_inputs_and_the_calibration_data_show(qtbot, window, model_dir, tmp_path):
    w = window
    open_model(qtbot, w, model_dir / "digits_cnn.keras")
    target = choose(w, tmp_path / "out", ("tflite",), {"tflite": TFLITE_INT8})
    qtbot.waitUntil(lambda: target.found.count() > 0, timeout=TIMEOUT)
    pick(target.found, entry(target.found, "calib.npz"))
    convert(qtbot, w)
    assert w.go(4)
    page = w.page("Verify")
    qtbot.waitUntil(lambda: page.found.count() > 0, timeout=TIMEOUT)

    kind, text = verify_on(qtbot, w, page, "random")
    assert kind == "warning" and "All converted models agree" not in text
    if w.state.current(VERIFY).artifacts[0].status == "flagged":  # random inputs can leave an int8 model's range
        assert "flagged on random inputs" in text
    else:
        assert text.startswith("<b>These models agree on random inputs. That shows the conversion kept the "
                               "arithmetic, not that the model is still accurate on real data: verify on labelled "
                               "data you did not calibrate with.</b>")

    kind, text = verify_on(qtbot, w, page, "calibration")
    assert (kind, text.split("</b>")[0]) == ("info", "<b>These models agree on the data used to calibrate the int8 "
                                                     "model: a best case; use other data to see the accuracy you will get.")

    # The same file chosen as data to compare on (found beside the model, marked as the calibration data).
    i = entry(page.found, "calib.npz")
    assert page.found.itemText(i).endswith("; used to calibrate the int8 model")
    pick(page.found, i)
    assert page.kind_radios["path"].isChecked() and page.data_path.text() == str(model_dir / "calib.npz")
    kind, text = verify_on(qtbot, w, page, "path")
    assert kind == "info" and "a best case" in text

    # Labelled data the model was not calibrated with: agreement there is the good news, in green.
    page.data_path.setText(str(model_dir / "held_out.npz"))
    kind, text = verify_on(qtbot, w, page, "path")
    assert kind == "success" and text.startswith("<b>All converted models agree with the original.</b>")
    assert command_line_words(page) == [] and command_line_words(w.page("Target")) == []


def test_save_report_asks_where_writes_there_and_offers_to_open_it(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtGui import QDesktopServices
    from PySide6.QtWidgets import QFileDialog

    w = window
    open_model(qtbot, w)
    choose(w, tmp_path / "out", ("openvino",))
    convert(qtbot, w)
    assert w.go(4)
    page = w.page("Verify")
    verify_on(qtbot, w, page, "test")
    asked = []
    answer = {"path": ""}
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda parent, caption, start, filters: asked.append(start) or (answer["path"], filters))
    page.save_report.click()  # the person cancels the question: nothing is written
    assert asked == [str(tmp_path / "out" / "report.html")] and page.report_bar.text == ""
    assert not (tmp_path / "out" / "report.html").exists()

    (tmp_path / "reports").mkdir()
    answer["path"] = str(tmp_path / "reports" / "digits report")  # no suffix typed: .html is added
    page.save_report.click()
    saved = tmp_path / "reports" / "digits report.html"
    assert saved.is_file() and "digits_cnn" in saved.read_text(encoding="utf-8")
    assert page.report_bar.text == f"Report saved: {saved}" and page.report_bar.open_button.isVisibleTo(page)
    assert w.settings.last_dir("report") == str(tmp_path / "reports")

    # Nothing on this desktop opens a folder: the bar says so instead of doing nothing.
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or False)
    page.report_bar.folder_button.click()
    assert opened == [str(tmp_path / "reports")]
    assert page.report_bar.text.startswith("No application was found on this computer to open the folder")
    # The report was deleted meanwhile: Open says so (and asks no application to open a missing file).
    saved.unlink()
    page.report_bar.open_button.click()
    assert page.report_bar.text == f"{saved} no longer exists." and opened == [str(tmp_path / "reports")]


def test_core_advice_reads_in_the_wizards_words():
    from edgewizard.core.verify.data import RANDOM_NOTE
    from edgewizard.core.verify.metrics import remedies
    from edgewizard.gui.widgets.plain_words import plain

    sentences = [plain(r) for p in ("int8", "dynamic-range int8", "float16", "float32") for r in remedies(p)]
    assert not [s for s in sentences + [plain(RANDOM_NOTE)] if "--" in s or re.search(r"tflite-|openvino-|NNCF", s)]
    assert sentences[2].startswith("Find the layers that lose most and keep just those in float")
    assert "TensorFlow Lite's “dynamic-range” precision or TensorFlow Lite's “float16 weights” precision keep" in sentences[2]
    assert plain("check with real inputs (--data), and report it") == "check with real inputs, and report it"


def test_random_calibration_data_is_random_data_and_nothing_calibrated_means_real_data():
    from edgewizard.core.calibrate import SYNTHETIC, CalibrationSpec
    from edgewizard.core.verify import Thresholds, VerifyReport
    from edgewizard.core.verify.results import ArtifactCheck, DataSummary
    from edgewizard.gui.widgets.verify_verdict import data_kind, verdict

    def report(kind, targets, source=None, status="ok"):
        data = DataSummary(kind=kind, description="some inputs", samples=10, labelled=False, source=source)
        files = [ArtifactCheck("m.tflite", "m.tflite", list(targets), "litert", "int8", status)]
        return VerifyReport({}, {}, data, Thresholds(), files)

    synthetic = CalibrationSpec(sources=((None, SYNTHETIC),))
    assert data_kind(report("calibration", ["tflite-int8"]), synthetic) == "random"
    calib = CalibrationSpec(sources=((None, "/data/calib"),))
    assert data_kind(report("path", ["edgetpu", "tflite-int8"], "/data/calib/"), calib) == "calibration"
    assert data_kind(report("path", ["tflite-fp16"], "/data/calib"), calib) == "real"  # nothing was calibrated with it
    assert data_kind(report("path", ["tflite-int8"], "/data/test"), calib) == "real"
    kind, text = verdict(report("path", ["tflite-int8"], "/data/calib", "flagged"), calib)
    assert kind == "error" and text.startswith("<b>1 model file flagged even on the data used to calibrate")
    kind, text = verdict(report("path", ["tflite-int8"], "/data/test"), calib)
    assert kind == "success" and text.endswith("Without labels this shows the answers agree, not how often they are right.")
