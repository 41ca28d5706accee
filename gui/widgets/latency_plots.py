"""The Benchmark step's plots: each run's latency per inference, and one run's distribution. Readable
whatever the values: times in µs when they are under a millisecond (never pyqtgraph's "ms (x0.001)"),
the trace's height set by the bulk of the data (up to about its 99.5th percentile) with slower inferences
marked at the top edge, a log scale on demand, and the histogram's bins over the same robust range.
pyqtgraph is imported on first use, so the window starts without it."""
from __future__ import annotations

import math
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

ROBUST = 99.5  # percentile: the top of the trace and of the histogram's bins
HEADROOM = 1.15  # the trace reaches a little above that percentile
BINS = 40
MAX_MARKS = 2000  # slow inferences marked at the top edge; more would hide the trace itself


def unit_for(ms: Optional[float]) -> tuple[str, float]:
    """('µs', 1000.0) for a time under a millisecond, else ('ms', 1.0): the unit and the factor from ms."""
    return ("µs", 1000.0) if ms is not None and 0 <= ms < 1.0 else ("ms", 1.0)


def number(v: float) -> str:
    """About three significant digits: 1,234 · 123 · 12.3 · 1.23 · 0.123."""
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}" if a else "0"


def in_unit(ms: Optional[float], unit: str) -> str:
    """A time given in ms, written in `unit` ('ms' or 'µs') without the unit: '—' when unknown."""
    if ms is None:
        return "—"
    return number(ms * (1000.0 if unit == "µs" else 1.0))


def with_unit(ms: Optional[float]) -> str:
    """A time given in ms, in the unit that fits it: '61.2 µs', '18.4 ms'."""
    if ms is None:
        return "—"
    unit, factor = unit_for(ms)
    return f"{number(ms * factor)} {unit}"


def robust_top(values) -> float:
    """The top of a latency trace in ms: about the 99.5th percentile with a little headroom, or the
    maximum when nothing is far above that."""
    import numpy as np

    v = np.asarray(values, dtype=np.float64)
    if not v.size:
        return 1.0
    peak = float(v.max())
    top = float(np.percentile(v, ROBUST)) * HEADROOM
    if peak <= top:
        top = peak * 1.05
    return top if top > 0 else 1.0


def histogram(values, bins: int = BINS):
    """(counts, edges in ms, how many are slower than the last edge) over the fastest value to the trace's
    robust top (about the 99.5th percentile): one slow inference does not squeeze the rest into one bar."""
    import numpy as np

    v = np.asarray(values, dtype=np.float64)
    top = robust_top(v)
    lo, hi = float(v.min()), float(v[v <= top].max())  # the bins end at the slowest value shown
    if hi <= lo:
        hi = lo + max(abs(lo) * 0.01, 1e-6)
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    return counts, edges, int((v > hi).sum())


def _plain_axis(pg):
    """An axis whose log-scale ticks read as plain numbers (50, 100, 200), not powers of ten."""

    class PlainAxis(pg.AxisItem):
        def logTickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
            return [number(10 ** float(v) * scale) if -300 < float(v) < 300 else "" for v in values]

    return PlainAxis


class LatencyPlots(QWidget):
    """The latency trace of every run (one curve each, run.curve) and the histogram of one run."""

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.ready = False
        self.unit = "ms"
        self.top_ms = 1.0
        self.slow = 0  # inferences above the trace's top, over the runs shown
        self._runs: list = []
        self.trace = self.hist = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.caption = QLabel("", self)
        self.caption.setStyleSheet("color:#555;")
        row.addWidget(self.caption, 1)
        self.log = QCheckBox("&Log scale", self)
        self.log.setToolTip("Show the latency on a logarithmic scale: fast and slow inferences both readable")
        self.log.setEnabled(False)
        self.log.toggled.connect(self._log_toggled)
        row.addWidget(self.log)
        layout.addLayout(row)
        self.placeholder = QLabel("Start a run: the latency of each inference is drawn here as it is measured.", self)
        self.placeholder.setAlignment(Qt.AlignCenter)
        self.placeholder.setStyleSheet("color:#777; background:white; border:1px solid #ddd;")
        layout.addWidget(self.placeholder, 3)
        self.beside = QHBoxLayout()  # the histogram, and what the page puts beside it (a run's statistics)
        layout.addLayout(self.beside, 2)

    def ensure(self) -> None:
        if self.ready:
            return
        import pyqtgraph as pg  # imported on first use: start-up stays fast

        axis = _plain_axis(pg)
        self.trace = pg.PlotWidget(background="w", axisItems={"left": axis("left")})
        self.trace.setTitle("Latency per inference", size="10pt")
        self.trace.setLabel("bottom", "inference")
        self.trace.addLegend(offset=(-10, 10), brush=pg.mkBrush(255, 255, 255, 215), pen=pg.mkPen("#ccc"),
                             labelTextColor="#222")
        self.trace.setDownsampling(auto=True, mode="peak")
        self.trace.setClipToView(True)
        self.trace.showGrid(y=True, alpha=0.3)
        self.trace.enableAutoRange(x=True, y=False)
        self.hist = pg.PlotWidget(background="w")
        self.hist.setTitle("Distribution", size="9pt")
        self.hist.setLabel("left", "inferences")
        for axis_item in (self.trace.getAxis("left"), self.trace.getAxis("bottom"), self.hist.getAxis("bottom"),
                          self.hist.getAxis("left")):
            axis_item.enableAutoSIPrefix(False)  # "ms (x0.001)" is no unit a person reads
        self.placeholder.hide()
        self.layout().insertWidget(self.layout().indexOf(self.placeholder), self.trace, 3)
        self.beside.insertWidget(0, self.hist, 1)
        self.log.setEnabled(True)
        self.ready = True
        self._set_unit("ms")

    # -- runs
    def add_run(self, run) -> None:
        import pyqtgraph as pg

        self.ensure()
        run.curve = self.trace.plot([], [], pen=pg.mkPen(run.colour, width=1), name=run.label)
        run.marks = pg.ScatterPlotItem(symbol="t1", size=7, pen=pg.mkPen(run.colour), brush=pg.mkBrush(run.colour))
        self.trace.addItem(run.marks)
        self._runs.append(run)

    def remove_run(self, run) -> None:
        if run in self._runs:
            self._runs.remove(run)
        if self.ready:
            for item in (run.curve, getattr(run, "marks", None)):
                if item is not None:
                    self.trace.removeItem(item)
        run.curve = None
        self.rescale()

    def relabel(self, run) -> None:
        """The legend says what the run measured now (its label may gain the precision, or 'earlier model')."""
        legend = self.trace.getPlotItem().legend if self.ready else None
        if legend is not None and run.curve is not None:
            label = legend.getLabel(run.curve)
            if label is not None and label.text != run.label:
                label.setText(run.label)
                legend.updateSize()

    def set_dimmed(self, run, dimmed: bool) -> None:
        for item in (run.curve, getattr(run, "marks", None)):
            if item is not None:
                item.setOpacity(0.35 if dimmed else 1.0)

    def show_samples(self, run) -> None:
        if run.curve is not None:
            run.curve.setData(run.values[:run.n])

    # -- scale
    def rescale(self) -> None:
        """Units, y range and the marks of slow inferences, from every run's samples (a few times a second)."""
        if not self.ready:
            return
        import numpy as np

        shown = [r for r in self._runs if r.n]
        tops = [self._top_of(r) for r in shown]
        self.top_ms = max(tops) if tops else 1.0
        self._set_unit(unit_for(self.top_ms)[0])
        log = self.log.isChecked()
        self.slow = 0
        for r in shown:
            values = r.values[:r.n]
            above = np.flatnonzero(values > self.top_ms)
            self.slow += int(above.size)
            marks = above[:: max(1, above.size // MAX_MARKS + 1)] if above.size > MAX_MARKS else above
            r.marks.setData(x=marks, y=np.full(marks.size, self.top_ms * 0.985))
            r.marks.setVisible(not log)
        if log and shown:
            lo = min(float(r.values[:r.n].min()) for r in shown)
            hi = max(float(r.values[:r.n].max()) for r in shown)
            lo = max(lo, 1e-6) * 0.8
            self.trace.setYRange(math.log10(lo), math.log10(hi * 1.25), padding=0)
        else:
            self.trace.setYRange(0, self.top_ms, padding=0)
        self._caption()

    @staticmethod
    def _top_of(run) -> float:
        cached = getattr(run, "_robust", None)
        if cached is None or cached[0] != run.n:
            run._robust = (run.n, robust_top(run.values[:run.n]))
        return run._robust[1]

    def _set_unit(self, unit: str) -> None:
        self.unit = unit
        axis = self.trace.getAxis("left")
        axis.setScale(1000.0 if unit == "µs" else 1.0)  # the data stay in ms; the ticks read in the unit
        self.trace.setLabel("left", f"latency ({unit})")

    def _caption(self) -> None:
        if self.slow and not self.log.isChecked():
            top = number(self.top_ms * (1000.0 if self.unit == "µs" else 1.0))
            self.caption.setText(f"▲ at the top edge: {self.slow:,} inference{'s' if self.slow != 1 else ''} slower than "
                                 f"{top} {self.unit} (tick Log scale to see how slow)")
        else:
            self.caption.setText("")

    def _log_toggled(self, on: bool) -> None:
        if self.ready:
            self.trace.setLogMode(y=on)
            self.rescale()

    # -- distribution
    def show_histogram(self, run) -> None:
        """The distribution of one run's latencies, bins over its fastest value to its 99.5th percentile."""
        if not self.ready:
            return
        import pyqtgraph as pg

        self.hist.clear()
        if run is None or run.n < 2:
            self.hist.setTitle("Distribution", size="9pt")
            return
        counts, edges, more = histogram(run.values[:run.n])
        unit, factor = unit_for(float(edges[-1]))
        self.hist.getAxis("bottom").setScale(factor)
        self.hist.setLabel("bottom", f"latency ({unit})")
        self.hist.addItem(pg.BarGraphItem(x0=edges[:-1], x1=edges[1:], height=counts, brush=run.colour))
        span = float(edges[-1] - edges[0])
        self.hist.setXRange(float(edges[0]) - span * 0.02, float(edges[-1]) + span * 0.02, padding=0)
        title = f"Run #{run.number}"
        if more:
            title += f": {more:,} slower than {number(float(edges[-1]) * factor)} {unit} not shown"
        self.hist.setTitle(title, size="9pt")
        self.hist_run = run

    def histogram_counts(self) -> list[list[float]]:
        """The bar heights shown (for tests)."""
        if not self.ready:
            return []
        return [list(i.opts["height"]) for i in self.hist.getPlotItem().items if hasattr(i, "opts") and "height" in i.opts]
