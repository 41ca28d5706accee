"""The quantization doctor on the Nodes step (issue 17): a real per-layer analysis of the outlier model's int8
file (tests/models/outlier.py) is listed worst first, colours the graph as a heat map, selects with the graph both
ways, and "Keep these in float" puts the chosen layers into the plan, says what that means on the Target step and,
with the Edge TPU among the devices, checks it again to show what moves to the CPU. An analysis of another model
or of an older conversion is never shown as current.

Everything runs in the real worker (conversion, validation, the analysis); this process never imports TensorFlow.
The heat map on the real graph (Qt WebEngine) is driven in a child process under Xvfb, as tests/gui/test_graph_view.py
does, and its screenshots are written there (EDGEWIZARD_HEAT_SHOTS=DIR keeps them)."""
from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from edgewizard.core.samples import sample_calibration_path

from .test_stale_state import TIMEOUT, check_devices, convert, open_model

REPO = Path(__file__).resolve().parents[2]
PER_LAYER = "edgewizard.core.quant.layers:per_layer"
CONVS = {"conv1", "conv2"}


@pytest.fixture(scope="module")
def outlier(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("outlier")
    subprocess.run([sys.executable, "-c", "import sys; from tests.models.outlier import make_outlier_model; "
                    "make_outlier_model(sys.argv[1])", str(folder)], check=True, cwd=REPO, capture_output=True)
    return folder / "digits_outlier.keras"


def choose_int8(w, out, edgetpu: bool):
    """The CPU's int8 .tflite (and the Edge TPU), calibrated on the sample's digits."""
    assert w.go(2)
    page = w.page("Target")
    for key, check in page.device_checks.items():
        check.setChecked(key == "tflite" or (edgetpu and key == "edgetpu"))
    combo = page.precision["tflite"]
    combo.setCurrentIndex(combo.findData("tflite-int8"))
    page.calib_radios["array"].setChecked(True)
    page.calib_path.setText(str(sample_calibration_path()))
    page.output_dir.setText(str(out))
    assert page.missing() is None
    return page


def int8_file(w) -> Path:
    return Path(w.state.output_folder) / w.state.manifest.artifact("tflite-int8").model_file


def analyse(qtbot, w, samples: int = 16):
    """The per-layer analysis of the current int8 file, run in the worker as the Verify step runs it."""
    from edgewizard.core.verify.data import VerifyData

    plan = w.state.plan
    data = VerifyData(kind="calibration", calibration=plan.options.calibration)
    job = w.jobs.start(PER_LAYER, plan.source.path, plan.source.load_options, plan.selection, str(int8_file(w)),
                       data, samples=samples)
    with qtbot.waitSignal(job.ended, timeout=TIMEOUT):
        pass
    assert job.error is None, job.error
    return job.result


def row_nodes(panel) -> list[list[str]]:
    """The original nodes of each row, in the table's order."""
    return [panel.table.item(r, 0).data(Qt.UserRole) or [] for r in range(panel.table.rowCount())]


def test_the_worst_layers_are_listed_selected_both_ways_and_kept_in_float(qtbot, window, tmp_path, outlier):
    w = window
    open_model(qtbot, w, outlier)
    target = choose_int8(w, tmp_path / "out", edgetpu=True)
    check_devices(qtbot, w)
    before = next(r for r in w.state.validation if r.device == "edgetpu")
    convert(qtbot, w)
    report = analyse(qtbot, w)
    assert report.rows and report.file == int8_file(w).name

    nodes = w.page("Nodes")
    panel = nodes.layer_errors
    assert nodes.side.indexOf(panel) < 0 and not nodes.side.tabBar().isVisible()  # nothing measured yet
    # An analysis of a file that is not this conversion's (another model, an older conversion) is never shown.
    w.state.set_layers(replace(report, sha256="0" * 64))
    assert w.state.layers() is None and panel.table.rowCount() == 0 and panel.empty.isVisibleTo(panel)
    w.state.set_layers(report)
    assert w.state.layers() is report
    assert w.go(1)
    assert nodes.side.currentWidget() is panel and nodes.side.tabBar().isVisible()
    assert not panel.empty.isVisibleTo(panel) and report.file in panel.about.text()
    top = row_nodes(panel)[0]
    assert set(top) & CONVS, f"the worst layer is {top}, not conv1/conv2"
    # The heat map is on, with the worst layer at 1 and the legend's ends.
    assert panel.heat.isChecked() and nodes.graph_view.heat_shown
    values = nodes.graph_view._heat["values"]
    assert max(values.values()) == 1.0 and CONVS & {n for n, v in values.items() if v == 1.0}
    assert nodes.graph_view._heat["scale"].startswith("0 ")
    # Device colours and the heat map take turns.
    nodes.colour_by.setCurrentIndex(nodes.colour_by.findData("edgetpu"))
    assert not panel.heat.isChecked() and not nodes.graph_view.heat_shown
    panel.heat.setChecked(True)
    assert nodes.graph_view.heat_shown

    # A row selects its node in the graph; a node clicked in the graph selects its row.
    panel.table.selectRow(0)
    first = panel.table.item(0, 0).data(Qt.UserRole)
    assert first and nodes.graph_view._selected == first
    other = next(n for n in CONVS if n not in first)
    nodes.graph_view.nodeClicked.emit(other)
    assert other in panel.selected_nodes() and nodes.selected_nodes() == [other]

    # Keep the two convolutions in float: the plan takes them, the Target step says so, the Edge TPU is checked again.
    for r in range(panel.table.rowCount()):
        if set(panel.table.item(r, 0).data(Qt.UserRole) or ()) & CONVS:
            panel._add_row(r)
    chosen = set(panel.selected_nodes())
    assert chosen >= CONVS
    panel.keep.click()
    assert set(w.state.plan.options.keep_float) == chosen
    assert "will stay in float" in panel.outcome.text() and "Convert again" in panel.outcome.text()
    qtbot.waitUntil(lambda: panel.checking is None and "After:" in panel.outcome.text(), timeout=TIMEOUT)
    after = next(r for r in w.state.validation if r.device == "edgetpu")
    assert f"Before: {before.totals['device']} of {before.totals['total']} ops" in panel.outcome.text()
    assert after.totals["device"] < before.totals["device"], "layers in float must leave the Edge TPU"
    assert w.go(2)
    assert target.kept_widget.isVisibleTo(target) and target.kept_float.text().startswith("conv1, conv2")
    # The plan moved: the analysis was of the previous conversion's file, so it is no longer shown.
    assert w.state.layers() is None and panel.table.rowCount() == 0 and panel.empty.isVisibleTo(panel)
    assert "Verify step" in panel.empty.text()
    assert not nodes.graph_view.heat_shown

    # Converting again makes a new int8 file: the old analysis stays out of sight.
    target.force.setChecked(True)  # over the first conversion's files
    convert(qtbot, w)
    kept = w.state.manifest.artifact("tflite-int8").details.get("keep_float", {})
    assert CONVS <= set(kept.get("kept", ()))
    assert w.state.layers() is None
    # Clearing keeps nothing in float again, from the Target step.
    assert w.go(2)
    target.clear_kept.click()
    assert w.state.plan.options.keep_float == () and not target.kept_widget.isVisibleTo(target)


def test_a_new_model_clears_the_analysis_and_the_layers_kept_in_float(qtbot, window, tmp_path, outlier):
    from edgewizard.core.quant.results import LayerError, LayerReport

    w = window
    open_model(qtbot, w, outlier)
    w.state.set_keep_float(("conv2",))
    w.state.set_layers(LayerReport("x.tflite", "x.tflite", "a" * 64, "litert", "calibration data", 4,
                                   (LayerError("t", "CONV_2D", ("conv2",), 0.5, 0.5),)))
    open_model(qtbot, w)  # the sample
    assert w.state.last_layers is None and w.state.plan.options.keep_float == ()
    nodes = w.page("Nodes")
    assert nodes.side.indexOf(nodes.layer_errors) < 0


# -- the heat map on the real graph (Qt WebEngine), in a child process under Xvfb ------------------------------

@pytest.fixture(scope="module")
def heat_report(tmp_path_factory, outlier):
    try:
        importlib.import_module("PySide6.QtWebEngineWidgets")
    except ImportError as exc:
        pytest.skip(f"Qt WebEngine cannot start here: {exc}")
    if not shutil.which("Xvfb"):
        pytest.skip("Qt WebEngine needs a display and Xvfb is not installed (apt install xvfb)")
    from tests.gui.test_graph_view import _start_xvfb

    folder = tmp_path_factory.mktemp("heat")
    shots = os.environ.get("EDGEWIZARD_HEAT_SHOTS", "")
    xvfb, display = _start_xvfb()
    try:
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(REPO))
        flags = "--disable-gpu" + (" --no-sandbox" if os.geteuid() == 0 else "")
        env["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{env.get('QTWEBENGINE_CHROMIUM_FLAGS', '')} {flags}".strip()
        out = folder / "report.json"
        proc = subprocess.run([sys.executable, "-m", "tests.gui.test_quant_heatmap", str(outlier), str(folder), str(out),
                               shots], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    assert out.exists(), f"the heat map child wrote no report (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    report = json.loads(out.read_text(encoding="utf-8"))
    assert not report.get("error"), f"the heat map child failed:\n{report['error']}"
    return report


def test_the_heat_map_reaches_the_graph_with_its_legend(heat_report):
    r = heat_report
    heat = r["heat"]
    assert set(heat["heat"]) >= CONVS, heat["heat"]
    assert "each layer adds" in heat["heatLegend"] and "(worst)" in heat["heatLegend"]
    assert not heat["accelerator"] and not heat["cpu"]  # the device colours are hidden meanwhile
    worst = [n for n, v in r["values"].items() if v == 1.0]
    assert worst and all(heat["heatFills"][n] == "rgb(198, 40, 40)" for n in worst)  # red: the worst layer
    assert r["selected_from_row"] == r["first_row_nodes"]
    assert r["clicked"] in r["row_from_graph"]
    devices = r["devices"]
    assert not devices["heat"] and not devices["heatLegend"] and devices["accelerator"]  # device colours back


def _child(outlier: str, folder: Path, shots: str) -> dict:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from edgewizard.core.verify.data import VerifyData
    from edgewizard.gui.netron_scheme import prepare_web_engine
    from tests.gui.test_graph_view import _Driver

    reason = prepare_web_engine()
    if reason:
        raise RuntimeError(reason)
    app = QApplication([])
    from edgewizard.gui.main_window import MainWindow
    from edgewizard.gui.settings import Settings

    w = MainWindow(settings=Settings(QSettings(str(folder / "settings.ini"), QSettings.IniFormat)), welcome=False)
    w.resize(1366, 768)
    w.show()
    d = _Driver(app, w)
    out: dict = {}
    try:
        w.open_model(outlier)
        d.wait(lambda: w.state.model is not None, 240, "the model to load")
        target = choose_int8(w, folder / "out", edgetpu=True)
        target.checks.check.click()
        d.wait(lambda: bool(w.state.validation) and not w.jobs.busy, 240, "the device check")
        assert w.go(3)
        w.page("Convert").convert_button.click()
        d.wait(lambda: w.state.manifest is not None and not w.jobs.busy, 300, "the conversion")
        plan = w.state.plan
        job = w.jobs.start(PER_LAYER, plan.source.path, plan.source.load_options, plan.selection, str(int8_file(w)),
                           VerifyData(kind="calibration", calibration=plan.options.calibration), samples=16)
        d.wait(lambda: not job.running, 300, "the per-layer analysis")
        if job.error is not None:
            raise RuntimeError(job.error.message)
        w.go(1)
        d.wait(lambda: "drawn" in d.gv.timings and d.gv.names, 90, "the graph")
        w.state.set_layers(job.result)
        panel = d.nodes.layer_errors
        out["values"] = panel.heat_values()
        d.js("edgewizard.fit()")
        out["heat"] = d.probe()
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            for size in ((1366, 768), (1920, 1080)):
                w.resize(*size)
                d.settle()
                d.js("edgewizard.fit()")
                d.settle()
                w.grab().save(str(Path(shots) / f"heatmap_{size[0]}x{size[1]}.png"))
            w.resize(1366, 768)
        panel.table.selectRow(0)
        out["first_row_nodes"] = panel.selected_nodes()
        out["selected_from_row"] = d.probe()["selected"]
        clicked = next(n for n in sorted(CONVS) if n not in out["first_row_nodes"])
        d.mouse(clicked, Qt.LeftButton)
        d.wait(lambda: clicked in panel.selected_nodes(), 30, "the row to follow the click")
        out["clicked"], out["row_from_graph"] = clicked, panel.selected_nodes()
        d.nodes.colour_by.setCurrentIndex(d.nodes.colour_by.findData("edgetpu"))
        out["devices"] = d.probe()
        if shots:  # "Keep these in float" with the Edge TPU's before and after, and the Target step saying it
            panel.heat.setChecked(True)
            panel.table.clearSelection()
            for r in range(panel.table.rowCount()):
                if set(panel.table.item(r, 0).data(Qt.UserRole) or ()) & CONVS:
                    panel._add_row(r)
            panel.keep.click()
            d.wait(lambda: panel.checking is None and "After:" in panel.outcome.text(), 300, "the Edge TPU check")
            d.settle()
            w.grab().save(str(Path(shots) / "keep_float_1366x768.png"))
            w.go(2)
            shown = time.monotonic() + 0.5  # a page without the graph: no frame to wait for
            d.wait(lambda: time.monotonic() > shown, 5, "the Target step")
            w.grab().save(str(Path(shots) / "target_kept_1366x768.png"))
    finally:
        w.quit_without_asking()
        w.jobs.shutdown()
    return out


if __name__ == "__main__":
    import traceback

    result: dict = {}
    try:
        result = _child(sys.argv[1], Path(sys.argv[2]), sys.argv[4] if len(sys.argv) > 4 else "")
    except Exception:  # noqa: BLE001 - the parent test shows it
        result = {"error": traceback.format_exc()}
    Path(sys.argv[3]).write_text(json.dumps(result), encoding="utf-8")
    os._exit(0)
