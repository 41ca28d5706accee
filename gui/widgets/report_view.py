"""Shows the HTML report inside the app (a WebEngine view that may read only the report's own file),
with "Save as PDF…"; where WebEngine cannot start, the report opens in the desktop's browser, and
where there is none, a sentence says so. ReportSavedBar is the line a page shows after saving one:
where it went, and buttons to open it or its folder."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QDialog, QFileDialog, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from .desktop import not_opened, open_with_desktop

_STYLE = {"info": "background:#e8f4fd; border:1px solid #9cc9ef; color:#0d3c61;",
          "warning": "background:#fff4e5; border:1px solid #e8c28c; color:#663c00;"}


def open_report(parent, path: Path) -> tuple[Optional[QDialog], Optional[str]]:
    """(the in-app viewer, None) when Qt WebEngine is set up in this process; else (None, None) when the
    desktop's browser took it, or (None, the sentence to show) when nothing could open it."""
    from ..netron_scheme import unavailable_reason

    path = Path(path)
    if not path.is_file():
        return None, not_opened(path)
    if unavailable_reason() is not None:
        return None, None if open_with_desktop(path) else not_opened(path)
    dialog = ReportDialog(parent, path)
    dialog.show()
    return dialog, None


def show_report(parent, path: Path) -> QDialog | None:
    """The in-app viewer when Qt WebEngine is set up in this process, else the browser (returns None)."""
    return open_report(parent, path)[0]


class ReportSavedBar(QFrame):
    """"Report saved: <path>" with Open and Show in folder; says so in place when nothing could open it."""

    def __init__(self, parent) -> None:
        super().__init__(parent)
        self.setObjectName("reportSavedBar")
        self.path: Optional[Path] = None
        self.dialog: Optional[QDialog] = None
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)  # the path, to copy
        self.open_button = QPushButton("&Open report", self)
        self.folder_button = QPushButton("Show in &folder", self)
        close = QPushButton("✕", self)
        close.setFlat(True)
        close.setToolTip("Dismiss")
        close.setAccessibleName("Dismiss message")
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 4, 6, 4)
        row.addWidget(self.label, 1)
        for b in (self.open_button, self.folder_button, close):
            row.addWidget(b)
        self.open_button.clicked.connect(self.open_report)
        self.folder_button.clicked.connect(self.open_folder)
        close.clicked.connect(self.clear)
        self.hide()

    @property
    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()

    def _say(self, text: str, kind: str = "info") -> None:
        self.setStyleSheet(f"#reportSavedBar {{{_STYLE[kind]} border-radius:4px;}} QLabel {{border:none;}}")
        self.label.setText(text)
        self.show()

    def saved(self, path: Path) -> None:
        self.path = Path(path)
        self._say(f"Report saved: {self.path}")

    def open_report(self) -> None:
        self.dialog, problem = open_report(self.window(), self.path)
        if problem:
            self._say(problem, "warning")

    def open_folder(self) -> None:
        folder = self.path.parent
        if not open_with_desktop(folder):
            self._say(not_opened(folder), "warning")

    def clear(self) -> None:
        self.path = None
        self.label.clear()
        self.hide()


class ReportDialog(QDialog):
    def __init__(self, parent, path: Path) -> None:
        from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile, QWebEngineUrlRequestInterceptor
        from PySide6.QtWebEngineWidgets import QWebEngineView

        super().__init__(parent)
        self.setWindowTitle(f"Report — {path.name}")
        self.path = path

        class FileOnly(QWebEngineUrlRequestInterceptor):
            """The report is self-contained: anything but its own file (and data: URIs) is blocked
            and recorded."""

            blocked: list[str] = []

            def interceptRequest(self, info) -> None:  # noqa: N802 - Qt's name; WebEngine's IO thread
                url = info.requestUrl()
                if not (url.scheme() == "data" or (url.isLocalFile() and Path(url.toLocalFile()) == path)):
                    info.block(True)
                    self.blocked.append(url.toString())

        # The view (and its page) before the profile: Qt destroys children in creation order, and a
        # profile must outlive its pages.
        self.view = QWebEngineView(self)
        self.profile = QWebEngineProfile(self)  # off the record: nothing stored
        self.guard = FileOnly(self.profile)
        self.guard.blocked = []
        self.profile.setUrlRequestInterceptor(self.guard)
        self.view.setPage(QWebEnginePage(self.profile, self.view))
        from PySide6.QtWebEngineCore import QWebEngineSettings

        # A file page may not reach the network at all (WebEngine refuses before any request).
        self.view.settings().setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls, False)
        self.view.load(QUrl.fromLocalFile(str(path)))
        pdf = QPushButton("Save as &PDF…", self)
        browser = QPushButton("Open in &browser", self)
        close = QPushButton("Close", self)
        pdf.clicked.connect(self.save_pdf)
        browser.clicked.connect(lambda: open_with_desktop(path) or self.status.setText(not_opened(path)))
        close.clicked.connect(self.close)
        self.status = QLabel(str(path), self)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        for b in (pdf, browser, close):
            row.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addWidget(self.view, 1)
        lay.addLayout(row)
        self.resize(1000, 800)

    def save_pdf(self) -> None:
        target, _ = QFileDialog.getSaveFileName(self, "Save report as PDF", str(self.path.with_suffix(".pdf")), "PDF (*.pdf)")
        if target:
            self.view.page().pdfPrintingFinished.connect(
                lambda file, ok: self.status.setText(f"Saved {file}" if ok else f"Could not save {file}"))
            self.view.page().printToPdf(target)
