"""Shows an error on the page where it happened: one sentence, with the full log one click away."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFrame, QHBoxLayout, QLabel, QPlainTextEdit,
                               QPushButton, QVBoxLayout, QWidget)

from edgewizard.core.errors import EdgeWizardError

_STYLE = {
    "error": "background:#fdecea; border:1px solid #e0a8a1; color:#611a15;",
    "warning": "background:#fff4e5; border:1px solid #e8c28c; color:#663c00;",
    "info": "background:#e8f4fd; border:1px solid #9cc9ef; color:#0d3c61;",
}


class MessageBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self._details = ""
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.details_button = QPushButton("&Details…", self)
        self.details_button.clicked.connect(self.show_details)
        close = QPushButton("✕", self)
        close.setFlat(True)
        close.setToolTip("Dismiss")
        close.setAccessibleName("Dismiss message")
        close.clicked.connect(self.hide)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 6, 6)
        row.addWidget(self.label, 1)
        row.addWidget(self.details_button)
        row.addWidget(close)
        self.hide()

    @property
    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()

    def show_message(self, text: str, kind: str = "error", details: str = "") -> None:
        self.setStyleSheet(f"#messageBanner {{{_STYLE[kind]} border-radius:4px;}} QLabel {{border:none;}}")
        self.label.setText(text)
        self._details = details
        self.details_button.setVisible(bool(details))
        self.show()

    def show_error(self, error: EdgeWizardError | BaseException) -> None:
        if isinstance(error, EdgeWizardError):
            self.show_message(error.message, "error", error.details)
        else:
            self.show_message(f"{type(error).__name__}: {error}", "error")

    def clear(self) -> None:
        self._details = ""
        self.label.clear()
        self.hide()

    def show_details(self) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle("Details")
        text = QPlainTextEdit(self._details, dialog)
        text.setReadOnly(True)
        text.setLineWrapMode(QPlainTextEdit.NoWrap)
        buttons = QDialogButtonBox(QDialogButtonBox.Close, dialog)
        buttons.rejected.connect(dialog.reject)
        lay = QVBoxLayout(dialog)
        lay.addWidget(text)
        lay.addWidget(buttons)
        dialog.resize(800, 500)
        dialog.open()
        self._dialog = dialog  # keep a reference for tests and while open
