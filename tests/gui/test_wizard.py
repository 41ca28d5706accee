"""The wizard driven as a person would: open the sample, choose nodes and targets, convert, see the
files; cancel mid-conversion; a worker crash; a bad file; and no TensorFlow in the GUI process."""
from __future__ import annotations

import json
import subprocess
import sys

from edgewizard.core.samples import sample_model_path
from edgewizard.gui.pages.bench_page import TABLE

TIMEOUT = 240_000


def open_sample(qtbot, w):
    w.page("Model").use_sample.click()
    qtbot.waitUntil(lambda: w.state.model is not None, timeout=TIMEOUT)


def choose_targets(w, out, devices=("edgetpu", "openvino", "tflite")):
    assert w.go(2)
    page = w.page("Target")
    for key in devices:
        page.device_checks[key].setChecked(True)
    page.precision["tflite"].setCurrentIndex(3)  # full int8
    page.output_dir.setText(str(out))


def test_steps_say_why_they_cannot_be_entered_yet(qtbot, window):
    assert not window.go(3)
    assert window.reason.text() == "Open a model first (step Model)."
    assert window.stack.currentIndex() == 0
    assert window.steps.item(4).toolTip() == "Open a model first (step Model)."


def test_whole_flow_on_the_sample(qtbot, window, tmp_path):
    w = window
    open_sample(qtbot, w)
    model = w.page("Model")
    assert model.facts["Format"].text() == "Keras 3 (.keras)"
    assert model.inputs.item(0, 0).text() == "image" and model.inputs.item(0, 1).text() == "[?, 32, 32, 1]"
    assert model.ops.rowCount() == 6
    # Nodes: pick the output by searching and marking it, as a person would with the keyboard.
    assert w.go(1)
    nodes = w.page("Nodes")
    nodes.search.setText("probab")
    assert nodes.proxy.rowCount() == 1
    nodes.table.selectRow(0)
    nodes.as_output.click()
    assert w.state.selection.outputs == ("probabilities",)
    assert nodes.shapes.item(0, 1).text() == "1,32,32,1"
    nodes.shapes.item(0, 1).setText("2,32,32,1")
    assert w.state.selection.shape_for("image") == (2, 32, 32, 1)
    nodes.shapes.item(0, 1).setText("1,32,32,1")
    # Target: Convert is out of reach until a device is chosen.
    assert w.go(2)
    assert w.why_not(3) == "Choose at least one target first (step Target)."
    choose_targets(w, tmp_path / "out")
    assert w.state.request.targets == ("edgetpu", "openvino-fp32", "tflite-int8")
    # Convert.
    assert w.go(3)
    page = w.page("Convert")
    with qtbot.waitSignal(w.state.conversionChanged, timeout=TIMEOUT, check_params_cb=lambda *a: w.state.manifest is not None):
        page.convert_button.click()
    names = sorted(page.files.item(r, 0).text() for r in range(page.files.rowCount()))
    assert "digits_cnn_int8.tflite" in names and any(n.endswith(".xml") for n in names)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(names + ["manifest.json"])
    assert [s.text() for _, _, s in page.rows][0] == "Not compiled (see note)"
    assert "NOT run" in page.notes.text()
    assert w.why_not(4) is None and w.go(4)
    assert len(w.page("Verify").artifacts()) == 2  # the int8 .tflite (shared) and the .xml
    # Settings remembered: the recent model and the chosen devices.
    assert w.settings.recent_models()[0] == str(sample_model_path())
    assert set(w.settings.value("convert/devices")) == {"edgetpu", "openvino", "tflite"}


def test_a_typed_shape_follows_the_rule_the_cut_and_the_cli_use(qtbot, window):
    """The Nodes step reads a shape with core.shapes (tests/core/test_shapes.py): the same sentences."""
    from edgewizard.core.errors import UserError
    from edgewizard.core.shapes import parse_static_shape, static_shape

    w = window
    open_sample(qtbot, w)
    nodes = w.page("Nodes")
    nodes.shapes.item(0, 1).setText("2x32x32x1")
    assert w.state.selection.shape_for("image") == (2, 32, 32, 1)
    for text in ("-1,32,32,1", "1,?,32,1", "1,0,32,1", "1,a,32,1", "1,32,32,3"):
        try:
            static_shape(nodes.tensors[0], parse_static_shape(text, "The shape for 'image'"))
            raise AssertionError(f"{text} was accepted")
        except UserError as exc:
            why = exc.message
        nodes.shapes.item(0, 1).setText(text)
        assert nodes.banner.text == why
        assert w.state.selection.shape_for("image") == (2, 32, 32, 1)  # the plan keeps the last good shape
        assert w.why_not(2) == why.rstrip(".") + " (step Nodes)."  # and Next waits for a good one
    nodes.shapes.item(0, 1).setText("1,32,32,1")
    assert w.state.selection.shape_for("image") == (1, 32, 32, 1) and w.why_not(2) is None


def test_cancel_mid_conversion_leaves_no_files(qtbot, window, tmp_path):
    w = window
    open_sample(qtbot, w)
    out = tmp_path / "out"
    choose_targets(w, out)
    assert w.go(3)
    page = w.page("Convert")
    cancelled = []

    def on_progress(fraction, message):
        if "Cutting" in message and not cancelled:
            cancelled.append(True)
            page.cancel_button.click()

    w.jobs.progress.connect(on_progress)
    with qtbot.waitSignal(w.jobs.failed, timeout=TIMEOUT):
        page.convert_button.click()
    assert cancelled
    assert "cancelled" in page.banner.text
    assert not out.exists() or not any(out.iterdir())
    assert "Cancelled" in [s.text() for _, _, s in page.rows]
    # The app lives and the next conversion works.
    with qtbot.waitSignal(w.jobs.finished, timeout=TIMEOUT):
        page.convert_button.click()
    assert (out / "manifest.json").is_file()


def test_worker_crash_is_shown_on_the_page_and_the_app_lives(qtbot, window, tmp_path, monkeypatch):
    import edgewizard.gui.pages.convert_page as convert_page

    w = window
    open_sample(qtbot, w)
    choose_targets(w, tmp_path / "out", devices=("openvino",))
    assert w.go(3)
    page = w.page("Convert")
    # Fault injection (a test double): the conversion job aborts the worker process.
    monkeypatch.setattr(convert_page, "CONVERT", "tests.core.fault_jobs:fault_abort_any")
    with qtbot.waitSignal(w.jobs.failed, timeout=TIMEOUT):
        page.convert_button.click()
    assert "worker process stopped unexpectedly (killed by SIGABRT)" in page.banner.text
    assert page.message.text() == "The conversion failed."
    monkeypatch.undo()
    with qtbot.waitSignal(w.jobs.finished, timeout=TIMEOUT):
        page.convert_button.click()
    assert w.state.manifest is not None


def test_a_bad_file_gets_a_clear_message_on_the_model_page(qtbot, window, tmp_path):
    bad = tmp_path / "downloaded half.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100)
    model = window.page("Model")
    with qtbot.waitSignal(window.jobs.failed, timeout=TIMEOUT):
        model.open_model(str(bad))
    assert "downloaded half.h5" in model.banner.text
    assert window.state.model is None
    assert model.open_file.isEnabled()  # usable again


def test_closing_with_a_running_job_asks_then_cancels(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    w = window
    open_sample(qtbot, w)
    choose_targets(w, tmp_path / "out", devices=("tflite",))
    assert w.go(3)
    asked = []
    # Test double for the person's click on "Yes" in the question box.
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.Yes)
    w.page("Convert").convert_button.click()
    assert w.jobs.busy
    assert w.close()
    assert asked and not w.jobs.busy and w.jobs.runner.worker_pid is None


def test_gui_process_never_imports_tensorflow_or_openvino(tmp_path):
    code = (
        "import os, sys, json; os.environ['QT_QPA_PLATFORM']='offscreen'\n"
        "from PySide6.QtWidgets import QApplication; app = QApplication([])\n"
        "from edgewizard.gui.main_window import MainWindow\n"
        "w = MainWindow(); w.show(); [w.pages[i].on_enter() for i in range(len(w.pages))]\n"
        "w.show_runtimes(); app.processEvents(); w.jobs.shutdown()\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    import os

    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path))  # the real settings of whoever runs the tests stay untouched
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    mods = set(json.loads(r.stdout.strip().splitlines()[-1]))
    assert "PySide6" in mods
    assert not mods & {"tensorflow", "keras", "openvino", "ai_edge_litert", "onnx", "nncf"}


def test_verify_step_shows_agreement_and_saves_a_report(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    w = window
    open_sample(qtbot, w)
    choose_targets(w, tmp_path / "out", devices=("tflite", "openvino"))
    assert w.go(3)
    with qtbot.waitSignal(w.jobs.finished, timeout=TIMEOUT):
        w.page("Convert").convert_button.click()
    assert w.go(4)
    page = w.page("Verify")
    assert page.kind_radios["test"].isChecked()  # the sample has a labelled test split
    with qtbot.waitSignal(w.jobs.finished, timeout=TIMEOUT):
        page.verify_button.click()
    assert page.table.rowCount() == 2
    # The OpenVINO row says which precision the CPU computed in, beside its verdict.
    xml_row = next(r for r in range(2) if page.table.item(r, 0).text().endswith(".xml"))
    page.table.selectRow(xml_row)
    detail = page.flags.text()
    assert detail.startswith("<p>No problems found for this file.</p><p>OpenVINO ran this ") and " on CPU" in detail
    row = next(r for r in range(2) if page.table.item(r, 0).text().endswith(".tflite"))
    page.table.selectRow(row)
    cells = [page.table.item(row, c).text() for c in range(page.table.columnCount())]
    assert cells[0] == "digits_cnn_int8.tflite" and cells[1] == "probabilities"
    agreement = float(cells[4].rstrip(" %"))
    assert agreement >= 98.0 and cells[-1] == "OK"
    assert "All converted models agree" in page.message.text()
    assert page.plot is not None and page.worst.count() > 0
    assert (tmp_path / "out" / "verify.json").is_file()
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)  # no browser in tests
    from PySide6.QtWidgets import QFileDialog

    # the person accepts the proposed place (the output folder's report.html)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda parent, caption, start, filters: (start, filters))
    page.save_report.click()
    report = tmp_path / "out" / "report.html"
    assert report.is_file() and page.report_bar.text == f"Report saved: {report}"
    page.report_bar.open_button.click()
    assert opened and opened[0].toLocalFile() == str(report)
    assert "digits_cnn_int8.tflite" in report.read_text(encoding="utf-8")


def test_target_step_checks_which_ops_each_device_runs(qtbot, window, tmp_path):
    w = window
    open_sample(qtbot, w)
    choose_targets(w, tmp_path / "out", devices=("edgetpu", "myriad"))
    panel = w.page("Target").checks
    assert panel.devices() == ["edgetpu", "myriad"]
    with qtbot.waitSignal(w.state.validationChanged, timeout=TIMEOUT):
        panel.check.click()
    reports = {r.device: r for r in w.state.validation}
    assert set(reports) == {"edgetpu", "myriad"}
    assert panel.device.count() == 2
    assert reports["edgetpu"].runs_entirely_on_device  # a plain CNN maps wholly to the Edge TPU
    assert "Edge TPU" in panel.summary.text()
    assert panel.table.rowCount() == len(reports["edgetpu"].nodes) > 0
    assert panel.table.item(0, 2).text().startswith("on the device")
    panel.device.setCurrentIndex(1)
    assert panel.table.rowCount() == len(reports["myriad"].nodes)
    # Changing the cut makes the old verdicts stale: no longer current, shown greyed and marked out of date.
    w.state.set_selection(w.state.selection.__class__(outputs=("dense",)))
    assert w.state.validation == () and panel.out_of_date == "for a different cut of this model"
    assert not panel.table.isEnabled() and "Out of date" in panel.summary.text()


def test_benchmark_step_runs_compares_and_exports(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    w = window
    open_sample(qtbot, w)
    out = tmp_path / "out"
    choose_targets(w, out, devices=("openvino", "tflite"))
    w.page("Target").precision["tflite"].setCurrentIndex(0)  # float
    assert w.go(3)
    with qtbot.waitSignal(w.jobs.finished, timeout=TIMEOUT):
        w.page("Convert").convert_button.click()
    assert w.go(5)
    page = w.page("Benchmark")
    qtbot.waitUntil(lambda: "Ready here" in page.devices_label.text(), timeout=TIMEOUT)
    assert "LiteRT" in page.devices_label.text() and "No Edge TPU found" in page.missing.text()
    page.count.setValue(150)
    page.device.setCurrentIndex(page.device.findData("tflite:CPU"))
    assert page.model.currentText() == "digits_cnn_float.tflite"
    page.start_button.click()
    qtbot.waitUntil(lambda: page.active is None, timeout=TIMEOUT)
    first = page.runs[0]
    assert first.n == 150 and first.result.count == 150 and first.result.status == "finished"
    assert len(first.curve.getData()[1]) == 150
    assert page.stat_labels["count"].text() == "150"
    assert not page.precision.isEnabled() and page.precision.currentText() == "As the model was converted"
    page.device.setCurrentIndex(page.device.findData("openvino:CPU"))
    assert page.model.currentText() == "digits_cnn_fp32.xml"
    # The CPU's own default precision is named (bf16 on CPUs with AMX / AVX512-BF16), and what ran is shown.
    default = subprocess.run([sys.executable, "-c", "import openvino as ov; print(ov.Core().get_property('CPU', "
                              "'INFERENCE_PRECISION_HINT').get_type_name())"], capture_output=True, text=True,
                             timeout=120).stdout.strip()  # asked outside: this GUI process never imports OpenVINO
    assert page.precision.isEnabled() and page.precision.currentText() == f"Device default ({default})"
    page.start_button.click()
    qtbot.waitUntil(lambda: page.active is None, timeout=TIMEOUT)
    assert page.table.rowCount() == 2
    column = {name: c for c, name in enumerate(TABLE)}
    assert [page.table.item(r, column["Precision"]).text() for r in range(2)] == ["as converted", default]
    assert page.runs[1].result.precision_label == f"{default} (this device's default)"
    page.baseline.setCurrentIndex(0)
    speedups = [page.table.item(r, column["Speed-up"]).text() for r in range(2)]
    assert speedups[0] == "1.00×" and speedups[1].endswith("×")
    assert (out / "bench-1.json").is_file() and (out / "bench-2.csv").is_file()  # picked up by the report
    target = tmp_path / "samples.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))  # the person's choice
    page.table.selectRow(0)
    page.export_csv.click()
    rows = target.read_text().splitlines()
    assert rows[0] == "index,phase,latency_ms" and sum(1 for r in rows if ",run," in r) == 150
    # A float .tflite is not offered for the Edge TPU (it would run on the CPU there): the device says why.
    page.model.setCurrentIndex(page.model.findText("digits_cnn_float.tflite"))
    assert page.device.currentData() != "edgetpu"
    assert not page.device.model().item(page.device.findData("edgetpu")).isEnabled()
    # No Edge TPU here: a file compiled for it (edgetpu_compiler is absent here, so its custom op is written
    # by hand) stops with the sentence naming what to plug in; earlier runs stay.
    compiled = tmp_path / "hand_edgetpu.tflite"
    compiled.write_bytes(b"TFL3" + bytes(2000) + b"edgetpu-custom-op")
    page.choices.add_file(str(compiled))
    assert page.device.currentData() == "edgetpu"
    page.start_button.click()
    qtbot.waitUntil(lambda: page.active is None, timeout=TIMEOUT)
    assert "No Edge TPU found" in page.banner.text
    assert page.table.rowCount() == 3 and page.runs[0].n == 150


def test_validation_colours_the_graph_by_where_nodes_run(qtbot, window, tmp_path, monkeypatch):
    w = window
    open_sample(qtbot, w)
    choose_targets(w, tmp_path / "out", devices=("edgetpu",))
    nodes = w.page("Nodes")
    sent = []
    # Records what would reach the page (the WebEngine part itself is covered by test_graph_view.py).
    monkeypatch.setattr(nodes.graph_view, "colour", lambda categories: sent.append(("colour", dict(categories))))
    monkeypatch.setattr(nodes.graph_view, "mark_partition", lambda name: sent.append(("partition", name)))
    assert nodes.colour_row.isHidden()
    with qtbot.waitSignal(w.state.validationChanged, timeout=TIMEOUT):
        w.page("Target").checks.check.click()
    assert not nodes.colour_row.isHidden() and nodes.colour_by.currentData() == "edgetpu"
    colours = [c for kind, c in sent if kind == "colour"][-1]
    assert colours["conv1"] == "accelerator" and set(colours.values()) == {"accelerator"}
    assert ("partition", None) in sent  # everything maps: no partition point
    nodes.colour_by.setCurrentIndex(0)
    assert sent[-2:] == [("colour", {}), ("partition", None)]


def test_the_welcome_shows_on_the_first_start_only(qtbot, settings):
    from edgewizard.gui.main_window import MainWindow
    from edgewizard.gui.welcome import already_shown

    for first in (True, False):
        w = MainWindow(settings=settings)
        qtbot.addWidget(w)
        w.show()
        if first:
            qtbot.waitUntil(lambda: getattr(w, "welcome", None) is not None and w.welcome.isVisible(), timeout=10_000)
            w.welcome.close()
        else:
            qtbot.wait(200)
            assert getattr(w, "welcome", None) is None
        assert already_shown(settings)
        w.jobs.shutdown()
        w.sink.uninstall()


def test_a_long_verify_verdict_wraps_instead_of_widening_the_window(qtbot, window):
    page = window.page("Verify")
    page.message.setText("All converted models agree with the original. Compared on 256 random inputs (uniform in "
                         "[0, 1)). Random inputs: the figures show whether the converted model computes the same "
                         "function, not how it behaves on real data; give real samples for figures you can act on.")
    assert page.message.minimumSizeHint().width() < 700  # unwrapped, this line alone asks for ~1500 px
