"""Step 2, Nodes: choose the inputs and outputs to convert between, and a static shape for each input.

The model's graph (Netron, gui/graph_view.py) beside a searchable, filterable node table; both stay in
sync. The selection goes to the plan at once; the cut itself happens in the worker when converting."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFormLayout, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QMenu, QPushButton, QSplitter, QTabWidget, QTableView, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from edgewizard.core.cut import cut_nodes
from edgewizard.core.errors import UserError
from edgewizard.core.graph import Graph, TensorInfo
from edgewizard.core.plan import Selection
from edgewizard.core.shapes import (cut_inputs, default_shape, parse_static_shape, shape_problem, shape_text,
                                    static_shape, why_not_static)

from ..graph_view import GraphView
from ..jobs_qt import INSPECT
from ..state import converted_files
from ..widgets.compact import NameList, compact_rows, fit_rows
from ..widgets.layer_errors import HEAT_TITLE, LayerErrorsPanel
from ..widgets.node_table import NodeTableModel, OpFilterProxy
from ..widgets.side_by_side import TIME_ITEM, SideBySide, original_times, profiled_file, time_heat
from .base import WizardPage, preview

DYNAMIC = QColor("#fff3bf")
INVALID = QColor("#ffd6d6")
ASK = "in the Input shapes table, like {example}"  # where the GUI asks for a shape (core.shapes.static_shape)


class NodesPage(WizardPage):
    step = "Nodes"
    title = "Nodes"
    subtitle = ("Choose where the converted model starts and ends. Leave the lists empty to convert the whole model. "
                "Click a node in the graph or the table, then press “Use as input” (Ctrl+I) or “Use as output” "
                "(Ctrl+U), or right-click it. Every input needs a fixed shape: the batch is 1 unless you change it.")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._updating = False
        self._rejected: dict[str, str] = {}  # input -> why the shape typed for it (still shown) was refused
        self.tensors: list[TensorInfo] = []  # the inputs in the shapes table, one a row
        self._syncing = False  # a selection coming from the graph is not sent back to it
        split = self.split = QSplitter(Qt.Horizontal, self)
        self.graph_view = GraphView(self)
        self.beside = SideBySide(self, self.graph_view)  # a converted model's graph beside the original's
        graphs = QWidget(self)
        gv = QVBoxLayout(graphs)
        gv.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        gv.addLayout(top)
        pair = self.graphs = QSplitter(Qt.Horizontal, graphs)
        pair.addWidget(self.graph_view)
        pair.addWidget(self.beside.view)
        pair.setStretchFactor(0, 1)
        pair.setStretchFactor(1, 1)
        gv.addWidget(pair, 1)
        gv.addWidget(self.beside.note)
        split.addWidget(graphs)
        # The column beside the graph: the node table takes the height; the cut lists are one line each
        # while empty and the shapes table as tall as its rows, so 1366×768 still shows a dozen nodes.
        column = QWidget(self)
        lv = QVBoxLayout(column)
        lv.setContentsMargins(0, 0, 0, 0)
        search_row = QHBoxLayout()
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Find a node by name, op or shape…")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Find node")
        self.op_filter = QComboBox(self)
        self.op_filter.setAccessibleName("Filter by op type")
        find = QLabel("&Find:", self)
        find.setBuddy(self.search)
        search_row.addWidget(find)
        search_row.addWidget(self.search, 1)
        search_row.addWidget(self.op_filter)
        lv.addLayout(search_row)
        colour_row = QHBoxLayout()
        colour_row.setContentsMargins(0, 0, 0, 0)
        self.colour_by = QComboBox(self)
        self.colour_by.setAccessibleName("Colour the graph by where each node runs, or by time per op")
        self.colour_by.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        colour_label = QLabel("&Colour by:", self)
        colour_label.setBuddy(self.colour_by)
        colour_row.addWidget(colour_label)
        colour_row.addWidget(self.colour_by)
        self.colour_row = QWidget(self)
        self.colour_row.setLayout(colour_row)
        self.colour_row.hide()  # until the Target step has checked a device or a benchmark timed the ops
        top.addWidget(self.colour_row)
        top.addWidget(self.beside.bar, 1)
        self.model = NodeTableModel(self)
        self.proxy = OpFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setSortingEnabled(False)
        self.table.verticalHeader().hide()
        compact_rows(self.table)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeToContents)
        # Sized from the first rows only: measuring all 2,000 rows of a big model froze the GUI ~1.5 s.
        self.table.horizontalHeader().setResizeContentsPrecision(100)
        self.table.setContextMenuPolicy(Qt.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.setAccessibleName("Nodes of the model")
        lv.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.as_input = QPushButton("Use as &input", self)
        self.as_output = QPushButton("Use as o&utput", self)
        self.as_input.setToolTip("Ctrl+I")
        self.as_output.setToolTip("Ctrl+U")
        buttons.addWidget(self.as_input)
        buttons.addWidget(self.as_output)
        buttons.addStretch(1)
        lv.addLayout(buttons)

        cuts = QFormLayout()
        cuts.setLabelAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.cut_inputs = NameList("Cut inputs", "the model's own inputs", self)
        self.cut_outputs = NameList("Cut outputs", "the model's own outputs", self)
        self.inputs_list, self.outputs_list = self.cut_inputs.list, self.cut_outputs.list
        cuts.addRow("Cut inputs:", self.cut_inputs)
        cuts.addRow("Cut outputs:", self.cut_outputs)
        lv.addLayout(cuts)
        shapes_label = QLabel("Input shapes:", self)
        lv.addWidget(shapes_label)
        self.shapes = QTableWidget(0, 2, self)
        self.shapes.setHorizontalHeaderLabels(["Input", "Shape (e.g. 1,224,224,3)"])
        self.shapes.verticalHeader().hide()
        compact_rows(self.shapes)
        self.shapes.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.shapes.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        self.shapes.setAccessibleName("Input shapes")
        shapes_label.setBuddy(self.shapes)
        lv.addWidget(self.shapes)
        self.shapes_hint = QLabel("Yellow: a size the model leaves open; type the size you will feed.", self)
        self.shapes_hint.setWordWrap(True)
        self.shapes_hint.setStyleSheet("color:#555;")
        self.shapes_hint.hide()  # only while a yellow cell is there
        lv.addWidget(self.shapes_hint)
        self.reset = QPushButton("&Whole model (clear choices)", self)
        lv.addWidget(self.reset)
        # Beside the node table, once the Verify step measured an int8 model layer by layer: its figures.
        self.side = QTabWidget(self)
        self.side.setDocumentMode(True)
        self.side.setTabBarAutoHide(True)  # one tab (the nodes): no tab bar, the table keeps its height
        self.side.addTab(column, "Nodes and cut")
        self.layer_errors = LayerErrorsPanel(self)
        self.layer_errors.hide()
        split.addWidget(self.side)
        split.setStretchFactor(0, 1)
        split.setSizes([520, 400])
        self.body.addWidget(split, 1)

        act_in = QAction("Use as cut input", self, shortcut=QKeySequence("Ctrl+I"), triggered=lambda: self._mark("input"))
        act_out = QAction("Use as cut output", self, shortcut=QKeySequence("Ctrl+U"), triggered=lambda: self._mark("output"))
        for a in (act_in, act_out):
            a.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            self.addAction(a)
        self.as_input.clicked.connect(lambda: self._mark("input"))
        self.as_output.clicked.connect(lambda: self._mark("output"))
        self.reset.clicked.connect(lambda: self.state.set_selection(Selection()))
        self.cut_inputs.removeRequested.connect(self._remove)
        self.cut_outputs.removeRequested.connect(self._remove)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.op_filter.currentIndexChanged.connect(lambda i: self.proxy.set_op(self.op_filter.itemData(i) or ""))
        self.shapes.itemChanged.connect(self._shape_edited)
        self.state.modelChanged.connect(self._load_graph)
        self.state.selectionChanged.connect(self._show_selection)
        self.state.validationChanged.connect(self._validation_changed)
        self.colour_by.currentIndexChanged.connect(self._colour_by_device)
        self.state.profileChanged.connect(lambda: self._validation_changed(prefer_time=True))
        self.beside.toggled.connect(self._beside_toggled)
        self.beside.table_button.toggled.connect(self._show_table)
        self.state.layersChanged.connect(self._layers_changed)
        self.layer_errors.heatToggled.connect(self._show_heat)
        self.layer_errors.nodesSelected.connect(self.graph_view.select)
        self.state.conversionChanged.connect(self._conversion_changed)
        self.table.selectionModel().selectionChanged.connect(self._table_selection_changed)
        self.search.returnPressed.connect(self._find_in_graph)
        self.graph_view.nodeClicked.connect(self._graph_clicked)
        self.graph_view.markRequested.connect(self._graph_mark)
        self.graph_view.failed.connect(lambda m: self.banner.show_message(m, "info"))
        self.graph_view.drawn.connect(self._graph_drawn)
        # While a model loads (seconds, in the worker), WebEngine and Netron's page start too.
        self.jobs.started.connect(lambda func: self.graph_view.preload() if func == INSPECT else None)
        self._load_graph()

    # -- where each node runs (results of the Target step's check)
    _WHERE = {"device": "accelerator", "cpu": "cpu", "unsupported": "unsupported"}

    def _validation_changed(self, prefer_time: bool = False) -> None:
        reports = [r for r in self.state.validation if r.status == "checked"]
        was = self.colour_by.currentData()
        self.colour_by.blockSignals(True)
        self.colour_by.clear()
        self.colour_by.addItem("No colours", None)
        for r in reports:
            self.colour_by.addItem(r.title, r.device)
        timed = self._profile() is not None
        if timed:
            self.colour_by.addItem(TIME_ITEM, "time")
        # The accelerator is what people check for; colour by it at once (a time profile just made: by time).
        preferred = next((i + 1 for i, r in enumerate(reports) if r.device in ("edgetpu", "myriad")), 1 if reports else 0)
        if timed and (was == "time" or prefer_time):
            preferred = self.colour_by.count() - 1
        if self.layer_errors.heat.isChecked():
            preferred = 0  # the heat map is what the graph shows
        self.colour_by.setCurrentIndex(preferred)
        self.colour_by.blockSignals(False)
        self.colour_row.setVisible(bool(reports) or timed)
        self.refresh_colours()

    def _profile(self):
        """(run label, Profile) of the Benchmark step's per-op times while current and with times, else None."""
        got = self.state.profile()
        return got if got is not None and got[1].available and got[1].ops else None

    def _colour_by_device(self) -> None:
        if self.colour_by.currentData() is not None:
            self.layer_errors.heat.setChecked(False)  # one colouring at a time: the device's (or time's) now
        self.refresh_colours()

    # -- the per-layer analysis (the Verify step's), in its tab and as the graph's heat map
    def _layers_changed(self) -> None:
        have = self.state.last_layers is not None  # this model's analysis, current or not (the tab says which)
        index = self.side.indexOf(self.layer_errors)
        if have and index < 0:
            self.side.addTab(self.layer_errors, "Accuracy by layer")
        elif not have and index >= 0:
            self.side.removeTab(index)
        if self.state.layers() is not None and self.state.layers() is not getattr(self, "_layers_shown", None):
            self.side.setCurrentWidget(self.layer_errors)
        self._layers_shown = self.state.layers()
        if self.state.layers() is None and self.colour_by.currentData() != "time":
            self.graph_view.clear_heat()

    def _show_heat(self, on: bool) -> None:
        panel = self.layer_errors
        if on and panel.report is not None:
            if self.colour_by.currentIndex() > 0:
                self.colour_by.setCurrentIndex(0)  # "No colours": the heat map is what the graph shows
            self.graph_view.heat(panel.heat_values(), HEAT_TITLE, panel.heat_scale())
        elif self.colour_by.currentData() != "time":
            self.graph_view.clear_heat()

    def refresh_colours(self) -> None:
        """Both graphs coloured as "Colour by" says: where each node runs, or the time per op (its heat map)."""
        device = self.colour_by.currentData()
        profile = self._profile() if device == "time" else None
        if profile is not None:
            label, prof = profile
            values, scale = time_heat(original_times(prof))
            self.graph_view.heat(values, f"Time per op on {label}", scale)
            if self.beside.on:
                self.beside.time_heat(prof, label, profiled_file(self.state))
            return
        if not self.layer_errors.heat.isChecked():
            self.graph_view.clear_heat()  # the time heat map, if it was shown
        report = next((r for r in self.state.validation if r.device == device), None)
        colours = {} if report is None else {n: self._WHERE[w] for n, w in report.source_verdicts.items()
                                             if w in self._WHERE}
        self.graph_view.colour(colours)
        point = report.partition_point if report is not None else None
        self.graph_view.mark_partition(point.source_node if point is not None else None)
        if self.beside.on:
            self.beside.colour(colours)

    def _beside_toggled(self, on: bool) -> None:
        # The original on the left, the converted file on the right; on a laptop's screen the node table
        # makes room (drag the splitter's edge back for it).
        self._conversion_changed()
        if on and self.graph_view.shown != self.state.source and self.state.source:
            self.graph_view.show_model(self.state.source)
        self.beside.table_button.setChecked(not on or self.width() >= 1600)
        self._show_table(self.beside.table_button.isChecked())
        self.refresh_colours()

    def _show_table(self, on: bool) -> None:
        self.side.setVisible(on)
        if on:
            self.split.setSizes([max(self.split.width() - 400, 200), 400])
        if self.beside.on:
            self.graphs.setSizes([10000, 10000])  # the two graphs share the width

    def select_from_beside(self, names: list[str]) -> None:
        """Original nodes a click in the converted graph came from: selected in the original graph and the table."""
        self._graph_clicked(names[0])
        self.graph_view.select(names)

    # -- model and selection in, selection out
    @property
    def graph(self) -> Optional[Graph]:
        return self.state.model.graph if self.state.model else None

    def _load_graph(self) -> None:
        graph = self.graph
        self.model.set_graph(graph)
        self.op_filter.blockSignals(True)
        self.op_filter.clear()
        self.op_filter.addItem("All ops", "")
        for op in sorted(graph.op_counts()) if graph else []:
            self.op_filter.addItem(op, op)
        self.op_filter.blockSignals(False)
        self.proxy.set_op("")
        self._conversion_changed()  # another model: none of its files converted yet, nothing beside it
        if graph is not None:
            # At once, even while another step is shown: WebEngine starts and Netron reads the file
            # in their own processes; only drawing waits until the step is visible.
            self.graph_view.show_model(self.state.source)
        self._show_selection()

    # -- the graph view, kept in sync with the table
    def _conversion_changed(self) -> None:
        # Named by their files only: "digits_cnn_int8.tflite" says what it is; a target's id would not.
        files = converted_files(self.state.manifest, self.state.request.output_dir)
        self.beside.set_files([(path.name, str(path)) for path, _ in files])
        shown = [] if self.beside.on else [(f"Converted: {path.name}", str(path)) for path, _ in files]
        self.graph_view.set_sources(self.state.source, shown)  # side by side: the original on the left

    def _graph_drawn(self) -> None:
        # A TF2 SavedModel is drawn as its saved functions (StatefulPartitionedCall ...), whose names
        # are not the ops EdgeWizard cuts at: say so rather than let clicks select nothing.
        names = set(self.graph_view.names)
        if self.graph is not None and self.graph_view.shown == self.state.source and names:
            known = names & {n.name for n in self.graph.nodes}
            if len(known) < len(names) / 2:
                self.banner.show_message("The graph draws this model as Netron reads the file; most of its node "
                                         "names are not the ones EdgeWizard cuts at. Pick nodes from the table.",
                                         "info")

    def _graph_clicked(self, name: str) -> None:
        self.layer_errors.select_node(name)
        self._syncing = True
        try:
            if not self.select_node(name) and (self.search.text() or self.proxy.op):
                self.search.clear()  # the node is filtered out of the table: show it
                self.op_filter.setCurrentIndex(0)
                self.select_node(name)
        finally:
            self._syncing = False

    def _graph_mark(self, role: str, name: str) -> None:
        if self.graph_view.shown != self.state.source:
            self.banner.show_message("The graph shows a converted model; choose cut points on the original "
                                     "(“Original model” above the graph).", "info")
        elif self.graph is not None and name not in {n.name for n in self.graph.nodes}:
            self.banner.show_message(f"“{name}” is drawn in the graph but is not a node EdgeWizard can cut at "
                                     "in this format; pick a node from the table.", "info")
        else:
            self._mark(role, [name])

    def _table_selection_changed(self, *_) -> None:
        if not self._syncing:
            self.graph_view.select(self.selected_nodes())
            self.beside.original_selected(self.selected_nodes())

    def _find_in_graph(self) -> None:
        if self.proxy.rowCount():
            self.table.selectRow(0)
            self.graph_view.find(self.proxy.index(0, 0).data(Qt.UserRole))

    def selected_nodes(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.proxy.index(r, 0).data(Qt.UserRole) for r in rows]

    def select_node(self, name: str) -> bool:
        """Select and show `name` in the table (also for the graph view to call). False if absent."""
        for r in range(self.proxy.rowCount()):
            if self.proxy.index(r, 0).data(Qt.UserRole) == name:
                self.table.selectRow(r)
                self.table.scrollTo(self.proxy.index(r, 0))
                return True
        return False

    def _mark(self, role: str, names: Optional[list[str]] = None) -> None:
        names = names if names is not None else self.selected_nodes()
        if not names:
            self.banner.show_message("Select a node in the table first.", "info")
            return
        sel = self.state.selection
        ins, outs = list(sel.inputs), list(sel.outputs)
        target = ins if role == "input" else outs
        other = outs if role == "input" else ins
        for n in names:
            if n in other:
                other.remove(n)
            if n not in target:
                target.append(n)
        self.banner.clear()
        self.state.set_selection(Selection(tuple(ins), tuple(outs), sel.shapes))

    def _remove(self, gone: set) -> None:
        sel = self.state.selection
        self.state.set_selection(Selection(tuple(n for n in sel.inputs if n not in gone),
                                           tuple(n for n in sel.outputs if n not in gone), sel.shapes))

    def _context_menu(self, pos) -> None:
        names = self.selected_nodes()
        if not names:
            return
        menu = QMenu(self)
        menu.addAction("Use as cut input", lambda: self._mark("input", names))
        menu.addAction("Use as cut output", lambda: self._mark("output", names))
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def _show_selection(self) -> None:
        sel = self.state.selection
        self._updating = True
        self._rejected.clear()  # the table shows the plan's shapes again
        try:
            self.cut_inputs.set_names(sel.inputs)
            self.cut_outputs.set_names(sel.outputs)
            marks = {n: "input" for n in sel.inputs}
            marks.update({n: "output" for n in sel.outputs})
            self.model.set_marks(marks)
            if self.graph is not None:
                self.graph_view.highlight(cut_nodes(self.graph, sel))
            self.tensors = cut_inputs(self.graph, sel) if self.graph is not None else []
            self.shapes.setRowCount(len(self.tensors))
            for r, t in enumerate(self.tensors):
                name = QTableWidgetItem(t.name)
                name.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable)
                name.setToolTip(f"In the model: {t.shape_text()} {t.dtype}")
                given = sel.shape_for(t.name)
                shape = QTableWidgetItem(shape_text(given if given is not None else default_shape(t)))
                if why_not_static(default_shape(t)):
                    shape.setBackground(DYNAMIC)
                    shape.setToolTip(f"The model leaves dimensions open ({t.shape_text()}); give every size.")
                self.shapes.setItem(r, 0, name)
                self.shapes.setItem(r, 1, shape)
            fit_rows(self.shapes, 4)
            self.shapes_hint.setVisible(any(why_not_static(default_shape(t)) for t in self.tensors))
        finally:
            self._updating = False

    def _shape_edited(self, item: QTableWidgetItem) -> None:
        if self._updating or item.column() != 1:
            return
        name = self.tensors[item.row()].name
        try:
            shape = static_shape(self.tensors[item.row()], parse_static_shape(item.text(), f"The shape for '{name}'"))
        except UserError as exc:
            self._rejected[name] = exc.message
            item.setBackground(INVALID)
            self.banner.show_message(exc.message, "error")
            return
        self._rejected.pop(name, None)
        self.banner.clear()
        sel = self.state.selection
        shapes = tuple((n, s) for n, s in sel.shapes if n != name) + ((name, shape),)
        self.state.set_selection(Selection(sel.inputs, sel.outputs, shapes))

    def shapes_complete(self) -> Optional[str]:
        """None when every input has a full static shape, else why not (for the Next button)."""
        why = next(iter(self._rejected.values()), None)
        if why is None and self.graph is not None:
            why = shape_problem(self.graph, self.state.selection, ASK)
        return why and why.rstrip(".") + " (step Nodes)."


if __name__ == "__main__":
    import sys

    from ..netron_scheme import prepare_web_engine
    from .base import load_sample

    prepare_web_engine()  # before preview() creates the QApplication

    sys.exit(preview(NodesPage, lambda state, jobs, page: load_sample(state, jobs)))
