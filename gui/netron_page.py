"""The WebEngine side of the graph view: the page (kept on the edgewizard: scheme), the Qt object the
injected bridge (resources/netron/bridge.js) talks to over QWebChannel, and the one shared profile."""
from __future__ import annotations

import json
from collections import deque

from PySide6.QtCore import QObject, Signal, Slot

from edgewizard.core.errors import MissingDependency

from . import netron_scheme


class Bridge(QObject):
    """The Qt end of the QWebChannel: bridge.js calls these slots by name."""

    ready = Signal()
    clicked = Signal(str)
    menu = Signal(str, int, int)
    graphDrawn = Signal(list)
    opened = Signal(str, int)
    failed = Signal(str)
    pong = Signal(str)
    bridge_ms = 0  # the bridge's own share of the last drawing (indexing, highlights)

    @Slot()
    def pageReady(self) -> None:  # noqa: N802 - JavaScript-facing names
        self.ready.emit()

    @Slot(str)
    def nodeClicked(self, name: str) -> None:  # noqa: N802
        self.clicked.emit(name)

    @Slot(str, int, int)
    def contextMenu(self, name: str, x: int, y: int) -> None:  # noqa: N802
        self.menu.emit(name, x, y)

    @Slot(str)
    def drawnGraph(self, payload: str) -> None:  # noqa: N802
        data = json.loads(payload)
        self.bridge_ms = data.get("ms", 0)
        self.graphDrawn.emit(data.get("names", []))

    @Slot(str, int)
    def modelOpened(self, error: str, ms: int) -> None:  # noqa: N802
        self.opened.emit(error, ms)

    @Slot(str)
    def reportFailure(self, message: str) -> None:  # noqa: N802
        self.failed.emit(message)

    @Slot(str)
    def framePainted(self, token: str) -> None:  # noqa: N802
        self.pong.emit(token)


_profile = {}  # one off-the-record profile, scheme handler and guard per process


def shared_profile():
    """(profile, handler, guard), made once: the guard's log covers every graph view of the process."""
    if not _profile:
        from PySide6.QtCore import QCoreApplication

        profile, handler, guard = netron_scheme.make_profile(QCoreApplication.instance())
        _profile.update(profile=profile, handler=handler, guard=guard)
    return _profile["profile"], _profile["handler"], _profile["guard"]


def make_page(profile, parent=None):
    """The graph view's page: stays on our scheme, no pop-ups, keeps console messages. (Its class is
    made on first use: importing WebEngine is left until a graph is shown.)"""
    if "page" not in _classes:
        _classes["page"] = _page_class()
    return _classes["page"](profile, parent)


_classes: dict = {}


def _page_class():
    from PySide6.QtWebEngineCore import QWebEnginePage

    class _NetronPage(QWebEnginePage):
        """Stays on our scheme: any navigation elsewhere (a link in Netron) is refused and logged."""

        def __init__(self, profile, parent=None) -> None:
            super().__init__(profile, parent)
            self.console: deque[str] = deque(maxlen=200)  # the page's console, for tests and bug reports

        def acceptNavigationRequest(self, url, nav_type, is_main_frame) -> bool:  # noqa: N802 - Qt's name
            if url.scheme() == netron_scheme.SCHEME and url.host() == netron_scheme.HOST:
                return True
            shared_profile()[2].blocked.append(url.toString())
            return False

        def createWindow(self, kind):  # noqa: N802 - Qt's name: no pop-ups
            return None

        def javaScriptConsoleMessage(self, level, message, line, source) -> None:  # noqa: N802
            self.console.append(f"{source}:{line}: {message}")

    return _NetronPage


def bridge_script():
    from PySide6.QtCore import QFile, QIODevice
    from PySide6.QtWebEngineCore import QWebEngineScript

    channel_js = QFile(":/qtwebchannel/qwebchannel.js")
    if not channel_js.open(QIODevice.OpenModeFlag.ReadOnly):
        raise MissingDependency("Qt's qwebchannel.js is missing (PySide6's QtWebChannel); the graph view cannot "
                                "talk to the wizard.")
    source = bytes(channel_js.readAll().data()).decode("utf-8")
    source += "\n" + (netron_scheme.resources_dir() / "bridge.js").read_text(encoding="utf-8")
    script = QWebEngineScript()
    script.setName("edgewizard-bridge")
    script.setSourceCode(source)
    script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentReady)
    script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)  # it needs Netron's window.__view__
    script.setRunsOnSubFrames(False)
    return script
