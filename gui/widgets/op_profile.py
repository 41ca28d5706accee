"""The Benchmark step's "Time per op": which ops of a profiled run take the time (slowest first, or summed by
op type), what the runtime said about it in plain words, two profiled runs side by side per op, and a button
that hands the profile to the Nodes step's graph. It reads runs (gui/widgets/bench_runs.Run) whose
BenchResult carries a Profile (core/bench/profile.py); it starts no job itself."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QStyle,
                               QStyledItemDelegate, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from .latency_plots import in_unit, number, unit_for, with_unit
from .plain_words import plain

SHARE = Qt.UserRole + 1  # an item's share of the total, 0..1: its bar
BAR = QColor("#9ecae1")
NOT_PROFILED = ("{run} was not profiled. Tick “Profile each op” under What and where, then start a run, to see "
                "which ops take the time.")
NOTHING_YET = ("Tick “Profile each op” under What and where, then start a run: this shows which ops of the model "
               "take the time.")


def profile_of(run):
    """The run's Profile, or None (not asked for, or not finished yet)."""
    result = getattr(run, "result", None)
    return getattr(result, "profile", None) if result is not None else None


def layer_name(op) -> str:
    """The original model's layer(s) an op came from where known, else the converted model's op."""
    return ", ".join(op.source_nodes) if op.source_nodes else op.node


# Two runtimes' names for the same kind of op (LiteRT's CONV_2D is OpenVINO's Convolution), compared in one row.
_SAME_KIND = {"conv2d": "convolution", "depthwiseconv2d": "groupconvolution", "maxpool2d": "maxpool",
              "averagepool2d": "avgpool", "matmul": "fullyconnected", "add": "eltwise"}


def kind(op_type: str) -> str:
    key = "".join(ch for ch in op_type.lower() if ch.isalnum())
    return _SAME_KIND.get(key, key)


def _sum(ops) -> dict[str, tuple[float, list[str]]]:
    """(key, op) pairs -> key -> (ms, op types)."""
    out: dict[str, tuple[float, list[str]]] = {}
    for key, o in ops:
        ms, types = out.get(key, (0.0, []))
        out[key] = (ms + o.ms, types + ([o.op] if o.op not in types else []))
    return out


def _by_layers(this, other) -> tuple[dict, dict]:
    """Both profiles' ops summed by the original layers they came from; ops that share a layer (LiteRT's
    conv+relu, OpenVINO's conv) fall in one row, named by all its layers. An op named by no layer keeps its own."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    names = lambda o: list(o.source_nodes) or [f"\0{o.node}"]  # noqa: E731 (an unmapped op: its own row)
    for o in (*this.ops, *other.ops):
        first, *rest = names(o)
        for name in rest:
            parent[find(name)] = find(first)
    members: dict[str, list[str]] = {}
    for o in (*this.ops, *other.ops):
        for name in names(o):
            group = members.setdefault(find(name), [])
            if name not in group:
                group.append(name)
    label = {root: ", ".join(n.lstrip("\0") for n in group) for root, group in members.items()}
    key = lambda o: label[find(names(o)[0])]  # noqa: E731
    return _sum((key(o), o) for o in this.ops), _sum((key(o), o) for o in other.ops)


def compare_rows(this, other, grouped: bool) -> list[tuple[str, str, Optional[float], Optional[float]]]:
    """(name, op types, ms in this, ms in other) matched by op type (grouped), else by converted node when the
    two files share their node names, else by the original layer; slowest in this run first, then the rest."""
    if grouped:
        a, b = _sum((kind(o.op), o) for o in this.ops), _sum((kind(o.op), o) for o in other.ops)
    else:
        nodes_a, nodes_b = {o.node for o in this.ops}, {o.node for o in other.ops}
        if len(nodes_a & nodes_b) * 2 >= max(1, min(len(nodes_a), len(nodes_b))):  # one file on two devices
            a, b = _sum((o.node, o) for o in this.ops), _sum((o.node, o) for o in other.ops)
        else:
            a, b = _by_layers(this, other)
    rows = []
    for key in sorted(a, key=lambda k: -a[k][0]) + sorted((k for k in b if k not in a), key=lambda k: -b[k][0]):
        types = a.get(key, (0, []))[1] + [t for t in b.get(key, (0, []))[1] if t not in a.get(key, (0, []))[1]]
        name = " / ".join(types) if grouped else key
        rows.append((name, " / ".join(types), a[key][0] if key in a else None, b[key][0] if key in b else None))
    return rows


class ShareBar(QStyledItemDelegate):
    """A share cell: its figure on the right, and left of it a small bar as long as the share."""

    def paint(self, painter: QPainter, option, index) -> None:
        super().paint(painter, option, index)
        share = index.data(SHARE)
        if isinstance(share, float):
            room = option.fontMetrics.horizontalAdvance("100.0%") + 10
            r = option.rect.adjusted(4, 4, -room, -4)
            if r.width() > 4:
                painter.fillRect(QRect(r.left(), r.top(), max(1, round(r.width() * min(share, 1.0))), r.height()),
                                 option.palette.highlightedText() if option.state & QStyle.State_Selected else BAR)


class OpProfileView(QWidget):
    """The per-op times of one run (`show_run`), among the runs of the page (`set_runs`)."""

    show_on_graph = Signal(object)  # the Run whose profile the person wants on the graph

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.runs: list = []
        self.run = None
        v = QVBoxLayout(self)
        v.setContentsMargins(4, 4, 4, 0)
        top = QHBoxLayout()
        self.title = QLabel(self)
        self.title.setWordWrap(True)  # a long file name wraps rather than widen the window
        self.title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        top.addWidget(self.title, 1)
        controls = QHBoxLayout()
        self.grouped = QCheckBox("&Group by op type", self)
        self.grouped.setToolTip("One row per kind of op (all convolutions together, and so on), with their time summed")
        controls.addWidget(self.grouped)
        controls.addSpacing(12)
        controls.addWidget(QLabel("Compare with:", self))
        self.compare = QComboBox(self)
        self.compare.setAccessibleName("Compare the time per op with run")
        self.compare.setToolTip("Another profiled run: each op's time in both, side by side")
        self.compare.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.compare.setMinimumContentsLength(14)
        controls.addWidget(self.compare, 1)
        self.graph = QPushButton("Show on the &graph", self)
        self.graph.setToolTip("Colour the model's graph in the Nodes step by the time each layer takes")
        top.addWidget(self.graph)
        v.addLayout(top)
        v.addLayout(controls)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color:#555;")
        self.note.setTextInteractionFlags(Qt.TextSelectableByMouse)
        v.addWidget(self.note)
        self.table = QTableWidget(0, 0, self)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.ElideMiddle)  # a long layer name keeps its start and its end
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setAccessibleName("Time per op")
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.setItemDelegate(ShareBar(self.table))
        v.addWidget(self.table, 1)
        self.grouped.toggled.connect(self.refresh)
        self.compare.currentIndexChanged.connect(self.refresh)
        self.graph.clicked.connect(lambda: self.run is not None and self.show_on_graph.emit(self.run))
        self.refresh()

    # -- which run
    def set_runs(self, runs: list) -> None:
        """The page's runs changed (added, finished, removed, relabelled)."""
        self.runs = runs
        if self.run is not None and self.run not in runs:
            self.run = None
        self._fill_compare()
        self.refresh()

    def show_run(self, run) -> None:
        self.run = run
        self._fill_compare()
        self.refresh()

    def _fill_compare(self) -> None:
        want = self.compare.currentData()
        others = [r for r in self.runs if r is not self.run and profile_of(r) is not None and profile_of(r).available]
        self.compare.blockSignals(True)
        self.compare.clear()
        self.compare.addItem("nothing", None)
        for r in others:
            self.compare.addItem(r.label, r.number)
        index = self.compare.findData(want) if want is not None else 0
        self.compare.setCurrentIndex(max(index, 0))
        self.compare.setEnabled(bool(others))
        self.compare.blockSignals(False)

    def other(self):
        number = self.compare.currentData()
        return next((r for r in self.runs if r.number == number), None) if number is not None else None

    # -- showing
    def refresh(self) -> None:
        run, profile = self.run, profile_of(self.run)
        other = self.other()
        self.graph.setEnabled(bool(profile and profile.available and profile.ops))
        self.grouped.setEnabled(bool(profile and profile.ops))
        if run is None:
            self.title.setText("<b>No run yet</b>")
            self._message(NOTHING_YET)
            return
        self.title.setText(f"<b>Run {run.label}</b>")
        if profile is None:
            busy = run.bench.request.profile and not run.bench.done
            self._message(f"Run #{run.number} is running; each op is timed once its timing run ends." if busy
                          else NOT_PROFILED.format(run=f"Run #{run.number}"))
            return
        self.note.setText(self._summary(profile))
        self.note.show()
        self.table.setVisible(bool(profile.ops))
        if other is not None:
            self._fill_compared(run, profile, other, profile_of(other))
        elif self.grouped.isChecked():
            self._fill_grouped(profile)
        else:
            self._fill_ops(profile)

    def _message(self, text: str) -> None:
        self.note.setText(text)
        self.note.show()
        self.table.hide()
        self.table.setRowCount(0)

    @staticmethod
    def _summary(profile) -> str:
        parts = []
        if profile.ops:
            how = f" ({profile.source})" if profile.source else ""
            parts.append(f"The ops add up to {with_unit(profile.total_ms)} per inference, timed over "
                         f"{profile.runs} inferences{how}.")
            if profile.latency_ms:
                parts.append(f"Each of those inferences took {with_unit(profile.latency_ms)} in all.")
                if profile.total_ms > 1.15 * profile.latency_ms:
                    parts.append("The ops add up to more than that because timing each op costs a little every "
                                 "time, which shows on a model this fast: read the shares, not the sum.")
                elif profile.total_ms < 0.85 * profile.latency_ms:
                    parts.append("The rest of each inference is spent outside the ops (feeding the input, reading "
                                 "the output).")
        if profile.note:
            parts.append(plain(profile.note))
        elif not profile.available:
            parts.append("This device does not tell the time of each op.")
        return " ".join(parts)

    def _header(self, names: list[str], tips: dict[str, str]) -> None:
        self.table.clear()
        self.table.setColumnCount(len(names))
        self.table.setHorizontalHeaderLabels(names)
        for c, name in enumerate(names):
            if name in tips:
                self.table.horizontalHeaderItem(c).setToolTip(tips[name])

    def _put(self, row: int, values: list, share_col: int = -1, share: Optional[float] = None,
             right_from: int = 2, tip: str = "") -> None:
        for c, value in enumerate(values):
            item = QTableWidgetItem(str(value))
            if c >= right_from:
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            if c == share_col and share is not None:
                item.setData(SHARE, float(share))
            if tip:
                item.setToolTip(tip)
            self.table.setItem(row, c, item)

    def _fit(self, share_col: int = -1) -> None:
        """The first column (the names) takes the width left; the figures as wide as they need; the share
        column room for its bar."""
        header = self.table.horizontalHeader()
        for c in range(self.table.columnCount()):
            header.setSectionResizeMode(c, QHeaderView.Stretch if c == 0 else QHeaderView.ResizeToContents)
        if share_col >= 0:
            header.setSectionResizeMode(share_col, QHeaderView.Fixed)
            self.table.setColumnWidth(share_col, self.fontMetrics().horizontalAdvance("100.0%") + 110)

    def _fill_ops(self, profile) -> None:
        unit = unit_for(max((o.ms for o in profile.ops), default=None))[0]
        blocks = any(o.block for o in profile.ops)
        names = ["Layer", "Op type", f"Time ({unit})", "Share", "Precision"] + (["Runs in"] if blocks else [])
        self._header(names, {"Layer": "The original model's layer where known, else the converted model's op",
                             "Share": "Of the time all the ops take", "Precision": "What the op was computed in"})
        self.table.setRowCount(len(profile.ops))
        for r, o in enumerate(profile.ops):
            tip = f"Converted model's op: {o.node}"
            if o.source_nodes:
                tip += f"\nOriginal layer: {', '.join(o.source_nodes)}"
            values = [layer_name(o), o.op, in_unit(o.ms, unit), f"{100 * o.share:.1f}%", o.precision or "—"]
            self._put(r, values + ([o.block or "—"] if blocks else []), share_col=3, share=o.share, tip=tip)
            self.table.item(r, 4).setTextAlignment(Qt.AlignLeft | Qt.AlignVCenter)
            if blocks:
                self.table.item(r, 5).setTextAlignment(Qt.AlignLeft | Qt.AlignVCenter)
        self._fit(share_col=3)

    def _fill_grouped(self, profile) -> None:
        rows = profile.by_type()
        unit = unit_for(max((ms for _, ms, _, _ in rows), default=None))[0]
        self._header(["Op type", "Ops", f"Time ({unit})", "Share"], {"Ops": "How many ops of this type"})
        self.table.setRowCount(len(rows))
        for r, (op, ms, share, count) in enumerate(rows):
            self._put(r, [op, count, in_unit(ms, unit), f"{100 * share:.1f}%"], share_col=3, share=share, right_from=1)
        self._fit(share_col=3)

    def _fill_compared(self, run, profile, other, theirs) -> None:
        grouped = self.grouped.isChecked()
        rows = compare_rows(profile, theirs, grouped)
        top = max((ms for _, _, a, b in rows for ms in (a, b) if ms is not None), default=None)
        unit = unit_for(top)[0]
        a, b = f"#{run.number}", f"#{other.number}"
        names = (["Op type"] if grouped else ["Layer", "Op types"]) + [f"{a} ({unit})", f"{b} ({unit})", f"{b} ÷ {a}"]
        self._header(names, {names[-1]: f"How many times as long it takes in run {b} as in run {a} "
                                        "(under 1: faster there)",
                             "Layer": "Matched by the converted model's op, else by the original model's layer"})
        self.table.setRowCount(len(rows))
        for r, (name, types, ms_a, ms_b) in enumerate(rows):
            ratio = f"{number(ms_b / ms_a)}×" if ms_a and ms_b is not None else "—"
            values = [name] + ([] if grouped else [types]) + [in_unit(ms_a, unit), in_unit(ms_b, unit), ratio]
            self._put(r, values, right_from=1 if grouped else 2)
        self._fit()

    # -- what a test reads
    def column(self, name: str) -> list[str]:
        """The texts of the column whose header starts with `name`."""
        for c in range(self.table.columnCount()):
            if self.table.horizontalHeaderItem(c).text().startswith(name):
                return [self.table.item(r, c).text() for r in range(self.table.rowCount())]
        return []
