"""A screen shows only what belongs to what is on it (issue 15): after a second model is opened in the
same window, or only the devices, targets or cut change, no page presents an earlier result as current.

Model A is the bundled sample (digits CNN, 32x32x1, .keras); model B a different small Keras classifier
(16x16x1) made in a subprocess, so this process never imports TensorFlow."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edgewizard.core.plan import Selection

TIMEOUT = 240_000
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model_b(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model_b") / "small_classifier.keras"
    subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from tests.models.keras_models import "
                    "sequential_cnn; sequential_cnn(Path(sys.argv[1]))", str(path)], check=True, cwd=REPO,
                   capture_output=True)
    return path


def open_model(qtbot, w, path=None):
    page = w.page("Model")
    before = w.state.model
    if path is None:
        page.use_sample.click()
    else:
        page.open_model(str(path))
    qtbot.waitUntil(lambda: w.state.model is not None and w.state.model is not before, timeout=TIMEOUT)


def choose(w, out, devices, precision=None):
    assert w.go(2)
    page = w.page("Target")
    for key, check in page.device_checks.items():
        check.setChecked(key in devices)
    for key, index in (precision or {}).items():
        page.precision[key].setCurrentIndex(index)
    page.output_dir.setText(str(out))
    return page


def check_devices(qtbot, w):
    panel = w.page("Target").checks
    with qtbot.waitSignal(w.state.validationChanged, timeout=TIMEOUT,
                          check_params_cb=lambda *a: bool(w.state.validation)):
        panel.check.click()
    return panel


def convert(qtbot, w):
    assert w.go(3)
    page = w.page("Convert")
    with qtbot.waitSignal(w.state.conversionChanged, timeout=TIMEOUT,
                          check_params_cb=lambda *a: w.state.manifest is not None):
        page.convert_button.click()
    return page


def panel_text(panel) -> str:
    rows = [panel.table.item(r, 1).text() for r in range(panel.table.rowCount())]
    return panel.summary.text() + " ".join(rows) + " ".join(panel.device.itemText(i) for i in range(panel.device.count()))


def test_a_second_model_shows_nothing_of_the_first(qtbot, window, tmp_path, model_b):
    w = window
    open_model(qtbot, w)
    choose(w, tmp_path / "a_out", ("tflite", "openvino"))
    panel = check_devices(qtbot, w)
    assert "ops on the" in panel.summary.text() and panel.table.rowCount() > 0
    assert w.go(1) and w.page("Nodes").colour_row.isVisibleTo(w.page("Nodes"))
    page = convert(qtbot, w)
    assert page.message.text() == "Conversion finished." and page.files.rowCount() > 0
    a_files = {page.files.item(r, 0).text() for r in range(page.files.rowCount())}

    open_model(qtbot, w, model_b)

    # Target > "Will it run there?": nothing of model A (its ops, its per-device lines).
    assert w.go(2)
    assert panel.table.rowCount() == 0 and panel.device.count() == 0
    assert "ops on the" not in panel.summary.text() and "conv" not in panel_text(panel).lower()
    # Nodes: no colouring by model A's verdicts.
    nodes = w.page("Nodes")
    assert not nodes.colour_row.isVisibleTo(nodes)
    assert nodes.colour_by.count() <= 1
    # Convert: nothing has run for B; its output folder is B's own default, not A's.
    assert w.state.request.output_dir == str(model_b.parent / "small_classifier_edgewizard")
    assert w.page("Target").output_dir.text() == w.state.request.output_dir
    assert w.state.manifest is None and w.why_not(4) is not None
    assert w.go(3)
    assert page.message.text() == ""
    assert page.files.rowCount() == 0 and not page.results_box.isVisibleTo(page)
    assert page.notes.text() == "" or not page.results_box.isVisibleTo(page)
    assert page.log.toPlainText() == ""
    assert "small_classifier" in page.summary.text() and "a_out" not in page.summary.text()
    # Converting B shows B's files only.
    page = convert(qtbot, w)
    b_files = {page.files.item(r, 0).text() for r in range(page.files.rowCount())}
    assert b_files and not (b_files & a_files)
    assert all(n.startswith("small_classifier") for n in b_files)


def test_only_the_precision_changes_keeps_the_check_and_marks_the_files_out_of_date(qtbot, window, tmp_path):
    w = window
    open_model(qtbot, w)
    choose(w, tmp_path / "out", ("tflite",), {"tflite": 0})  # float32
    panel = check_devices(qtbot, w)
    checked = panel.summary.text()
    page = convert(qtbot, w)
    assert page.message.text() == "Conversion finished."
    choose(w, tmp_path / "out", ("tflite",), {"tflite": 1})  # float16 weights: other targets, same devices
    assert w.state.validation and panel.summary.text() == checked and not panel.out_of_date
    assert w.state.manifest is None
    assert w.go(3)
    assert page.message.text().startswith("Out of date: the files below were made for other choices")
    assert not page.files.isEnabled() and "out of date" in page.results_box.title()
    assert w.why_not(4).startswith("Convert again first")
    # Back to float32: the earlier files are current again, as they were.
    choose(w, tmp_path / "out", ("tflite",), {"tflite": 0})
    assert w.state.manifest is not None and page.files.isEnabled()
    assert w.why_not(4) is None


def test_only_the_devices_change_marks_the_check_out_of_date_and_keeps_the_files(qtbot, window, tmp_path):
    w = window
    open_model(qtbot, w)
    choose(w, tmp_path / "out", ("openvino",), {"openvino": 1})  # OpenVINO FP16
    panel = check_devices(qtbot, w)
    convert(qtbot, w)
    manifest = w.state.manifest
    # The NCS2 runs the same FP16 model: one more device, the same files.
    choose(w, tmp_path / "out", ("openvino", "myriad"), {"openvino": 1})
    assert w.state.request.targets == ("openvino-fp16",)
    assert w.state.manifest is manifest  # the files still belong to this plan
    assert panel.out_of_date == "for other devices"
    assert "Out of date: these results are for other devices" in panel.summary.text()
    assert not panel.table.isEnabled()
    assert w.state.validation == ()  # nothing current for the Nodes page to colour by


def test_a_new_cut_marks_the_check_and_the_files_out_of_date(qtbot, window, tmp_path):
    w = window
    open_model(qtbot, w)
    choose(w, tmp_path / "out", ("tflite",), {"tflite": 0})
    panel = check_devices(qtbot, w)
    page = convert(qtbot, w)
    node = [n.name for n in w.state.model.graph.nodes][-2]  # cut one node before the end
    w.state.set_selection(Selection(outputs=(node,)))
    assert panel.out_of_date == "for a different cut of this model"
    assert w.state.manifest is None
    assert page.message.text().startswith("Out of date: the files below were made for a different cut")
    nodes = w.page("Nodes")
    assert not nodes.colour_row.isVisibleTo(nodes)
