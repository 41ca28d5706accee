"""Tables and lists that take the height their rows need, so a laptop screen (1366×768) keeps room for
what matters: compact rows whose words never wrap (the full text is in the tooltip), a height fitted to
a few rows, and a short list of names that is one line of words while it is empty."""
from __future__ import annotations

from typing import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QListWidget, QPushButton, QSizePolicy,
                               QTableView, QWidget)


def compact_rows(view: QAbstractItemView) -> None:
    """Rows one line of text high (the style's default is taller), cells on one line: a cell that wraps
    ("edgetpu, tflite-⏎int8") doubles its row and still hides half its words."""
    height = view.fontMetrics().height() + 8
    if isinstance(view, QTableView):
        view.verticalHeader().setMinimumSectionSize(height)
        view.verticalHeader().setDefaultSectionSize(height)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.ElideMiddle)


def fit_rows(view: QAbstractItemView, most: int, least: int = 1) -> None:
    """Fix the view's height to show its rows: at least `least`, at most `most` (more rows scroll)."""
    rows = max(least, min(view.model().rowCount(), most))
    if isinstance(view, QTableView):
        row = view.verticalHeader().defaultSectionSize()
        header = view.horizontalHeader().sizeHint().height() if not view.horizontalHeader().isHidden() else 0
    else:
        row = view.sizeHintForRow(0) if view.model().rowCount() else view.fontMetrics().height() + 6
        header = 0
    scroll = view.horizontalScrollBar().sizeHint().height() if view.horizontalScrollBar().isVisible() else 0
    view.setFixedHeight(header + rows * row + 2 * view.frameWidth() + scroll)
    # A scroll area's policy is Expanding: left so, its box would share the page's spare height with the
    # stretch meant to take it, and show a gap inside.
    view.setSizePolicy(view.sizePolicy().horizontalPolicy(), QSizePolicy.Fixed)


class NameList(QWidget):
    """A few names (the cut inputs, the cut outputs): while empty, one line saying what empty means; with
    names, a list as tall as they need (up to `most` rows) and a Remove button (Delete works too)."""

    removeRequested = Signal(set)  # the names selected (or the current one) when Remove was asked for

    def __init__(self, title: str, empty: str, parent: QWidget | None = None, most: int = 4) -> None:
        super().__init__(parent)
        self.most = most
        self.list = QListWidget(self)
        self.list.setAccessibleName(title)
        self.list.setToolTip(f"Empty means {empty}. Delete removes the selected entry.")
        compact_rows(self.list)
        self.empty = QLabel(f"<i>none: {empty}</i>", self)
        self.empty.setStyleSheet("color:#555;")
        self.remove = QPushButton("Remove", self)
        self.remove.setAccessibleName(f"Remove from {title.lower()}")
        self.remove.clicked.connect(self._remove)
        self.list.addAction(QAction("Remove", self.list, shortcut=QKeySequence.Delete, triggered=self._remove))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.empty, 1)
        row.addWidget(self.list, 1)
        row.addWidget(self.remove, 0, Qt.AlignTop)
        self.set_names(())

    def set_names(self, names: Iterable[str]) -> None:
        self.list.clear()
        self.list.addItems(list(names))
        filled = self.list.count() > 0
        self.empty.setVisible(not filled)
        self.list.setVisible(filled)
        self.remove.setVisible(filled)
        fit_rows(self.list, self.most)

    def _remove(self) -> None:
        gone = {i.text() for i in self.list.selectedItems()}
        if not gone and self.list.currentItem() is not None:
            gone = {self.list.currentItem().text()}
        if gone:
            self.removeRequested.emit(gone)
