"""The Nodes step's graph view (Netron in Qt WebEngine): the pinned private Netron API it relies on, the
cut highlights, the fallback without WebEngine, and, in a child process under our own Xvfb, the real
thing: clicks in the graph select in the table and change the plan, highlights and colours reach the
page, a converted model opens in the same view, and nothing listens or connects beyond loopback.

Why a child process: `make test` runs pytest with QT_QPA_PLATFORM=offscreen and no display, and its
QApplication exists before any test; WebEngine wants a display (xcb), its URL scheme registered before
the QApplication, and a clean shutdown. The child gets all three; it reports what it saw as JSON.
Run `python -m tests.gui.test_graph_view shots DIR` under a display for the screenshots."""
from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Optional

import pytest

from edgewizard.core.graph import Graph, Node, TensorInfo
from edgewizard.core.plan import Selection

REPO = Path(__file__).resolve().parents[2]
CUT_IN, CUT_OUT = "input_1", ("Mconv7_stage2_L1", "Mconv7_stage2_L2")
MODEL_NAME = "open pose 模型.keras"  # spaces and non-ASCII reach Netron through the URL scheme intact
OPENPOSE_REMOVED = {"input_2", "input_3", "weight_stage1_L1", "weight_stage1_L2", "weight_stage2_L1", "weight_stage2_L2"}


# -- without WebEngine ------------------------------------------------------------------------------

def test_the_pinned_netron_still_has_the_private_api_the_bridge_uses():
    import netron

    from edgewizard.gui.netron_scheme import INDEX_SCRIPT, NETRON_VERSION, netron_dir, resources_dir

    assert netron.__version__ == NETRON_VERSION == "9.3.3", (
        "Netron changed: re-check resources/netron/bridge.js and host.js against the new sources, then re-pin")
    src = {name: (netron_dir() / name).read_text(encoding="utf-8") for name in ("view.js", "grapher.js", "base.js")}
    index = (netron_dir() / "index.html").read_bytes()
    needed = {
        "index.html": [INDEX_SCRIPT.decode(), 'id="target"', 'id="message-text"', 'id="message-button"', 'id="menu-button"'],
        "view.js": [
            "export const View = view.View;", "showNodeProperties(node, source) {", "get target() {", "set target(value) {",
            "this.context.activate(value, 'target');", "this.context.view.showNodeProperties(this.value, source);",
            "select(selection, source) {", "scrollTo(selection, behavior) {", "set zoom(value) {", "get selection() {",
            "zoomIn() {", "zoomOut() {", "toggle(name) {", "case 'names':", "const options = this._host.get('options') || {};",
            "return 'graph-node';", "return 'graph-input';", "this.id = `node-${value.name ? `name-${value.name}`",
            "const styles = category ? ['node-item-type',", "this._worker = this._host.environment('serial') ? null",
        ],
        "grapher.js": ["this.border.setAttribute('class', 'node node-border');", "get nodes() {", "get edges() {",
                       "this.from = from;", "this.to = to;", "this.element.classList.add('select');"],
        "base.js": ["export const BinaryStream = base.BinaryStream;"],
    }
    text = {**src, "index.html": index.decode("utf-8")}
    missing = [f"{f}: {s}" for f, items in needed.items() for s in items if s not in text[f]]
    # Every host method Netron's View calls must exist in our host (resources/netron/host.js).
    host = (resources_dir() / "host.js").read_text(encoding="utf-8")
    for name in sorted(set(re.findall(r"_host\.(\w+)", src["view.js"]))):
        if not re.search(rf"^\s+(async |get )?{name}\(", host, re.M):
            missing.append(f"host.js lacks {name}() that view.js calls")
    assert not missing, "Netron's private API changed:\n" + "\n".join(missing)


def _openpose_graph() -> Graph:
    """The OpenPose-shaped model of tests/models/openpose.py as the Keras loader describes it."""
    def n(name, op, *inputs):
        return Node(name, op, tuple(inputs), (TensorInfo(name, (None, None, None, 8), "float32"),))

    nodes = [n("input_1", "InputLayer"), n("conv1_1", "Conv2D", "input_1"), n("conv4_4_CPM_relu", "ReLU", "conv1_1"),
             n("Mconv5_stage1_L1", "Conv2D", "conv4_4_CPM_relu"), n("input_2", "InputLayer"),
             n("weight_stage1_L1", "Multiply", "Mconv5_stage1_L1", "input_2"),
             n("Mconv5_stage1_L2", "Conv2D", "conv4_4_CPM_relu"), n("input_3", "InputLayer"),
             n("weight_stage1_L2", "Multiply", "Mconv5_stage1_L2", "input_3"),
             n("concat_stage2", "Concatenate", "Mconv5_stage1_L1", "Mconv5_stage1_L2", "conv4_4_CPM_relu"),
             n("Mconv7_stage2_L1", "Conv2D", "concat_stage2"), n("weight_stage2_L1", "Multiply", "Mconv7_stage2_L1", "input_2"),
             n("Mconv7_stage2_L2", "Conv2D", "concat_stage2"), n("weight_stage2_L2", "Multiply", "Mconv7_stage2_L2", "input_3")]
    t = lambda name: TensorInfo(name, None, "float32")  # noqa: E731
    return Graph(tuple(nodes), tuple(t(f"input_{i}") for i in (1, 2, 3)),
                 tuple(t(f"weight_stage{s}_{b}") for s in (1, 2) for b in ("L1", "L2")))


def test_the_highlights_are_the_cores_cut_nodes():
    """What the graph highlights is core.cut.cut_nodes (pinned in tests/core/test_kept_nodes.py)."""
    from edgewizard.core.cut import cut_nodes

    marks = cut_nodes(_openpose_graph(), Selection((CUT_IN,), CUT_OUT))
    assert marks.inputs == (CUT_IN,) and marks.outputs == CUT_OUT
    assert set(marks.removed) == OPENPOSE_REMOVED


def test_model_files_and_the_scheme_serves_nothing_outside_the_models_folder(tmp_path, qapp):
    from edgewizard.core.errors import UserError
    from edgewizard.gui.netron_scheme import ModelFile, _scheme_handler_class, model_file

    saved = tmp_path / "my model ñ"
    (saved / "variables").mkdir(parents=True)
    (saved / "saved_model.pb").write_bytes(b"pb")
    assert model_file(str(saved)) == ModelFile(saved / "saved_model.pb", saved)
    with pytest.raises(UserError, match="without saved_model.pb"):
        model_file(str(saved / "variables"))
    with pytest.raises(UserError, match="does not exist"):
        model_file(str(tmp_path / "gone.keras"))
    handler = _scheme_handler_class()()
    url = handler.add_model(model_file(str(saved)))
    token = url.split("/")[-2]
    assert url.endswith("/saved_model.pb")
    assert handler._model_path(f"model/{token}/variables") == (saved / "variables").resolve()
    assert handler._model_path(f"model/{token}/../../etc/passwd") is None
    assert handler._model_path("model/0000/saved_model.pb") is None


def test_without_web_engine_the_page_says_why_and_the_table_still_works(qtbot, monkeypatch):
    from edgewizard.core.graph import ModelInfo
    from edgewizard.core.plan import LoadOptions
    from edgewizard.gui import netron_scheme
    from edgewizard.gui.jobs_qt import JobController
    from edgewizard.gui.pages.nodes_page import NodesPage
    from edgewizard.gui.settings import Settings
    from edgewizard.gui.state import WizardState

    # Test double for a machine without Qt WebEngine.
    monkeypatch.setitem(netron_scheme._state, "reason", "Qt WebEngine is not installed (test double).")
    state = WizardState()
    jobs = JobController()
    page = NodesPage(state, jobs, Settings())
    qtbot.addWidget(page)
    page.show()
    state.set_model("/models/openpose.h5", LoadOptions(), ModelInfo("/models/openpose.h5", "h5", _openpose_graph(), 0, 0))
    assert page.graph_view.web is None
    assert page.graph_view.message.text() == "Qt WebEngine is not installed (test double)."
    assert page.select_node("input_1")
    page.as_input.click()
    assert state.selection.inputs == ("input_1",)
    jobs.shutdown()


# -- with WebEngine, in a child process under Xvfb --------------------------------------------------

@pytest.fixture(scope="session")
def webengine_report(tmp_path_factory):
    try:
        importlib.import_module("PySide6.QtWebEngineWidgets")
    except ImportError as exc:
        pytest.skip(f"Qt WebEngine cannot start here: {exc}")
    if not shutil.which("Xvfb"):
        pytest.skip("Qt WebEngine needs a display and Xvfb is not installed (apt install xvfb)")
    folder = tmp_path_factory.mktemp("graph view")
    _write_models(folder)
    xvfb, display = _start_xvfb()
    try:
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(REPO))
        flags = "--disable-gpu" + (" --no-sandbox" if os.geteuid() == 0 else "")  # Chromium refuses root with a sandbox
        env["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{env.get('QTWEBENGINE_CHROMIUM_FLAGS', '')} {flags}".strip()
        out = folder / "report.json"
        proc = subprocess.run([sys.executable, "-m", "tests.gui.test_graph_view", "drive", str(folder), str(out)],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    assert out.exists(), f"the graph view child wrote no report (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    report = json.loads(out.read_text(encoding="utf-8"))
    assert not report.get("error"), f"the graph view child failed:\n{report['error']}"
    return report


def _write_models(folder: Path) -> None:
    """The OpenPose-shaped model, and a tiny .tflite and OpenVINO IR standing for converted files."""
    from tests.models.openpose import make_openpose
    from tests.models.other_formats import openvino_ir, tflite_float

    make_openpose(folder / MODEL_NAME, "keras")
    (folder / "converted").mkdir()
    tflite_float(folder / "converted")
    openvino_ir(folder / "converted")


def _start_xvfb():
    """Our own Xvfb on a free display, with no TCP listener (the network test's)."""
    from tests.hardening.network_sandbox import start_xvfb

    try:
        return start_xvfb()
    except RuntimeError:
        pytest.skip("Xvfb did not start, so Qt WebEngine has no display")


def test_the_graph_shows_the_model_with_the_tables_names(webengine_report):
    r = webengine_report
    assert set(r["graph_names"]) == set(r["table_names"])  # Keras: Netron's layers are our layers
    assert r["drawn_s"] < 60


def test_a_click_in_the_graph_selects_in_the_table_and_marking_changes_the_plan(webengine_report):
    r = webengine_report
    assert r["after_click"]["table"] == ["Mconv7_stage2_L1"]
    assert r["after_click"]["graph"] == ["Mconv7_stage2_L1"]
    assert r["after_output_button"] == [[], ["Mconv7_stage2_L1"]]
    assert r["focus_in_graph"] and r["after_ctrl_u"] == [[], ["Mconv7_stage2_L1", "Mconv7_stage2_L2"]]
    assert r["context_menu"][:2] == ["Use “input_1” as cut input", "Use “input_1” as cut output"]
    assert r["after_context_menu"] == [["input_1"], list(CUT_OUT)]


def test_chosen_nodes_and_what_the_cut_removes_are_highlighted(webengine_report):
    page = webengine_report["highlighted"]
    assert page["inputs"] == [CUT_IN] and sorted(page["outputs"]) == sorted(CUT_OUT)
    assert set(page["removed"]) == OPENPOSE_REMOVED
    assert page["badges"] == 3
    cleared = webengine_report["cleared"]
    assert cleared["nodes"] == 28 and cleared["inputs"] == cleared["outputs"] == cleared["removed"] == []


def test_table_selection_and_find_reach_the_graph(webengine_report):
    assert webengine_report["table_to_graph"] == ["conv1_1"]
    assert webengine_report["found"] == ["weight_stage2_L2"]


def test_colours_legend_and_partition_point_reach_the_page(webengine_report):
    page = webengine_report["coloured"]
    assert page["accelerator"] == ["conv1_1", "conv1_1_relu"] and page["cpu"] == ["concat_stage2"]
    assert page["unsupported"] == ["Mconv7_stage2_L1"] and page["partition"] == ["concat_stage2"]
    assert page["legend"].split("\n") == ["On the accelerator (2)", "Falls back to the CPU (1)", "Not supported (1)"]
    assert webengine_report["uncoloured"]["legend"] == "" and webengine_report["uncoloured"]["cpu"] == []


def test_a_converted_model_opens_in_the_same_view(webengine_report):
    r = webengine_report
    assert r["sources"] == ["Original model", "Converted: tiny.tflite", "Converted: tiny.xml"]
    assert r["tflite_nodes"] >= 4 and r["ir_nodes"] >= 4  # TFLite ops are known by their first output's name
    assert any(p.endswith("/tiny.bin") for p in r["served"])  # the IR's weights, fetched beside the .xml


def test_a_model_netron_cannot_read_is_refused_in_one_sentence(webengine_report):
    message, message_shown, graph_shown = webengine_report["broken"]
    assert message.startswith("Netron could not show ") and "broken.tflite" in message
    assert message_shown and not graph_shown
    assert webengine_report["after_broken"] >= 4  # the next model shows again


def test_nothing_listens_or_connects_beyond_loopback_while_the_view_is_open(webengine_report):
    r = webengine_report
    assert r["blocked_before_probe"] == []  # Netron itself asked for nothing outside our scheme
    # Our deliberate attempts from the page were all refused by the guard (so it does work).
    assert set(r["blocked_after_probe"]) == {"https://example.com/telemetry", "http://192.0.2.1/pixel.png",
                                            "https://example.org/"}
    assert r["processes"] >= 2  # the GUI process and WebEngine's own
    bad = [s for s in r["sockets"] if not s["loopback_only"]]
    assert not bad, f"sockets beyond loopback: {bad}"


# -- the child: drives the real window -------------------------------------------------------------

def _sockets(root: int) -> tuple[int, list[dict]]:
    """TCP/UDP sockets of `root` and its descendants, from /proc (listening or connected)."""
    import ipaddress

    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    inodes = {}
    for pid in tree:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes[link[8:-1]] = pid
        except OSError:
            continue

    def addr(text: str):
        host, port = text.split(":")
        raw = bytes.fromhex(host)
        raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # /proc prints 32-bit words little-endian
        return ipaddress.ip_address(raw), int(port, 16)

    found = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        for line in Path(f"/proc/{root}/net/{proto}").read_text().splitlines()[1:]:
            f = line.split()
            if f[9] not in inodes:
                continue
            (lip, lport), (rip, rport) = addr(f[1]), addr(f[2])
            loopback = lambda ip: ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback)  # noqa: E731
            listening = (proto.startswith("tcp") and f[3] == "0A") or proto.startswith("udp")
            ok = (loopback(lip) if listening else True) and (rport == 0 or loopback(rip))
            found.append({"proto": proto, "local": f"{lip}:{lport}", "remote": f"{rip}:{rport}", "state": f[3],
                          "pid": inodes[f[9]], "loopback_only": ok})
    return len(tree), found


class _Driver:
    """Waits, JavaScript round trips and real mouse clicks for the child."""

    def __init__(self, app, window):
        from PySide6.QtCore import QEventLoop

        self.app, self.w, self.loop = app, window, QEventLoop()
        self.nodes = window.page("Nodes")
        self.gv = self.nodes.graph_view

    def wait(self, cond, timeout=120.0, what="the window"):
        import time

        from PySide6.QtCore import QTimer

        # QEventLoop, not QApplication.processEvents(): in PySide6 6.12 on Python 3.11 the latter drops
        # a reference to None per call, and a long wait ends in "Fatal Python error: none_dealloc".
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise TimeoutError(f"timed out waiting for {what}")
            QTimer.singleShot(10, self.loop.quit)
            self.loop.exec()

    def settle(self, token="settle"):
        got = []
        self.gv.painted.connect(lambda t: got.append(t))
        self.gv.ping(token)
        self.wait(lambda: token in got, 30, "a frame")

    def js(self, code):
        out = []
        self.gv.run_js(code, lambda v: out.append(v))
        self.wait(lambda: out, 30, f"JavaScript {code[:40]}")
        return out[0]

    def probe(self):
        self.settle()
        return json.loads(self.js("edgewizard.probe()"))

    def mouse(self, name, button):
        from PySide6.QtCore import QPoint
        from PySide6.QtTest import QTest

        rect = json.loads(self.js(
            "(() => { const e = document.getElementById(%s) || document.getElementById(%s);"
            "e.scrollIntoView({block: 'center', inline: 'center'});"
            "const r = e.querySelector('.node-item').getBoundingClientRect();"
            "return JSON.stringify([r.x + r.width / 2, r.y + r.height / 2]); })()"
            % (json.dumps("node-name-" + name), json.dumps("input-name-" + name))))
        target = self.gv.web.focusProxy()
        QTest.mouseClick(target, button, pos=QPoint(round(rect[0]), round(rect[1])))


def _drive(folder: Path, shots: Optional[Path] = None) -> dict:
    from dataclasses import replace

    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from edgewizard.core.manifest import Artifact, FileEntry, Manifest
    from edgewizard.gui.netron_scheme import prepare_web_engine

    report: dict = {}
    reason = prepare_web_engine()
    if reason:
        raise RuntimeError(reason)
    app = QApplication([])
    from edgewizard.gui.netron_page import shared_profile
    from edgewizard.gui.main_window import MainWindow
    from edgewizard.gui.settings import Settings

    w = MainWindow(settings=Settings(QSettings(str(folder / "settings.ini"), QSettings.IniFormat)), welcome=False)
    w.resize(1180, 820)
    w.show()
    d = _Driver(app, w)
    try:
        import time

        w.open_model(str(folder / MODEL_NAME))
        d.wait(lambda: w.state.model is not None, 180, "the model to load")
        t0 = time.monotonic()
        w.go(1)
        d.wait(lambda: "drawn" in d.gv.timings and d.gv.names, 60, "the graph")
        report["drawn_s"] = time.monotonic() - t0
        report["graph_names"] = d.gv.names
        report["table_names"] = [n.name for n in w.state.model.graph.nodes]
        report["blocked_before_probe"] = list(shared_profile()[2].blocked)
        sel = lambda: [list(w.state.selection.inputs), list(w.state.selection.outputs)]  # noqa: E731
        # A real mouse click on a node in the graph selects it in the table; the button marks it.
        d.mouse("Mconv7_stage2_L1", Qt.LeftButton)
        d.wait(lambda: d.nodes.selected_nodes() == ["Mconv7_stage2_L1"], 30, "the table to follow the click")
        report["after_click"] = {"table": d.nodes.selected_nodes(), "graph": d.probe()["selected"]}
        d.nodes.as_output.click()
        report["after_output_button"] = sel()
        # Keyboard from the graph: click the other output, Ctrl+U with the focus still in the web view.
        # (Shortcuts need an active window; without a window manager it must be asked for.)
        w.windowHandle().requestActivate()
        d.wait(lambda: app.activeWindow() is w, 10, "the window to become active")
        d.mouse("Mconv7_stage2_L2", Qt.LeftButton)
        d.wait(lambda: d.nodes.selected_nodes() == ["Mconv7_stage2_L2"], 30, "the second click")
        report["focus_in_graph"] = app.focusWidget() is d.gv.web.focusProxy()
        QTest.keyClick(d.gv.web.focusProxy(), Qt.Key_U, Qt.ControlModifier)
        report["after_ctrl_u"] = sel()
        # Right-click on the graph input: our context menu; choose "Use as cut input".
        d.mouse(CUT_IN, Qt.RightButton)
        d.wait(lambda: getattr(d.gv, "context_menu", None) is not None, 30, "the context menu")
        menu = d.gv.context_menu
        report["context_menu"] = [a.text() for a in menu.actions() if a.text()]
        menu.actions()[0].trigger()
        menu.close()
        report["after_context_menu"] = sel()
        report["highlighted"] = d.probe()
        if shots:  # screenshots of this state
            _shots(d, shots)
        d.nodes.select_node("conv1_1")
        report["table_to_graph"] = d.probe()["selected"]
        d.gv.find("weight_stage2_L2")
        report["found"] = d.probe()["selected"]
        d.gv.colour({"conv1_1": "accelerator", "conv1_1_relu": "accelerator", "concat_stage2": "cpu",
                     "Mconv7_stage2_L1": "unsupported"})
        d.gv.mark_partition("concat_stage2")
        report["coloured"] = d.probe()
        d.gv.colour({})
        d.gv.mark_partition(None)
        report["uncoloured"] = d.probe()
        w.state.set_selection(Selection())  # "Whole model": the highlights go
        report["cleared"] = d.probe()
        # A conversion made files: they appear in the view's source list and open in the same view.
        conv = folder / "converted"
        w.state.set_request(replace(w.state.request, output_dir=str(conv)))
        w.state.set_manifest(Manifest(artifacts=(
            Artifact("tflite-float", files=(FileEntry("tiny.tflite", 1),)),
            Artifact("openvino-fp32", files=(FileEntry("tiny.xml", 1), FileEntry("tiny.bin", 1))))))
        report["sources"] = [d.gv.source.itemText(i) for i in range(d.gv.source.count())]
        for index, key in ((1, "tflite_nodes"), (2, "ir_nodes")):
            d.gv.source.setCurrentIndex(index)
            d.gv.source.activated.emit(index)
            d.wait(lambda: "drawn" in d.gv.timings, 60, f"converted model {index}")
            d.settle()
            report[key] = len(d.gv.names)
        report["served"] = list(shared_profile()[1].served)
        # A file Netron cannot read: the view says so in one sentence (and the table stays usable).
        failures = []
        d.gv.failed.connect(failures.append)
        (folder / "broken.tflite").write_bytes(b"TFL3" + bytes(64))
        d.gv.show_model(str(folder / "broken.tflite"))
        d.wait(lambda: failures, 60, "the broken model to be refused")
        report["broken"] = [failures[0], d.gv.message.isVisible(), d.gv.web.isVisible()]
        d.gv.show_model(str(conv / "tiny.xml"))
        d.wait(lambda: "drawn" in d.gv.timings, 60, "a model after the broken one")
        report["after_broken"] = len(d.gv.names)
        # Requests that would leave the machine, from inside the page: the guard must refuse them all.
        d.js("fetch('https://example.com/telemetry').catch(() => 0); new Image().src = 'http://192.0.2.1/pixel.png'; 1")
        d.js("setTimeout(() => { window.location.href = 'https://example.org/'; }, 0); 1")
        try:
            d.wait(lambda: len(shared_profile()[2].blocked) >= 3, 30, "the guard to refuse three requests")
        except TimeoutError:
            raise TimeoutError(f"the guard refused only {shared_profile()[2].blocked}; console: {d.gv.page.console[-10:]}") from None
        d.settle("after-probe")
        report["blocked_after_probe"] = list(shared_profile()[2].blocked)
        report["processes"], report["sockets"] = _sockets(os.getpid())
    finally:
        w.close()
    return report


def _shots(d: _Driver, out: Path) -> None:
    import time

    def grab(name):
        d.settle()
        t = time.monotonic()
        d.wait(lambda: time.monotonic() > t + 0.5)  # the frame reaches Qt a little after the page drew it
        d.w.grab().save(str(out / name))

    out.mkdir(parents=True, exist_ok=True)
    d.nodes.table.clearSelection()
    d.gv.fit()
    grab("nodes-openpose-cut.png")
    d.gv.find(CUT_OUT[1])  # at zoom 1: the outputs and what the cut drops beside them
    grab("nodes-openpose-cut-outputs.png")
    d.gv.fit()
    # Device colours as the validation step will set them (a demo mapping, not a real validation).
    graph = d.w.state.model.graph
    demo = {n.name: ("accelerator" if n.op in ("Conv2D", "ReLU", "MaxPooling2D") else "cpu") for n in graph.nodes}
    demo["concat_stage2"] = "unsupported"
    d.gv.colour(demo)
    d.gv.mark_partition("concat_stage2")
    grab("nodes-openpose-colours-demo.png")
    d.gv.colour({})
    d.gv.mark_partition(None)
    for p in sorted(out.glob("nodes-openpose-*.png")):
        print(p, flush=True)


def _child_main(argv: list[str]) -> int:
    folder, out = Path(argv[2]), Path(argv[3])
    try:
        report = _drive(folder, Path(argv[4]) if len(argv) > 4 else None)
    except Exception:  # noqa: BLE001 - reported to the test, which shows it
        report = {"error": traceback.format_exc()}
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["drive"]:
        sys.exit(_child_main(sys.argv))
    if sys.argv[1:2] == ["models"]:
        _write_models(Path(sys.argv[2]))
    if sys.argv[1:2] == ["shots"]:
        # python -m tests.gui.test_graph_view shots OUT_DIR  (under a display, e.g. xvfb-run -a)
        import tempfile

        work = Path(tempfile.mkdtemp(prefix="ew-graph-"))
        # TensorFlow makes the models in another process: it and WebEngine in one process crash.
        subprocess.run([sys.executable, "-m", "tests.gui.test_graph_view", "models", str(work)], check=True, cwd=REPO)
        _child_main([sys.argv[0], "drive", str(work), str(work / "report.json"), sys.argv[2]])
        report = json.loads((work / "report.json").read_text())
        print(report.get("error") or "report: " + str(work / "report.json"))
