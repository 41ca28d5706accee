"""The Nodes step's original and converted graphs side by side: a second graph view showing one converted
file of the current conversion, its nodes paired with the original's (core/graph_pairs.py, computed once per
file in the worker), so that selecting a node in one selects its counterparts in the other. Also the time
heat map of a benchmark's per-op profile, for either graph."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from ..graph_view import GraphView

PAIRS = "edgewizard.core.graph_pairs:node_pairs"
TIME_ITEM = "Time per op (from the Benchmark step)"
_RANK = {"unsupported": 3, "cpu": 2, "accelerator": 1}


def short(name: str, most: int = 48) -> str:
    """A converted op's name (TFLite joins the names of the ops it fused: hundreds of characters) cut in the middle."""
    return name if len(name) <= most else f"{name[:most // 2 - 1]}…{name[-(most // 2 - 1):]}"


def ms_text(ms: float) -> str:
    return f"{ms:.3g} ms" if ms < 100 else f"{ms:.0f} ms"


def original_times(profile) -> dict[str, float]:
    """Original node -> its milliseconds (an op's time split evenly over the nodes it came from), as
    Profile.heat() counts them."""
    times: dict[str, float] = {}
    for o in profile.ops:
        for name in o.source_nodes:
            times[name] = times.get(name, 0.0) + o.ms / len(o.source_nodes)
    return times


def time_heat(times: dict[str, float]) -> tuple[dict[str, float], str]:
    """(node -> 0..1 of the slowest, the legend's ends "0|<slowest> ms")."""
    top = max(times.values(), default=0.0)
    return {k: (v / top if top > 0 else 0.0) for k, v in times.items()}, f"0|{ms_text(top)} (slowest)"


def converted_times(profile, names) -> dict[str, float]:
    """The profile's ops that are nodes of the drawn graph (`names`), with their milliseconds."""
    names = set(names)
    out: dict[str, float] = {}
    for o in profile.ops:
        if o.node in names:
            out[o.node] = out.get(o.node, 0.0) + o.ms
    return out


def _stamp(path: str) -> tuple:
    try:
        st = os.stat(path)
    except OSError:
        return ()
    return (st.st_size, st.st_mtime_ns)


def profiled_file(state) -> Optional[set]:
    """The names of the current conversion's files that have the profiled file's content (an OpenVINO
    model's .xml or .bin), or None when that is not known."""
    sha = state.profile_sha256()
    manifest = state.manifest
    if not sha or manifest is None:
        return None
    names = {f.name for a in manifest.artifacts for f in a.files if f.sha256 == sha}
    return names | {str(Path(n).with_suffix(".xml")) for n in names if n.endswith(".bin")}


class SideBySide(QObject):
    """The toggle and file choice (`bar`, for the page to place above the graphs) and the converted model's
    graph (`view`, for the page to place beside the original's `original` view)."""

    toggled = Signal(bool)
    paired = Signal(str)  # the converted file whose pairs just arrived

    def __init__(self, page, original: GraphView) -> None:
        super().__init__(page)
        self.page, self.original = page, original
        self.pairs: dict[str, dict[str, tuple[str, ...]]] = {}  # converted file -> its node -> original nodes
        self.back: dict[str, dict[str, tuple[str, ...]]] = {}  # converted file -> original node -> its nodes
        self._stamps: dict[str, tuple] = {}  # converted file -> its size and time when paired
        self._job = None
        self._waiting = False
        self.bar = QWidget(page)
        row = QHBoxLayout(self.bar)
        row.setContentsMargins(0, 0, 0, 0)
        self.toggle = QCheckBox("Show a converted model &beside it", self.bar)
        self.toggle.setToolTip("The original model's graph and a converted file's graph next to each other; "
                               "click a node in one to select where it went in the other")
        self.files = QComboBox(self.bar)
        self.files.setAccessibleName("Converted model shown beside the original")
        self.files.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.table_button = QToolButton(self.bar)  # the node table beside the two graphs, or not
        self.table_button.setText("Node &table")
        self.table_button.setCheckable(True)
        self.table_button.setChecked(True)  # shown, as with one graph
        self.table_button.setToolTip("Show the node table and the cut beside the two graphs")
        self.table_button.hide()
        row.addWidget(self.toggle)
        row.addWidget(self.files)
        row.addStretch(1)
        row.addWidget(self.table_button)
        self.bar.hide()  # until something was converted
        self.view = GraphView(page)
        self.view.hide()
        self.note = QLabel(page)  # one line under the graphs: what a click found, or why nothing
        self.note.setStyleSheet("color:#555;")
        self.note.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # a long op name never widens the window
        self.note.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.note.hide()
        self.toggle.toggled.connect(self._toggled)
        self.files.activated.connect(lambda _: self._show_file())
        self.view.nodeClicked.connect(self._converted_clicked)
        self.original.nodeClicked.connect(self._original_clicked)
        self.view.markRequested.connect(lambda *_: page.banner.show_message(
            "Choose cut points on the original model (the graph on the left).", "info"))
        self.view.failed.connect(lambda m: page.banner.show_message(m, "info"))
        self.view.drawn.connect(self._drawn)
        page.jobs.busyChanged.connect(self._worker_free)

    # -- what can be shown
    @property
    def on(self) -> bool:
        return self.toggle.isChecked() and self.files.count() > 0

    @property
    def path(self) -> Optional[str]:
        return self.files.currentData() if self.on else None

    def set_files(self, files: list[tuple[str, str]]) -> None:
        """The current conversion's converted files, (label, path) each; pairs of other files are forgotten."""
        keep = self.files.currentData()
        self.files.blockSignals(True)
        self.files.clear()
        for label, path in files:
            self.files.addItem(label, path)
        index = self.files.findData(keep)
        self.files.setCurrentIndex(max(index, 0))
        self.files.blockSignals(False)
        paths = {p for _, p in files}
        for old in [p for p in self.pairs if p not in paths or self._stamps.get(p) != _stamp(p)]:
            self.pairs.pop(old)  # gone, or converted again since (another cut, other names)
            self.back.pop(old)
        self.bar.setVisible(bool(files))
        if not files and self.toggle.isChecked():
            self.toggle.setChecked(False)
        elif self.on and (index < 0 or self.view.shown != self.path):
            self._show_file()

    def _toggled(self, on: bool) -> None:
        self.view.setVisible(self.on)
        self.table_button.setVisible(self.on)
        self.files.setEnabled(on)
        if not on:
            self.note.hide()
        else:
            self._show_file()
        self.toggled.emit(self.on)

    def _show_file(self) -> None:
        path = self.path
        if not path:
            return
        if self.view.shown != path:
            self.view.show_model(path)
        self.note.hide()
        self._ask_pairs()
        self.page.refresh_colours()

    def _drawn(self) -> None:
        # A TFLite op has no name of its own (Netron would label it 0, 1, 2 ...): its op type says more.
        if (self.path or "").endswith(".tflite") and self.view.names_button.isChecked():
            self.view.names_button.click()
        self.page.refresh_colours()

    # -- the pairs, once per file, in the worker
    def _ask_pairs(self) -> None:
        path = self.path
        if not path or path in self.pairs or self._job is not None:
            return
        jobs = self.page.jobs
        if jobs.busy:  # one worker step at a time: pair once the running one ends
            self._waiting = True
            self._say(f"The nodes of {Path(path).name} are paired with the original's once the running step ends.")
            return
        state = self.page.state
        self._say(f"Pairing the nodes of {Path(path).name} with the original model's…")
        self._stamps[path] = _stamp(path)
        job = self._job = jobs.start(PAIRS, state.source, state.load_options, state.selection, path)
        job.done.connect(lambda pairs, p=path: self._got(p, pairs))
        job.failed.connect(lambda error: self._say(f"The nodes could not be paired: {error.message}"))
        job.ended.connect(self._ended)

    def _ended(self) -> None:
        self._job = None
        if self.on and self.path not in self.pairs and self._waiting:
            self._ask_pairs()

    def _worker_free(self, busy: bool) -> None:
        if not busy and self._waiting and self._job is None:
            self._waiting = False
            self._ask_pairs()

    def _got(self, path: str, pairs: dict) -> None:
        from edgewizard.core.graph_pairs import invert

        self.pairs[path] = {str(k): tuple(v) for k, v in pairs.items()}
        self.back[path] = invert(self.pairs[path])
        if path == self.path:
            self._say(f"Click a node in either graph to select where it went in the other "
                      f"({len(self.pairs[path])} nodes of {Path(path).name} paired).")
        self.paired.emit(path)
        self.page.refresh_colours()

    def _say(self, text: str) -> None:
        self.note.setToolTip(text)
        self.note.setText(text)
        self.note.setVisible(self.on)

    # -- linked selection
    def _converted_clicked(self, name: str) -> None:
        pairs = self.pairs.get(self.path or "")
        if pairs is None:
            return
        found = list(pairs.get(name, ()))
        if not found:
            self._say(f"{short(name)} has no counterpart in the original model.")
            self.original.select([])
            return
        self._say(f"{short(name)} comes from {', '.join(found)} in the original model.")
        self.page.select_from_beside(found)

    def _original_clicked(self, name: str) -> None:
        self.original_selected([name])

    def original_selected(self, names: list[str]) -> None:
        """The original nodes selected (in its graph or the table): select their converted nodes."""
        back = self.back.get(self.path or "")
        if back is None or not names:
            return
        found = [c for n in names for c in back.get(n, ())]
        self.view.select(list(dict.fromkeys(found)))
        file = Path(self.path).name
        if not found:
            self._say(f"{', '.join(names)} has no counterpart in {file}.")
        else:
            self._say(f"{', '.join(names)} became {len(found)} node{'s' if len(found) != 1 else ''} of {file}.")

    # -- colours on the converted graph
    def colour(self, categories: dict[str, str]) -> None:
        """Device colours of original nodes, carried to their converted nodes (the worst of their sources)."""
        pairs = self.pairs.get(self.path or "", {})
        out: dict[str, str] = {}
        for node, sources in pairs.items():
            found = [categories[s] for s in sources if s in categories]
            if found:
                out[node] = max(found, key=lambda c: _RANK.get(c, 0))
        self.view.clear_heat()
        self.view.colour(out)

    def time_heat(self, profile, label: str, profiled: Optional[set] = None) -> bool:
        """The profile's time per op on the converted graph when the profile is of the file shown (`profiled`:
        the names of the profiled model's files, where known); False if not."""
        times = converted_times(profile, self.view.names)
        other = profiled is not None and Path(self.path or "").name not in profiled
        # Unknown file: shown only if most ops are nodes of this graph (OpenVINO's counters also list the
        # plugin's own reorders, so a known file shows whatever matches).
        if other or not times or (profiled is None and len(times) < len(profile.ops) / 2):
            self.view.colour({})
            self.view.clear_heat()
            if other and profiled:
                self._say(f"The time per op was measured on {sorted(n for n in profiled if not n.endswith('.bin'))[0]}; "
                          "choose that file above to see it on this graph.")
            return False
        values, scale = time_heat(times)
        self.view.heat(values, f"Time per op on {label}", scale)
        return True
