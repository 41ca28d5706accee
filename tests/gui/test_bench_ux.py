"""The Benchmark step a non-programmer can use (issue 16): the model file and the device go together, a failed
run says why, is never the baseline and can be removed, and the plots read in units that fit the values.

The page test converts the bundled sample (digits CNN) to an int8 .tflite and an OpenVINO .xml in the worker
and benchmarks them for real on LiteRT and OpenVINO on the CPU; the plot test feeds latencies straight into
the plot widget."""
from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel

from edgewizard.core.bench.fits import EDGETPU_OP, compiled_for_edgetpu, fits, fits_file, not_compiled_note
from edgewizard.gui.pages.bench_page import TABLE
from edgewizard.gui.widgets.latency_plots import LatencyPlots, histogram, robust_top, unit_for

from .test_stale_state import choose, convert, open_model

TIMEOUT = 240_000
COLUMN = {name: c for c, name in enumerate(TABLE)}
SETUP = importlib.util.find_spec("edgewizard.gui.widgets.runtime_setup") is not None


def ok_devices(name, compiled=None) -> set[str]:
    return {f.device.bench for f in fits(name, compiled) if f.ok}


def test_which_devices_run_which_file():
    openvino = {"openvino:CPU", "openvino:GPU", "openvino:NPU"}
    assert ok_devices("m.xml") == openvino | {"myriad"}
    assert ok_devices("m.onnx") == openvino | {"myriad"}
    assert ok_devices("m_int8.tflite") == openvino | {"tflite:CPU"}  # not compiled: not for the Edge TPU
    assert ok_devices("m_int8_edgetpu.tflite") == {"edgetpu"}
    assert ok_devices("renamed.tflite", compiled=True) == {"edgetpu"}  # the file's content wins over its name
    assert ok_devices("m_edgetpu.tflite", compiled=False) == openvino | {"tflite:CPU"}
    reasons = {f.device.bench: f.reason for f in fits("emotion_model_fp16.xml")}
    assert reasons["tflite:CPU"].endswith("does not load OpenVINO (.xml) files; it runs .tflite files.")
    assert reasons["edgetpu"] and not reasons["openvino:CPU"]
    assert {f.device.bench: f.reason for f in fits("m.tflite")}["edgetpu"] == not_compiled_note()
    assert "does not load a .tflite compiled for the Edge TPU" in {
        f.device.bench: f.reason for f in fits("m_edgetpu.tflite")}["openvino:CPU"]


def test_a_tflite_file_says_whether_it_was_compiled_for_the_edge_tpu(tmp_path):
    plain_file, compiled = tmp_path / "a.tflite", tmp_path / "b.tflite"
    plain_file.write_bytes(b"TFL3" + bytes(5000))
    compiled.write_bytes(b"TFL3" + bytes(5000) + EDGETPU_OP + bytes(100))
    assert compiled_for_edgetpu(str(plain_file)) is False and compiled_for_edgetpu(str(compiled)) is True
    assert compiled_for_edgetpu(str(tmp_path / "missing.tflite")) is None
    assert {f.device.bench for f in fits_file(str(compiled)) if f.ok} == {"edgetpu"}
    assert "edgetpu" not in {f.device.bench for f in fits_file(str(plain_file)) if f.ok}


def fake_run(values, number=1, colour="#1f77b4"):
    """What the plot widget reads of a run: its samples (ms), colour, number and label."""
    values = np.asarray(values, dtype=np.float64)
    return SimpleNamespace(values=values, n=len(values), colour=colour, number=number, label=f"#{number} test",
                           curve=None, marks=None)


def test_sub_millisecond_latencies_read_in_microseconds_and_a_spike_does_not_flatten_them(qtbot):
    rng = np.random.default_rng(0)
    values = 0.1 + rng.random(5000) * 0.02  # about 100-120 µs
    values[2500] = 18.0  # one 18 ms spike
    plots = LatencyPlots()
    qtbot.addWidget(plots)
    run = fake_run(values)
    plots.add_run(run)
    plots.show_samples(run)
    plots.rescale()
    left = plots.trace.getAxis("left")
    assert plots.unit == "µs" and "µs" in left.labelText and not left.autoSIPrefix
    low, top = plots.trace.getPlotItem().getViewBox().viewRange()[1]
    assert low == pytest.approx(0) and 0.12 <= top < 0.2  # ms: the bulk fills the height, far below 18 ms
    xs, ys = run.marks.getData()
    assert list(xs) == [2500] and ys[0] <= top  # the spike is marked at the top edge
    assert "1 inference slower than" in plots.caption.text() and "µs" in plots.caption.text()
    # The histogram spreads the bulk over its bins and says what it leaves out.
    plots.show_histogram(run)
    (heights,) = plots.histogram_counts()
    assert len(heights) == 40 and sum(1 for h in heights if h) > 20 and max(heights) < 0.2 * len(values)
    assert "slower than" in plots.hist.getPlotItem().titleLabel.text
    assert "µs" in plots.hist.getAxis("bottom").labelText and not plots.hist.getAxis("bottom").autoSIPrefix
    # Log scale: the whole range, the spike included, without the marks.
    plots.log.setChecked(True)
    low, top = plots.trace.getPlotItem().getViewBox().viewRange()[1]
    assert 10 ** top > 18.0 and 10 ** low < 0.1 and not run.marks.isVisible()
    assert plots.caption.text() == ""


def test_units_and_ranges_follow_the_values():
    assert unit_for(0.5) == ("µs", 1000.0) and unit_for(1.5) == ("ms", 1.0) and unit_for(None)[0] == "ms"
    steady = np.full(1000, 2.0)
    assert robust_top(steady) == pytest.approx(2.1)  # nothing far above: the maximum, a little headroom
    counts, edges, more = histogram(np.r_[np.linspace(1.0, 2.0, 999), 50.0])
    assert more == 1 and edges[-1] < 3 and counts.sum() == 999


def visible_strings(page) -> list[str]:
    out = []
    for w in page.findChildren(QLabel) + page.findChildren(QAbstractButton):
        if w.isVisibleTo(page):
            out.append(w.text())
    for combo in page.findChildren(QComboBox):
        out += [combo.itemText(i) for i in range(combo.count())]
    table = page.table
    out += [table.item(r, c).text() for r in range(table.rowCount()) for c in range(table.columnCount())]
    out += [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    return out


def device_item(page, bench):
    i = page.device.findData(bench)
    return page.device.model().item(i), page.device.itemData(i, Qt.ToolTipRole)


def run_once(qtbot, page, count=60):
    page.count.setValue(count)
    page.warmup.setValue(0)
    page.start_button.click()
    assert page.active is not None, page.banner.text
    qtbot.waitUntil(lambda: page.active is None, timeout=TIMEOUT)
    return page.runs[-1]


def test_benchmark_model_and_device_go_together_and_a_failed_run_is_removable(qtbot, window, tmp_path):
    w = window
    open_model(qtbot, w)
    target = choose(w, tmp_path / "out", ("tflite", "openvino"))
    target.precision["tflite"].setCurrentIndex(target.precision["tflite"].findData("tflite-int8"))
    convert(qtbot, w)
    assert w.go(5)
    page = w.page("Benchmark")
    names = [page.model.itemText(i) for i in range(page.model.count())]
    xml = next(n for n in names if n.endswith(".xml"))
    int8 = next(n for n in names if n.endswith("_int8.tflite"))
    # An .xml: the device becomes an OpenVINO one; TensorFlow Lite is greyed out and says why.
    page.device.setCurrentIndex(page.device.findData("tflite:CPU"))
    page.model.setCurrentIndex(page.model.findText(xml))
    assert page.device.currentData() == "openvino:CPU"
    item, tip = device_item(page, "tflite:CPU")
    assert not item.isEnabled() and "does not load OpenVINO (.xml) files" in tip
    # The int8 .tflite: a TensorFlow Lite device; not the Edge TPU, with the plain note.
    page.model.setCurrentIndex(page.model.findText(int8))
    assert page.device.currentData() == "openvino:CPU"  # the device chosen runs it too: it stays
    page.device.setCurrentIndex(page.device.findData("tflite:CPU"))
    assert page.model.currentText() == int8
    item, tip = device_item(page, "edgetpu")
    assert not item.isEnabled() and tip == not_compiled_note()
    assert page.choices.fit_note.isVisibleTo(page) and page.choices.fit_note.text() == not_compiled_note()
    assert device_item(page, "openvino:CPU")[0].isEnabled()
    # The device first: the model follows (OpenVINO prefers its own .xml).
    page.device.setCurrentIndex(page.device.findData("openvino:CPU"))
    assert page.model.currentText() == xml
    page.device.setCurrentIndex(page.device.findData("tflite:CPU"))
    assert page.model.currentText() == int8

    first = run_once(qtbot, page)
    assert first.result.status == "finished" and not first.failed
    # A corrupt file picked by hand: the run fails, says why, and is not offered as the baseline.
    bad = tmp_path / "x.tflite"
    bad.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    page.choices.add_file(str(bad))
    assert page.device.currentData() == "tflite:CPU"
    failed = run_once(qtbot, page)
    assert failed.failed
    status = page.table.item(1, COLUMN["Status"])
    assert status.text() == "failed: could not open the model"
    assert "could not open x.tflite" in status.toolTip()
    assert [page.baseline.itemData(i) for i in range(page.baseline.count())] == [first.number]
    # A third run on OpenVINO: compared with the first, the failed one has no speed-up.
    page.model.setCurrentIndex(page.model.findText(xml))
    third = run_once(qtbot, page)
    assert third.result.status == "finished"
    assert page.baseline.currentData() == first.number
    speedups = [page.table.item(r, COLUMN["Speed-up"]).text() for r in range(3)]
    assert speedups[0] == "1.00×" and speedups[1] == "—" and speedups[2].endswith("×")
    # Runs say which model and precision they measured, in words, never as a device id.
    assert f"{int8} (int8) on TFLite CPU" in page.baseline.itemText(0)
    legend = page.plots.trace.getPlotItem().legend
    assert legend.getLabel(first.curve).text == first.label
    strings = visible_strings(page) + [legend.getLabel(r.curve).text for r in page.runs]
    assert not any("tflite:CPU" in s or "openvino:CPU" in s for s in strings)
    assert not any("--" in s for s in strings), [s for s in strings if "--" in s]
    # Times in a unit that fits them, said in the headers.
    header = page.table.horizontalHeaderItem(COLUMN["Median"]).text()
    assert header in ("Median (µs)", "Median (ms)")
    if max(r.result.median_ms for r in (first, third)) < 1:
        assert header == "Median (µs)"
    # Removing the failed run (Delete key on its row): gone from the table, the plot and the list.
    drawn = (failed.curve, failed.marks)
    assert all(item in page.plots.trace.getPlotItem().items for item in drawn)
    page.table.selectRow(1)
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key_Delete)
    assert failed not in page.runs and page.table.rowCount() == 2
    assert not any(item in page.plots.trace.getPlotItem().items for item in drawn)
    legend = page.plots.trace.getPlotItem().legend
    assert legend.getLabel(drawn[0]) is None and len(legend.items) == 2
    assert [page.table.item(r, COLUMN["Run"]).text() for r in range(2)] == [f"#{first.number}", f"#{third.number}"]
    # Removing the baseline run (the button): the baseline moves to the run left, and its saved results go.
    saved = list(first.saved)
    assert saved and all(p.is_file() for p in saved)
    page.table.selectRow(0)
    assert page.remove_button.isEnabled()
    page.remove_button.click()
    assert page.runs == [third] and page.baseline.currentData() == third.number
    assert page.stats_box.title() == f"Run #{third.number}"
    assert page.table.item(0, COLUMN["Speed-up"]).text() == "1.00×"
    assert not any(p.exists() for p in saved)


def test_where_fields_are_labelled_and_shown_only_when_needed(qtbot, window, tmp_path):
    page = window.page("Benchmark")
    c = page.choices
    xml = tmp_path / "m.xml"
    xml.write_text("<net/>")
    c.add_file(str(xml))
    kinds = {c.where_kind.itemData(i): i for i in range(c.where_kind.count())}
    c.where_kind.setCurrentIndex(kinds["here"])
    assert not c.where_text.isVisibleTo(page) and not c.where_label.isVisibleTo(page)
    c.where_kind.setCurrentIndex(kinds["python"])
    assert c.where_text.isVisibleTo(page) and c.where_label.text() == "&Python:"
    assert c.setup_button.isVisibleTo(page) == SETUP
    c.where_text.setText("/opt/ov2022/bin/python")
    c.where_kind.setCurrentIndex(kinds["ssh"])
    assert c.where_label.text() == "&Computer:" and c.where_text.text() == "" and not c.setup_button.isVisibleTo(page)
    c.where_kind.setCurrentIndex(kinds["python"])
    assert c.where_text.text() == "/opt/ov2022/bin/python"  # what was typed for each stays with it
    # The NCS2 on this computer: a one-line hint on setting up its runtime.
    c.where_kind.setCurrentIndex(kinds["here"])
    page.device.setCurrentIndex(page.device.findData("myriad"))
    assert c.ncs2_hint.isVisibleTo(page) and "OpenVINO 2022.3" in c.ncs2_hint.text()
    assert ("Set up the NCS2 runtime" in c.ncs2_hint.text()) == SETUP
    c.where_kind.setCurrentIndex(kinds["python"])
    assert not c.ncs2_hint.isVisibleTo(page)


@pytest.mark.skipif(not SETUP, reason="the runtime setup dialog (gui/widgets/runtime_setup.py) is not in this tree")
def test_the_ncs2_runtime_setup_is_one_click_away_and_remembered(qtbot, window, settings, tmp_path, monkeypatch):
    import sys

    from PySide6.QtWidgets import QDialog

    from edgewizard.gui.widgets import runtime_setup

    settings.set_runtime_python(sys.executable)  # as the setup dialog leaves it
    page = window.page("Benchmark")
    c = page.choices
    kinds = {c.where_kind.itemData(i): i for i in range(c.where_kind.count())}
    c.where_kind.setCurrentIndex(kinds["python"])
    assert c.where_text.text() == sys.executable  # the remembered Python is filled in
    c.where_kind.setCurrentIndex(kinds["here"])
    xml = tmp_path / "m.xml"
    xml.write_text("<net/>")
    c.add_file(str(xml))
    page.device.setCurrentIndex(page.device.findData("myriad"))
    assert c.ncs2_hint.isVisibleTo(page)
    made = tmp_path / "ov2022" / "bin" / "python"

    class Completed(QDialog):
        """The dialog as a person leaves it after setting up a Python (the dialog's own steps are its tests')."""

        def __init__(self, settings, parent=None):
            super().__init__(parent)
            self.python_path = ""

        def exec(self):
            self.python_path = str(made)
            return QDialog.Accepted

    monkeypatch.setattr(runtime_setup, "RuntimeSetupDialog", Completed)
    c.ncs2_hint.linkActivated.emit("setup")
    assert c.where_kind.currentData() == "python" and c.where_text.text() == str(made)
    assert not c.ncs2_hint.isVisibleTo(page) and page.device.currentData() == "myriad"
