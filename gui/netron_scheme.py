"""Serves Netron's web UI and the model file to the graph view through the `edgewizard:` URL scheme
(no socket at all), and refuses every request that would leave it, keeping a log a test can read."""
from __future__ import annotations

import mimetypes
import os
import secrets
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

SCHEME = "edgewizard"
HOST = "netron"
ORIGIN = f"{SCHEME}://{HOST}"
PAGE_URL = f"{ORIGIN}/index.html"
NETRON_VERSION = "9.3.3"  # the bridge uses private Netron API: tests/gui/test_graph_view.py pins it

# Our files, served beside Netron's: the host replacing Netron's browser host, and the bridge.
OUR_FILES = {"edgewizard-host.js": "host.js", "edgewizard-bridge.js": "bridge.js"}
# The one change made to Netron's index.html: our offline host module instead of Netron's index.js
# (which starts Netron's browser host: consent screen, telemetry, update nag).
INDEX_SCRIPT = b'<script type="text/javascript" src="index.js"></script>'
HOST_SCRIPT = b'<script type="module" src="edgewizard-host.js"></script>'
# Local-only URL schemes a page may use without anything leaving the process tree.
LOCAL_SCHEMES = frozenset({SCHEME, "data", "blob", "about"})
_MIME = {".js": b"text/javascript", ".json": b"application/json", ".css": b"text/css", ".html": b"text/html",
         ".png": b"image/png", ".ico": b"image/x-icon", ".svg": b"image/svg+xml"}

_state = {"registered": False, "reason": None}


def prepare_web_engine() -> Optional[str]:
    """Register the `edgewizard:` scheme and share OpenGL contexts, as Qt WebEngine requires, BEFORE the
    QApplication is created. Returns None, or why the graph view will not be available."""
    if _state["registered"] or _state["reason"]:
        return _state["reason"]
    try:
        from PySide6.QtCore import QCoreApplication, Qt
        from PySide6.QtWebEngineCore import QWebEngineUrlScheme
    except ImportError as exc:
        _state["reason"] = f"Qt WebEngine is not installed ({exc})."
        return _state["reason"]
    if QCoreApplication.instance() is not None:
        _state["reason"] = "The graph view was set up after the application started (a bug: call prepare_web_engine() first)."
        return _state["reason"]
    QCoreApplication.setAttribute(Qt.AA_ShareOpenGLContexts)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Chromium cannot sandbox its renderer as root (containers, `make run` here) and would refuse to start.
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    scheme = QWebEngineUrlScheme(SCHEME.encode())
    scheme.setSyntax(QWebEngineUrlScheme.Syntax.Host)
    # Secure + CORS: module scripts, the layout Web Worker and XHR need a real origin. Not "Local":
    # Chromium would then drop the page's requests elsewhere before the guard sees (and logs) them.
    scheme.setFlags(QWebEngineUrlScheme.Flag.SecureScheme | QWebEngineUrlScheme.Flag.CorsEnabled
                    | QWebEngineUrlScheme.Flag.FetchApiAllowed)
    QWebEngineUrlScheme.registerScheme(scheme)
    _state["registered"] = True
    return None


def unavailable_reason() -> Optional[str]:
    """None when the graph view can start in this process, else one sentence why not."""
    if _state["reason"]:
        return _state["reason"]
    if not _state["registered"]:
        return "The graph view was not set up before the application started (prepare_web_engine() was not called)."
    if not netron_dir().is_dir():
        return "Netron is not installed (pip package 'netron'); the node table still works."
    return None


def netron_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("netron")
    return Path(spec.origin).parent if spec and spec.origin else Path("/nonexistent-netron")


def resources_dir() -> Path:
    """resources/netron/: our host and bridge scripts."""
    from edgewizard.resources import path

    return path("netron")


def netron_version() -> str:
    import netron

    return netron.__version__


@dataclass(frozen=True)
class ModelFile:
    """What Netron opens for a model path: the file itself, saved_model.pb of a SavedModel folder."""

    path: Path  # the file Netron reads first
    root: Path  # files Netron may fetch beside it (weights, .bin of an IR) must lie under this folder


def model_file(path: str) -> ModelFile:
    """The file Netron should open for `path` (what the Model step opened, or a converted file)."""
    from edgewizard.core.errors import UserError

    p = Path(path)
    if p.is_dir():
        for name in ("saved_model.pb", "saved_model.pbtxt"):
            if (p / name).is_file():
                return ModelFile(p / name, p)
        raise UserError(f"{p} is a folder without saved_model.pb; the graph view shows files and SavedModel folders.")
    if not p.is_file():
        raise UserError(f"{p} does not exist.")
    if p.suffix == ".meta":
        # A TF1 checkpoint's graph: Netron reads the MetaGraphDef itself.
        return ModelFile(p, p.parent)
    return ModelFile(p, p.parent)


def _scheme_handler_class():
    from PySide6.QtCore import QBuffer, QByteArray, QFile, QIODevice, QUrl
    from PySide6.QtWebEngineCore import QWebEngineUrlRequestJob, QWebEngineUrlSchemeHandler

    class NetronSchemeHandler(QWebEngineUrlSchemeHandler):
        """Answers edgewizard://netron/<file>: Netron's static files, our host and bridge scripts,
        and edgewizard://netron/model/<token>/<file> for the model shown (and files beside it)."""

        def __init__(self, parent=None) -> None:
            super().__init__(parent)
            self.netron = netron_dir()
            self.ours = resources_dir()
            self.models: dict[str, ModelFile] = {}
            self.served: deque[str] = deque(maxlen=1000)  # paths answered lately, for tests

        def add_model(self, model: ModelFile) -> str:
            """Make `model` reachable; returns its URL. Only the latest few stay reachable."""
            token = secrets.token_hex(8)
            self.models[token] = model
            while len(self.models) > 4:
                self.models.pop(next(iter(self.models)))
            name = QUrl.toPercentEncoding(model.path.name).data().decode()
            return f"{ORIGIN}/model/{token}/{name}"

        def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:  # noqa: N802 - Qt's name
            url = job.requestUrl()
            path = url.path(QUrl.ComponentFormattingOption.FullyDecoded).lstrip("/")
            if url.host() != HOST or job.requestMethod() != b"GET":
                job.fail(QWebEngineUrlRequestJob.Error.RequestDenied)
                return
            self.served.append(path)
            if path == "index.html":
                data = (self.netron / "index.html").read_bytes()
                if INDEX_SCRIPT not in data:  # Netron changed: say so instead of starting its browser host
                    job.fail(QWebEngineUrlRequestJob.Error.RequestFailed)
                    return
                self._reply_bytes(job, b"text/html", data.replace(INDEX_SCRIPT, HOST_SCRIPT))
                return
            if path.startswith("model/"):
                file = self._model_path(path)
            elif path in OUR_FILES:
                file = self.ours / OUR_FILES[path]
            else:
                file = self.netron / path if "/" not in path and not path.startswith(".") else None
            if file is None or not file.is_file():
                job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
                return
            device = QFile(str(file), job)  # read by WebEngine as it goes: no copy of a large model here
            if not device.open(QIODevice.OpenModeFlag.ReadOnly):
                job.fail(QWebEngineUrlRequestJob.Error.RequestFailed)
                return
            mime = _MIME.get(file.suffix.lower()) or (mimetypes.guess_type(file.name)[0] or "application/octet-stream").encode()
            job.reply(mime, device)

        def _model_path(self, path: str) -> Optional[Path]:
            parts = path.split("/", 2)
            if len(parts) < 3 or parts[1] not in self.models:
                return None
            model = self.models[parts[1]]
            root = model.root.resolve()
            file = (root / parts[2]).resolve()
            return file if file == root or root in file.parents else None

        @staticmethod
        def _reply_bytes(job, mime: bytes, data: bytes) -> None:
            buf = QBuffer(job)
            buf.setData(QByteArray(data))
            buf.open(QIODevice.OpenModeFlag.ReadOnly)
            job.reply(mime, buf)

    return NetronSchemeHandler


def _guard_class():
    from PySide6.QtWebEngineCore import QWebEngineUrlRequestInterceptor

    class RequestGuard(QWebEngineUrlRequestInterceptor):
        """Blocks every request of the graph view that is not to our scheme (or a local data:/blob:
        URL) and records it: nothing leaves the machine, and a test can prove nothing tried."""

        def __init__(self, parent=None) -> None:
            super().__init__(parent)
            self.blocked: list[str] = []
            self.allowed = 0

        def interceptRequest(self, info) -> None:  # noqa: N802 - Qt's name; runs on WebEngine's IO thread
            url = info.requestUrl()
            if url.scheme() in LOCAL_SCHEMES and (url.scheme() != SCHEME or url.host() == HOST):
                self.allowed += 1
                return
            info.block(True)
            self.blocked.append(url.toString())

    return RequestGuard


def make_profile(parent=None):
    """An off-the-record WebEngine profile (nothing written to disk) serving our scheme, with the guard.
    Returns (profile, handler, guard)."""
    from PySide6.QtWebEngineCore import QWebEngineProfile

    profile = QWebEngineProfile(parent)  # no storage name: off the record
    profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
    profile.setPersistentCookiesPolicy(QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies)
    profile.setSpellCheckEnabled(False)
    handler = _scheme_handler_class()(profile)
    guard = _guard_class()(profile)
    profile.installUrlSchemeHandler(SCHEME.encode(), handler)
    profile.setUrlRequestInterceptor(guard)
    return profile, handler, guard
