""""Found next to the model:" a drop-down of the data core/data_candidates.py finds beside the open
model, for the Target page (calibration) and the Verify page (data to compare on). Nothing is chosen
until the person picks an entry.

The look is short and capped (LOOK_SECONDS), so it runs on the GUI thread, when the page is shown
and when the model or its cut changes while it is: as a jobs.call it would end as a "finished" job that
observers of the controller's steps (the status bar, tests waiting for a conversion) take for theirs."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QSizePolicy

from edgewizard.core.data_candidates import DataCandidate, find_candidates

LOOK_SECONDS = 0.3  # at most, on a slow disk; a local folder takes a few milliseconds


def model_inputs(state) -> list[tuple[str, Optional[tuple]]]:
    """(name, shape) of each input of the cut on screen: the shape given on the Nodes step, else the
    model's own; None where it is not known (a cut inside the graph with no shape given)."""
    model = state.model
    if model is None:
        return []
    own = {t.name: t for t in model.graph.inputs}
    sel = state.selection
    out = []
    for name in sel.inputs or tuple(own):
        shape = sel.shape_for(name) or (own[name].shape if name in own else None)
        out.append((name, tuple(shape) if shape else None))
    return out


class FoundData(QComboBox):
    """The drop-down, with its `title` label for the page's form. `available` says whether anything was
    found (the page shows the row only then); `picked` carries the entry a person chose."""

    picked = Signal(object)  # DataCandidate
    available = Signal(bool)

    def __init__(self, page, purpose: str, note: Callable[[DataCandidate], str] = lambda c: "") -> None:
        super().__init__(page)
        self.page, self.purpose, self.note = page, purpose, note
        self.candidates: list[DataCandidate] = []
        self._looking_for = None  # (model path, inputs) of the last look
        self.title = QLabel("Found next to the model:", page)
        self.title.setBuddy(self)
        self.setAccessibleName("Data found next to the model")
        # Long entries are elided in the closed box (whole in the open list and the tooltip): the page keeps its width.
        self.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(30)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.activated.connect(self._activated)  # a person's choice only, never a programmatic change

    def look(self) -> None:
        """Look beside the model on screen when the page shows it and has not looked for this model and cut
        (the input shape decides which arrays fit)."""
        state = self.page.state
        if state.model is None or not state.source:
            self._looking_for = None
            self._fill([])
            return
        key = (state.source, tuple(model_inputs(state)))
        if key == self._looking_for or not self.page.isVisible():
            return
        self._looking_for = key
        self._fill(find_candidates(key[0], list(key[1]), self.purpose, max_seconds=LOOK_SECONDS))

    def _fill(self, found: list[DataCandidate]) -> None:
        self.candidates = found
        self.clear()
        if found:
            self.addItem(f"{len(found)} found: choose one to use it", None)
        for c in found:
            text = "; ".join(x for x in (c.label, c.fit_note, self.note(c)) if x)
            self.addItem(text, str(c.path))
            self.setItemData(self.count() - 1, f"{text}\n{c.path}", Qt.ToolTipRole)
        self.available.emit(bool(found))

    def reword(self) -> None:
        """Word the entries again (what `note` says may have changed), keeping the one shown."""
        shown = self.currentData()
        self._fill(self.candidates)
        self.show_path(shown or "")

    def show_path(self, path: str) -> None:
        """Show the entry of `path` when it is one of those found (the person typed or browsed to it)."""
        index = self.findData(str(Path(path))) if path else -1
        self.setCurrentIndex(max(0, index) if self.count() else -1)

    def _activated(self, index: int) -> None:
        path = self.itemData(index)
        if path is not None:
            self.picked.emit(next(c for c in self.candidates if str(c.path) == path))
