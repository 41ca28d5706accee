"""The Nodes step's original and converted graphs side by side (issue 18): the bundled sample converted for real to
int8 TFLite in the worker, "Show a converted model beside it" draws the converted file next to the original, a
node clicked in one selects its counterparts in the other (the pairs come from core/graph_pairs.py, run in the
worker), a node with none says so, and the Benchmark step's time per op colours both graphs as a heat map.

The per-op profile is built here from the converted file's own op names (core/bench/profile.py's make_profile and
with_sources, as the Benchmark step's mapping fills it); profiling for real is tested in tests/core. The real
graphs (Qt WebEngine) are driven with mouse clicks in a child process under Xvfb, as tests/gui/test_graph_view.py
does; EDGEWIZARD_SIDE_SHOTS=DIR keeps its screenshots."""
from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgewizard.gui.state import converted_files

from .test_quant_heatmap import choose_int8, int8_file
from .test_stale_state import TIMEOUT, check_devices, convert, open_model

REPO = Path(__file__).resolve().parents[2]
LABEL = "CPU (this computer)"


def sample_profile(pairs: dict, names: list[str]):
    """A per-op profile of the int8 sample: conv2's op the slowest, conv1's next, the rest quick."""
    from edgewizard.core.bench.profile import make_profile, with_sources

    def ms(name):
        first = (pairs.get(name) or ("",))[0]
        return {"conv2": 3.0, "conv1": 2.0}.get(first, 0.25)

    rows = [(n, "OP", ms(n), "int8") for n in names]
    return with_sources(make_profile("LiteRT op profiling", 20, rows, latency_ms=7.5), pairs)


def file_sha(w, path: Path) -> str:
    return next(f.sha256 for a in w.state.manifest.artifacts for f in a.files if f.name == path.name)


def wait_pairs(qtbot, nodes, path: Path) -> dict:
    qtbot.waitUntil(lambda: str(path) in nodes.beside.pairs, timeout=TIMEOUT)
    return nodes.beside.pairs[str(path)]


def test_side_by_side_pairs_the_nodes_both_ways_and_colours_by_time(qtbot, window, tmp_path):
    w = window
    open_model(qtbot, w)
    target = choose_int8(w, tmp_path / "out", edgetpu=False)
    target.device_checks["openvino"].setChecked(True)  # an OpenVINO IR too, at its default precision
    check_devices(qtbot, w)
    nodes = w.page("Nodes")
    beside = nodes.beside
    assert not beside.bar.isVisibleTo(nodes)  # nothing converted yet: nothing to show beside
    convert(qtbot, w)
    int8 = int8_file(w)
    assert w.go(1)
    assert beside.bar.isVisibleTo(nodes) and beside.files.findText(int8.name) >= 0
    beside.files.setCurrentIndex(beside.files.findText(int8.name))
    assert not beside.view.isVisibleTo(nodes)
    beside.toggle.setChecked(True)
    assert beside.view.isVisibleTo(nodes)
    assert nodes.graph_view.source.count() == 1  # the original on the left; the converted one is beside it
    pairs = wait_pairs(qtbot, nodes, int8)
    conv2 = next(k for k, v in pairs.items() if v[0] == "conv2")
    assert "Click a node in either graph" in beside.note.text()

    # A converted node selects where it came from, in the original graph and the node table.
    beside.view.nodeClicked.emit(conv2)
    assert nodes.graph_view._selected == ["conv2", "relu2"] and nodes.selected_nodes() == ["conv2"]
    assert "conv2" in beside.note.text()
    # An original node selects what it became.
    nodes.graph_view.nodeClicked.emit("conv3")
    assert beside.view._selected and all(pairs[n][0] == "conv3" for n in beside.view._selected)
    nodes.select_node("pool1")  # from the table too
    assert [pairs[n] for n in beside.view._selected] == [("pool1",)]
    # The int8 model's input quantization has no counterpart: it says so in one line.
    beside.view.nodeClicked.emit("tfl.quantize")
    assert beside.note.text() == "tfl.quantize has no counterpart in the original model."

    # The device colours reach the converted graph through the pairs.
    assert nodes.colour_by.currentData() is not None
    assert beside.view._colours and set(beside.view._colours) <= set(pairs)

    # A benchmark's time per op: offered under "Colour by" and shown at once, on the original by layer.
    assert nodes.colour_by.findData("time") < 0
    profile = sample_profile(pairs, list(pairs) + ["tfl.quantize"])
    w.state.set_profile(LABEL, profile, file_sha(w, int8))
    assert nodes.colour_by.currentData() == "time"
    assert nodes.colour_by.currentText() == "Time per op (from the Benchmark step)"
    heat = nodes.graph_view._heat
    assert heat["title"] == f"Time per op on {LABEL}" and heat["scale"] == "0|1.5 ms (slowest)"
    assert [n for n, v in heat["values"].items() if v == 1.0] == ["conv2", "relu2"]
    # Back to the device's colours, and a profile of another file is not offered.
    nodes.colour_by.setCurrentIndex(1)
    assert not nodes.graph_view.heat_shown
    w.state.set_profile(LABEL, profile, "0" * 64)
    assert nodes.colour_by.findData("time") < 0

    # The OpenVINO IR beside it: OpenVINO renames the convolutions, they are paired by their order.
    xml = next(str(p) for p, _ in converted_files(w.state.manifest, w.state.output_folder) if p.suffix == ".xml")
    beside.files.setCurrentIndex(beside.files.findData(xml))
    beside.files.activated.emit(beside.files.currentIndex())
    ir = wait_pairs(qtbot, nodes, Path(xml))
    assert {"conv1", "conv2", "conv3", "dense", "probabilities"} <= {v[0] for v in ir.values()}
    beside.view.nodeClicked.emit(next(k for k, v in ir.items() if v[0] == "conv3" and k.startswith("Convolution")))
    assert nodes.graph_view._selected[0] == "conv3"
    assert int8.name not in beside.pairs and str(int8) in beside.pairs  # each file paired once, kept

    # Off again: one graph, and the original's file choice comes back.
    beside.toggle.setChecked(False)
    assert not beside.view.isVisibleTo(nodes) and nodes.graph_view.source.count() == 3


# -- the real graphs (Qt WebEngine), in a child process under Xvfb ---------------------------------------------

@pytest.fixture(scope="module")
def side_report(tmp_path_factory):
    try:
        importlib.import_module("PySide6.QtWebEngineWidgets")
    except ImportError as exc:
        pytest.skip(f"Qt WebEngine cannot start here: {exc}")
    if not shutil.which("Xvfb"):
        pytest.skip("Qt WebEngine needs a display and Xvfb is not installed (apt install xvfb)")
    from tests.gui.test_graph_view import _start_xvfb

    folder = tmp_path_factory.mktemp("side")
    shots = os.environ.get("EDGEWIZARD_SIDE_SHOTS", "")
    xvfb, display = _start_xvfb()
    try:
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(REPO))
        flags = "--disable-gpu" + (" --no-sandbox" if os.geteuid() == 0 else "")
        env["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{env.get('QTWEBENGINE_CHROMIUM_FLAGS', '')} {flags}".strip()
        out = folder / "report.json"
        proc = subprocess.run([sys.executable, "-m", "tests.gui.test_side_by_side", str(folder), str(out), shots],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    assert out.exists(), f"the side-by-side child wrote no report (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    report = json.loads(out.read_text(encoding="utf-8"))
    assert not report.get("error"), f"the side-by-side child failed:\n{report['error']}"
    return report


def test_clicks_in_either_real_graph_select_the_counterparts(side_report):
    r = side_report
    assert r["converted_names"] and set(r["paired"]) <= set(r["converted_names"])
    assert set(r["original_after_click"]) == {"conv2", "relu2"}, r["original_after_click"]
    assert r["converted_after_click"] and all(r["paired"][n][0] == "conv3" for n in r["converted_after_click"])
    assert r["unmatched_note"] == "tfl.quantize has no counterpart in the original model."
    assert r["width"] <= 1366  # both graphs fit a laptop's screen


def test_the_openvino_ir_is_paired_by_the_names_its_graph_shows(side_report):
    r = side_report
    assert r["ir_paired"] and set(r["ir_paired"]) <= set(r["ir_names"])
    assert {"conv1", "conv2", "conv3", "dense", "probabilities"} <= {v[0] for v in r["ir_paired"].values()}
    coloured = set(r["ir_colours"]["accelerator"]) | set(r["ir_colours"]["cpu"])
    assert coloured and coloured <= set(r["ir_paired"])  # the device's colours carried over by the pairs


def test_the_time_heat_map_colours_both_real_graphs_with_its_legend(side_report):
    r = side_report
    left, right = r["heat_original"], r["heat_converted"]
    assert f"Time per op on {LABEL}" in left["heatLegend"] and "1.5 ms (slowest)" in left["heatLegend"]
    assert left["heatFills"]["conv2"] == "rgb(198, 40, 40)"  # red: the slowest layer
    assert f"Time per op on {LABEL}" in right["heatLegend"]
    slowest = [n for n, v in r["paired"].items() if v[0] == "conv2"]
    assert slowest and right["heatFills"][slowest[0]] == "rgb(198, 40, 40)"
    assert set(right["heat"]) >= set(r["paired"])


def _child(folder: Path, shots: str, out: dict) -> dict:
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QApplication

    from edgewizard.core.samples import sample_model_path
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
    nodes = d.nodes
    left, right = nodes.graph_view, nodes.beside.view

    def on(view):
        d.gv = view
        return d

    def click(view, name):
        on(view).js(f"edgewizard.centre({json.dumps(name)})")  # scrolled into view, then where it is drawn
        d.settle()
        point = json.loads(d.js(f"edgewizard.centre({json.dumps(name)})"))
        from PySide6.QtCore import QPoint
        from PySide6.QtTest import QTest

        QTest.mouseClick(view.web.focusProxy(), Qt.LeftButton, pos=QPoint(round(point[0]), round(point[1])))

    def shot(name):
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            for size in ((1366, 768), (1920, 1080)):
                w.resize(*size)
                for view in (left, right):
                    for _ in range(2):  # once the window's new size reached the page
                        on(view).settle()
                        d.js("edgewizard.fit()")
                        d.settle()
                w.grab().save(str(Path(shots) / f"{name}_{size[0]}x{size[1]}.png"))
            w.resize(1366, 768)
            for view in (left, right):
                on(view).settle()

    try:
        w.open_model(str(sample_model_path()))
        d.wait(lambda: w.state.model is not None, 240, "the model to load")
        choose_int8(w, folder / "out", edgetpu=True).device_checks["openvino"].setChecked(True)
        w.page("Target").checks.check.click()
        d.wait(lambda: bool(w.state.validation) and not w.jobs.busy, 240, "the device check")
        assert w.go(3)
        w.page("Convert").convert_button.click()
        d.wait(lambda: w.state.manifest is not None and not w.jobs.busy, 300, "the conversion")
        int8 = int8_file(w)
        w.go(1)
        d.wait(lambda: "drawn" in left.timings and left.names, 90, "the original graph")
        nodes.beside.toggle.setChecked(True)
        d.wait(lambda: "drawn" in right.timings and right.names, 90, "the converted graph")
        d.wait(lambda: str(int8) in nodes.beside.pairs, 120, "the pairs")
        pairs = nodes.beside.pairs[str(int8)]
        out["converted_names"], out["paired"] = list(right.names), {k: list(v) for k, v in pairs.items()}
        shot("side_by_side_devices")
        conv2 = next(k for k, v in pairs.items() if v[0] == "conv2")
        click(right, conv2)
        d.wait(lambda: "conv2" in left._selected, 30, "the original to follow the click")
        out["original_after_click"] = on(left).probe()["selected"]
        click(left, "conv3")
        d.wait(lambda: left._selected == ["conv3"], 30, "the click in the original graph")
        d.wait(lambda: right._selected and pairs.get(right._selected[0], ("",))[0] == "conv3", 30,
               "the converted graph to follow the click")
        out["converted_after_click"] = on(right).probe()["selected"]
        click(right, "tfl.quantize")
        d.wait(lambda: "no counterpart" in nodes.beside.note.text(), 30, "the unmatched note")
        out["unmatched_note"] = nodes.beside.note.text()
        profile = sample_profile(pairs, list(right.names))
        w.state.set_profile(LABEL, profile, file_sha(w, int8))
        out["heat_original"] = on(left).probe()
        out["heat_converted"] = on(right).probe()
        click(right, conv2)
        d.wait(lambda: "conv2" in left._selected, 30, "the original to follow the click")
        d.settle()
        out["width"] = w.width()  # a long op name in the note does not widen the window
        shot("side_by_side_time")
        # The OpenVINO IR beside the original: its nodes as the graph names them are the ones paired.
        xml = next(str(p) for p, _ in converted_files(w.state.manifest, w.state.output_folder) if p.suffix == ".xml")
        nodes.beside.files.setCurrentIndex(nodes.beside.files.findData(xml))
        nodes.beside.files.activated.emit(nodes.beside.files.currentIndex())
        d.wait(lambda: right.shown == xml and "drawn" in right.timings and right.names, 90, "the IR's graph")
        d.wait(lambda: xml in nodes.beside.pairs, 120, "the IR's pairs")
        out["ir_names"], out["ir_paired"] = list(right.names), {k: list(v) for k, v in nodes.beside.pairs[xml].items()}
        nodes.colour_by.setCurrentIndex(nodes.colour_by.findData("openvino:CPU"))
        conv = next(k for k, v in nodes.beside.pairs[xml].items() if v[0] == "conv2" and k.startswith("Convolution"))
        click(right, conv)
        d.wait(lambda: "conv2" in left._selected, 30, "the original to follow the click in the IR")
        out["ir_colours"] = on(right).probe()
        shot("side_by_side_openvino")
    finally:
        w.quit_without_asking()
        w.jobs.shutdown()
    return out


if __name__ == "__main__":
    import traceback

    result: dict = {}
    try:
        _child(Path(sys.argv[1]), sys.argv[3] if len(sys.argv) > 3 else "", result)
    except Exception:  # noqa: BLE001 - the parent test shows it, with what was found until then
        result["error"] = traceback.format_exc()
    Path(sys.argv[2]).write_text(json.dumps(result), encoding="utf-8")
    os._exit(0)
