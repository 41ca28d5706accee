"""The Nodes step's node table: every node of the model with its op and output shape, cut marks shown,
filtered by name and op type."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor

from edgewizard.core.graph import Graph, Node


class NodeTableModel(QAbstractTableModel):
    HEADERS = ("Name", "Op", "Output shape")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.nodes: list[Node] = []
        self.marks: dict[str, str] = {}  # node name -> "input" / "output"

    def set_graph(self, graph: Optional[Graph]) -> None:
        self.beginResetModel()
        self.nodes = list(graph.nodes) if graph else []
        self.marks = {}
        self.endResetModel()

    def set_marks(self, marks: dict[str, str]) -> None:
        self.marks = marks
        if self.nodes:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.nodes) - 1, 2))

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.nodes)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 3

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index, role=Qt.DisplayRole):
        node = self.nodes[index.row()]
        mark = self.marks.get(node.name)
        if role == Qt.DisplayRole:
            if index.column() == 0:
                return node.name + {"input": "   ← cut input", "output": "   → cut output"}.get(mark, "")
            if index.column() == 1:
                return node.op
            return node.outputs[0].shape_text() if node.outputs else ""
        if role == Qt.UserRole:
            return node.name
        if role == Qt.BackgroundRole and mark:
            return QBrush(QColor("#dbeafe") if mark == "input" else QColor("#dcfce7"))
        if role == Qt.ToolTipRole:
            outs = ", ".join(f"{t.name} {t.shape_text()} {t.dtype}" for t in node.outputs)
            return f"{node.name} ({node.op})\nwrites: {outs or '-'}"
        return None


class OpFilterProxy(QSortFilterProxyModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.op = ""
        self.setFilterCaseSensitivity(Qt.CaseInsensitive)
        self.setFilterKeyColumn(-1)

    def set_op(self, op: str) -> None:
        self.beginFilterChange()
        self.op = op
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row, parent) -> bool:
        if self.op:
            if self.sourceModel().nodes[row].op != self.op:
                return False
        return super().filterAcceptsRow(row, parent)
