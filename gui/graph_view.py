"""The Nodes step's graph: Netron inside a QWebEngineView, served by the edgewizard: scheme and driven
through the injected bridge (resources/netron/bridge.js). Says why when Qt WebEngine cannot start."""
from __future__ import annotations

import json
import time
from typing import Optional

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QCompleter, QHBoxLayout, QLabel, QLineEdit, QMenu, QStackedLayout,
                               QToolButton, QVBoxLayout, QWidget)

from edgewizard.core.cut import CutNodes
from edgewizard.core.errors import EdgeWizardError

from .netron_page import Bridge, bridge_script, make_page, shared_profile
from .netron_scheme import PAGE_URL, model_file, unavailable_reason

CATEGORIES = ("accelerator", "cpu", "unsupported")  # where a node runs on the chosen device


class GraphView(QWidget):
    """Netron showing one model file, with find, zoom and fit; selection, cut highlights and device
    colours are set from Python and re-applied after every redraw."""

    nodeClicked = Signal(str)
    markRequested = Signal(str, str)  # "input" / "output", node name
    drawn = Signal()  # the graph of the model asked for is on screen
    failed = Signal(str)  # one sentence: why the graph is not shown
    painted = Signal(str)  # the token of ping(), once the page drew a frame after it

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.web = None
        self.page = None
        self.names: list[str] = []  # nodes of the drawn graph, as Netron names them
        self.timings: dict[str, float] = {}
        self._ready = False
        self._dead = False
        self._pending: Optional[tuple[str, str]] = None
        self._shown: Optional[str] = None  # the path asked for last
        self._marks = CutNodes((), (), ())
        self._colours: dict[str, str] = {}
        self._partition: Optional[str] = None
        self._heat: Optional[dict] = None  # {"values", "title", "scale"} while the heat map is shown
        self._selected: list[str] = []
        self._converted: list[tuple[str, str]] = []

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        self.source = QComboBox(self)
        self.source.setAccessibleName("Model shown in the graph")
        self.source.setToolTip("Show the original model or a converted one")
        self.source.hide()
        self.find_box = QLineEdit(self)
        self.find_box.setPlaceholderText("Find in graph…")
        self.find_box.setAccessibleName("Find in graph")
        self.find_box.setClearButtonEnabled(True)
        self._completer = QCompleter([], self)
        self._completer.setCaseSensitivity(Qt.CaseInsensitive)
        self._completer.setFilterMode(Qt.MatchContains)
        self.find_box.setCompleter(self._completer)
        self.names_button = self._toggle("Names", "Show node names (off: op types)", "names", True)
        self.weights_button = self._toggle("Weights", "List each node's weights (slower for big models)", "weights", False)
        self.fit_button = self._tool("Fit", "Fit the graph to the view", self.fit)
        self.zoom_out_button = self._tool("−", "Zoom out", lambda: self._js("edgewizard.zoomOut()"))
        self.zoom_in_button = self._tool("+", "Zoom in", lambda: self._js("edgewizard.zoomIn()"))
        bar.addWidget(self.source, 1)
        bar.addWidget(self.find_box, 1)
        for b in (self.names_button, self.weights_button, self.fit_button, self.zoom_out_button, self.zoom_in_button):
            bar.addWidget(b)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignCenter)
        self.message.setStyleSheet("color:#555; padding:20px;")
        self._stack = QStackedLayout()
        self._stack.addWidget(self.message)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(bar)
        outer.addLayout(self._stack, 1)
        self.find_box.returnPressed.connect(lambda: self.find(self.find_box.text().strip()))
        self._completer.activated.connect(self.find)
        self.source.activated.connect(self._source_chosen)
        self._set_message(unavailable_reason() or "The graph appears here once a model is open.")
        self._enable_tools(False)

    def _tool(self, text: str, tip: str, slot) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        b.setToolTip(tip)
        b.setAccessibleName(tip)
        b.clicked.connect(slot)
        return b

    def _toggle(self, text: str, tip: str, option: str, on: bool) -> QToolButton:
        b = self._tool(text, tip, lambda: self._js(f"edgewizard.option({json.dumps(option)}, {json.dumps(b.isChecked())})"))
        b.setCheckable(True)
        b.setChecked(on)  # must match the defaults in resources/netron/host.js
        return b

    # -- state
    @property
    def available(self) -> bool:
        return unavailable_reason() is None

    @property
    def guard(self):
        return shared_profile()[2] if self.available else None

    def _set_message(self, text: str) -> None:
        self.message.setText(text)
        self._stack.setCurrentWidget(self.message)

    def _enable_tools(self, on: bool) -> None:
        for w in (self.find_box, self.names_button, self.weights_button, self.fit_button, self.zoom_in_button,
                  self.zoom_out_button):
            w.setEnabled(on)

    def _ensure_web(self) -> None:
        if self.web is not None:
            return
        from PySide6.QtCore import QUrl
        from PySide6.QtWebChannel import QWebChannel
        from PySide6.QtWebEngineWidgets import QWebEngineView

        profile, _, _ = shared_profile()
        self.web = QWebEngineView(self)
        self.web.setAccessibleName("Graph of the model")
        self.web.setContextMenuPolicy(Qt.NoContextMenu)  # the bridge asks for our own menu
        self.page = make_page(profile, self.web)
        self.bridge = Bridge(self)
        self.channel = QWebChannel(self.page)
        self.channel.registerObject("edgewizard", self.bridge)
        self.page.setWebChannel(self.channel)
        self.page.scripts().insert(bridge_script())
        self.page.renderProcessTerminated.connect(self._renderer_died)
        self.bridge.ready.connect(self._on_ready)
        self.bridge.clicked.connect(self._on_clicked)
        self.bridge.menu.connect(self._context_menu)
        self.bridge.graphDrawn.connect(self._on_drawn)
        self.bridge.opened.connect(self._on_opened)
        self.bridge.pong.connect(self.painted)
        # Netron reports errors it recovers from too: said on the page, the graph stays.
        self.bridge.failed.connect(lambda m: self.failed.emit(f"Netron: {m}"))
        self.web.setPage(self.page)
        self._stack.addWidget(self.web)
        self.timings["page_start"] = time.monotonic()
        self.page.load(QUrl(PAGE_URL))

    # -- showing a model
    def show_model(self, path: str) -> None:
        """Show `path` (a model file or SavedModel folder). Loading happens in WebEngine's own
        processes; this returns at once and `drawn` or `failed` follows."""
        reason = unavailable_reason()
        if reason:
            self._set_message(reason)
            return
        try:
            model = model_file(path)
            self._ensure_web()
        except EdgeWizardError as exc:
            self._fail(exc.message)
            return
        if self._dead:
            from PySide6.QtCore import QUrl

            self._dead = False
            self.page.load(QUrl(PAGE_URL))
        self._shown = path
        self.names = []
        self.timings.pop("drawn", None)
        self._enable_tools(False)
        # Netron reads the file at once, even while another step is shown; it draws once this view
        # is visible (a hidden page gets no animation frames, and Netron measures the graph in one).
        self._stack.setCurrentWidget(self.web)
        self.timings["asked"] = time.monotonic()
        url = shared_profile()[1].add_model(model)
        self._pending = (url, model.path.name)
        if self._ready:
            self._send_open()

    def preload(self) -> None:
        """Start WebEngine and Netron's page now (while the model loads), so the graph comes sooner."""
        if unavailable_reason() is None:
            self._ensure_web()

    @property
    def shown(self) -> Optional[str]:
        return self._shown

    def set_sources(self, original: str, converted: list[tuple[str, str]]) -> None:
        """The models the person can switch between: the original, then converted files (label, path)."""
        self._converted = [("Original model", original)] + list(converted) if original else []
        self.source.clear()
        for label, path in self._converted:
            self.source.addItem(label, path)
        self.source.setVisible(len(self._converted) > 1)  # a choice only once something was converted

    def _source_chosen(self, index: int) -> None:
        path = self.source.itemData(index)
        if path and path != self._shown:
            self.show_model(path)

    def _send_open(self) -> None:
        url, name = self._pending
        self._pending = None
        self._js(f"edgewizard.open({json.dumps(url)}, {json.dumps(name)})")

    def _on_ready(self) -> None:
        self._ready = True
        self.timings["page_ready"] = time.monotonic()
        if self._pending:
            self._send_open()

    def _on_opened(self, error: str, ms: int) -> None:
        if error:
            self._fail(f"Netron could not show {self._shown}: {error}")
            return
        self.timings["drawn"] = time.monotonic()
        self.timings["netron_ms"] = ms / 1000.0
        self._stack.setCurrentWidget(self.web)
        self._enable_tools(True)
        self.drawn.emit()

    def _on_drawn(self, names: list) -> None:
        self.names = list(names)
        self._completer.model().setStringList(self.names)
        self._apply_all()

    def _fail(self, message: str) -> None:
        self._set_message(message + " The node table still works.")
        self.failed.emit(message)

    def _renderer_died(self, status, code) -> None:
        self._ready = False
        self._dead = True  # the next show_model() reloads the page in a new renderer
        self._fail(f"The graph view stopped (its renderer process ended, code {code}).")

    # -- driving the page
    def _js(self, code: str, callback=None) -> None:
        if self.page is None or not self._ready:
            return
        if callback is None:
            self.page.runJavaScript(code)
        else:
            self.page.runJavaScript(code, 0, callback)

    def _apply_all(self) -> None:
        m = self._marks
        marks = {"inputs": list(m.inputs), "outputs": list(m.outputs), "removed": list(m.removed),
                 "colours": self._colours, "partition": self._partition, "heat": self._heat}
        self._js(f"edgewizard.update({json.dumps(marks)})")

    def select(self, names: list[str]) -> None:
        """Select `names` in the graph (from the table) and bring them into view."""
        self._selected = list(names)
        self._js(f"edgewizard.select({json.dumps(self._selected)}, true)")

    def highlight(self, marks: CutNodes) -> None:
        self._marks = marks
        self._apply_all()

    def colour(self, categories: dict[str, str]) -> None:
        """Colour nodes by where they run: {node name: "accelerator" | "cpu" | "unsupported"}, with a legend."""
        bad = {c for c in categories.values() if c not in CATEGORIES}
        if bad:
            raise ValueError(f"unknown categories {sorted(bad)}; use {CATEGORIES}")
        self._colours = dict(categories)
        self._apply_all()

    def heat(self, values: dict[str, float], title: str, scale_text: str) -> None:
        """Colour nodes as a heat map, white (0) → yellow → red (1), with a legend: `title` names the metric,
        `scale_text` the scale's ends as "low|high" ("0|0.82"). Nodes without a value are drawn pale grey.
        While shown it replaces the device colours and the partition mark; clear_heat() brings them back."""
        clamped = {str(k): min(1.0, max(0.0, float(v))) for k, v in values.items()}
        self._heat = {"values": clamped, "title": title, "scale": scale_text}
        self._apply_all()

    def clear_heat(self) -> None:
        self._heat = None
        self._apply_all()

    @property
    def heat_shown(self) -> bool:
        return self._heat is not None

    def mark_partition(self, name: Optional[str]) -> None:
        """Mark the node where the accelerator stops (the Edge TPU's partition point); None clears it."""
        self._partition = name
        self._apply_all()

    def find(self, name: str) -> None:
        if name:
            self._js(f"edgewizard.find({json.dumps(name)})",
                     lambda found: None if found else self.failed.emit(f"No node named '{name}' in the graph."))

    def fit(self) -> None:
        self._js("edgewizard.fit()")

    def ping(self, token: str) -> None:
        """`painted(token)` follows once the page has drawn a frame (for tests and the benchmark)."""
        self._js(f"edgewizard.ping({json.dumps(token)})")

    def probe(self, callback) -> None:
        """What the page shows (for tests): callback gets a dict."""
        self._js("edgewizard.probe()", lambda text: callback(json.loads(text) if text else {}))

    def run_js(self, code: str, callback=None) -> None:
        """Run JavaScript in the page (tests simulate clicks through the bridge with it)."""
        self._js(code, callback)

    # -- from the page
    def _on_clicked(self, name: str) -> None:
        self._selected = [name]
        self.nodeClicked.emit(name)

    def _context_menu(self, name: str, x: int, y: int) -> None:
        menu = QMenu(self)
        if name:
            menu.addAction(f"Use “{name}” as cut input", lambda: self.markRequested.emit("input", name))
            menu.addAction(f"Use “{name}” as cut output", lambda: self.markRequested.emit("output", name))
            menu.addAction("Show its properties", lambda: self._js(f"edgewizard.properties({json.dumps(name)})"))
            menu.addSeparator()
        menu.addAction("Fit the graph", self.fit)
        menu.addAction("Zoom in", lambda: self._js("edgewizard.zoomIn()"))
        menu.addAction("Zoom out", lambda: self._js("edgewizard.zoomOut()"))
        menu.popup(self.web.mapToGlobal(QPoint(x, y)) if self.web else self.mapToGlobal(QPoint(x, y)))
        self.context_menu = menu  # kept for tests and so it is not collected while open
