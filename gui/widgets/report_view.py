"""Shows the HTML report inside the app (a WebEngine view that may read only the report's own file),
with "Save as PDF…"; where WebEngine cannot start, the report opens in the default browser."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout


def show_report(parent, path: Path) -> QDialog | None:
    """The in-app viewer when Qt WebEngine is set up in this process, else the browser (returns None)."""
    from ..netron_scheme import unavailable_reason

    if unavailable_reason() is not None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        return None
    dialog = ReportDialog(parent, Path(path))
    dialog.show()
    return dialog


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
        browser.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))
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
