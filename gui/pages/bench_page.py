"""Step 6, Benchmark: run a converted model on a device (here, under another Python, or on another
machine over ssh) with a live latency plot and running statistics; the runs side by side, with
speed-ups and export, are gui/widgets/bench_runs.py; a profiled run's time per op is gui/widgets/op_profile.py."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QMessageBox, QPushButton,
                               QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from edgewizard.core.bench.result import write_csv, write_json
from edgewizard.core.bench.runner import BenchRun
from edgewizard.core.errors import EdgeWizardError

from ..state import STEPS, converted_files
from ..widgets.bench_choices import BenchChoices
from ..widgets.bench_runs import COLOURS, TABLE, Run, RunTable, fmt  # noqa: F401 (TABLE: the tests read it here)
from ..widgets.latency_plots import LatencyPlots, in_unit, unit_for
from ..widgets.op_profile import OpProfileView, profile_of
from ..widgets.plain_words import plain
from .base import WizardPage, preview

MAP_PROFILE = "edgewizard.core.bench.profile:map_profile"
STATS = ("count", "throughput_fps", "median_ms", "mean_ms", "p90_ms", "p99_ms", "min_ms", "max_ms", "first_ms")


class BenchmarkPage(WizardPage):
    step = "Benchmark"
    title = "Benchmark"
    subtitle = ("Measure how fast a converted model runs: on this computer's CPU or accelerator, under another "
                "Python (for the NCS2's OpenVINO 2022.3 or Google's pycoral), or on a Raspberry Pi over ssh.")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.runs: list[Run] = []
        self.active: Optional[Run] = None
        self._numbers = 0  # runs started so far: a removed run's number is not given again
        left = QWidget(self)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 6, 0)
        self.choices = BenchChoices(self.settings, self)
        c = self.choices  # the page's names for its parts, as the tests and scripts use them
        self.model, self.device, self.where_kind, self.where_text = c.model, c.device, c.where_kind, c.where_text
        self.count, self.warmup, self.threads, self.precision, self.data = c.count, c.warmup, c.threads, c.precision, c.data
        self.where, self.request = c.where, c.request
        lv.addWidget(c)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("&Start", self)
        self.stop_button = QPushButton("St&op", self)
        self.stop_button.setEnabled(False)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        lv.addLayout(buttons)
        self.stats = QGridLayout()
        self.stat_names, self.stat_labels = {}, {}
        for i, key in enumerate(STATS):  # two statistics a row: the column stays short
            name = QLabel(self)
            value = QLabel("—", self)
            value.setTextInteractionFlags(Qt.TextSelectableByMouse)
            self.stats.addWidget(name, i // 2, 2 * (i % 2))
            self.stats.addWidget(value, i // 2, 2 * (i % 2) + 1)
            self.stat_names[key], self.stat_labels[key] = name, value
        self.stats.setColumnStretch(1, 1)
        self.stats.setColumnStretch(3, 1)
        self.stats_box = QGroupBox("This run", self)
        self.stats.setAlignment(Qt.AlignTop)
        self.stats_box.setLayout(self.stats)
        self._name_stats("ms")
        self.devices_label = QLabel(self)
        self.devices_label.setWordWrap(True)
        self.devices_label.setStyleSheet("color:#555;")
        lv.addWidget(self.devices_label)
        self.missing_toggle = QPushButton("What is missing for the other devices…", self)
        self.missing_toggle.hide()
        self.missing = QLabel(self)  # its text; shown in a box of its own, where it has room
        self.missing.hide()
        self.missing_toggle.clicked.connect(self._show_missing)
        lv.addWidget(self.missing_toggle)
        lv.addStretch(1)
        scroll = QScrollArea(self)  # on a small screen the column scrolls rather than cut its end off
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(left.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
        top = QSplitter(Qt.Horizontal, self)
        top.addWidget(scroll)
        self.plots = LatencyPlots(self)
        self.plots.beside.addWidget(self.stats_box)
        self.ops = OpProfileView(self)
        self.ops.show_on_graph.connect(self.show_on_graph)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.plots, "&Latency")
        self.tabs.addTab(self.ops, "Time per op")
        top.addWidget(self.tabs)
        top.setStretchFactor(1, 1)
        top.setCollapsible(0, False)
        # The runs below, the whole width: twelve columns read without scrolling sideways.
        split = QSplitter(Qt.Vertical, self)
        split.addWidget(top)
        self.compare = RunTable(self.runs, lambda: self.state.output_folder, self.settings,
                                lambda: self.plots if self.plots.ready else None, self)
        c = self.compare
        self.table, self.baseline = c.table, c.baseline
        self.export_csv, self.export_json, self.export_png = c.export_csv, c.export_json, c.export_png
        self.remove_button = c.remove
        c.remove_requested.connect(self.remove_run)
        c.selected.connect(self._selected)
        split.addWidget(self.compare)
        split.setStretchFactor(0, 1)
        split.setSizes([560, 170])
        split.setCollapsible(0, False)
        self.body.addWidget(split, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(33)  # ~30 Hz: plots are redrawn from the buffer, never per sample
        self.timer.timeout.connect(self._tick)
        self._ticks = 0
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self._discovery = None  # the device discovery Job, once started
        self._mapping = None  # (Job, Run, then show on the graph) while the worker names a profile's original layers
        self.state.modelChanged.connect(self._plan_changed)
        self.state.conversionChanged.connect(self._plan_changed)
        self._fill_models()

    # -- choices
    def _plan_changed(self) -> None:
        """Another model or conversion: only its files are offered, and runs of other files say so."""
        self._fill_models()
        self._mark_earlier_runs()

    def _fill_models(self) -> None:
        files = [str(path) for path, _ in converted_files(self.state.manifest, self.state.output_folder or ".")]
        calib = self.state.request.options.calibration
        data = [(f"Calibration data ({Path(src).name})", src) for _, src in calib.sources if src.endswith((".npy", ".npz"))]
        self.choices.fill(files, data)

    def _measured(self, path: str) -> tuple[str, str, str]:
        """(sha256 of the file, name of the model it was converted from, its conversion target) for a file of
        the current conversion; ("", "", "") for a file picked by hand."""
        manifest = self.state.manifest
        for p, target in converted_files(manifest, self.state.output_folder or "."):
            if str(p) == path:
                entry = next((f for f in manifest.artifact(target).files if f.name == p.name), None)
                return (entry.sha256 if entry else ""), Path(self.state.source).name, target
        return "", "", ""

    def _mark_earlier_runs(self) -> None:
        manifest = self.state.manifest
        now = {f.sha256 for a in manifest.artifacts for f in a.files} if manifest is not None else set()
        model = Path(self.state.source).name if self.state.source else ""
        for run in self.runs:
            if not run.sha256 or run.sha256 in now:  # a file picked by hand is labelled by its name alone
                run.earlier = ""
            elif run.source_name != model:
                run.earlier = f"earlier model: {run.source_name}"
            else:
                run.earlier = "an earlier conversion"
            self.plots.set_dimmed(run, bool(run.earlier))
            self.plots.relabel(run)
        self.compare.refresh()
        self.ops.set_runs(self.runs)

    # -- running
    def on_enter(self) -> None:
        # Discovery runs the bench agent in a subprocess of its own: it does not queue behind the worker's
        # TensorFlow warm-up or a conversion.
        if self._discovery is None:
            from edgewizard.core.bench.devices import discover

            self.devices_label.setText("Looking for runtimes and accelerators…")
            self._discovery = self.jobs.call(discover)
            self._discovery.done.connect(self._on_discovered)
            self._discovery.failed.connect(self._on_discovery_failed)

    def _on_discovery_failed(self, error) -> None:
        self._discovery = None  # looked for again on the next visit
        self.devices_label.setText(f"Could not look for devices: {plain(str(error))}")

    def _on_discovered(self, found) -> None:
        self.choices.set_default_precisions({d.device: d.default_precision for d in found.devices if d.default_precision})
        ready = [d.title for d in found.devices if d.ready]
        missing = [f"<p><b>{d.title}</b>: {plain(d.reason)}</p>" for d in found.devices if not d.ready]
        self.devices_label.setText(f"Ready here: {', '.join(ready) or 'nothing'}.")
        self.missing.setText("".join(missing))
        self.missing_toggle.setVisible(bool(missing))

    def _show_missing(self) -> None:
        box = QMessageBox(QMessageBox.Information, "What is missing for the other devices",
                          "What each device that is not ready here needs:", QMessageBox.Close, self)
        box.setInformativeText(self.missing.text())
        box.setTextFormat(Qt.RichText)
        box.exec()

    def start(self) -> None:
        if self.active is not None:
            return
        if self.where_kind.currentData() == "ssh" and not self.where_text.text().strip():
            # an empty host must not quietly become a run on this machine
            self.banner.show_message("Give the ssh host (as in your ssh config, e.g. pi@raspberrypi).", "warning")
            return
        try:
            req = self.request()  # a refused ssh host or interpreter path is the person's to fix
        except EdgeWizardError as exc:
            self.banner.show_message(plain(exc.message), "error", getattr(exc, "details", ""))
            return
        if not req.model:
            self.banner.show_message("Choose a model file to benchmark (convert first, or pick a file).", "warning")
            return
        why = self.choices.why_not()
        if why:  # the device cannot run this file: say so rather than fail after starting
            self.banner.show_message(why, "warning")
            return
        self.banner.clear()
        try:
            bench = BenchRun(req).start()
        except EdgeWizardError as exc:
            self.banner.show_message(plain(exc.message), "error", getattr(exc, "details", ""))
            return
        sha, source, target = self._measured(req.model)
        self._numbers += 1
        run = Run(self._numbers, bench, COLOURS[(self._numbers - 1) % len(COLOURS)], sha, bench.plan_key, source, target)
        self.plots.add_run(run)
        self.runs.append(run)
        self.active = run
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.compare.added(run)
        self.ops.set_runs(self.runs)
        self.ops.show_run(run)
        self.timer.start()

    def stop(self) -> None:
        if self.active is not None:
            self.active.bench.stop()

    def _tick(self) -> None:
        run = self.active
        if run is None:
            self.timer.stop()
            return
        self._ticks += 1
        if run.pull():
            self.plots.show_samples(run)
        if self._ticks % 8 == 0 or run.bench.done:  # statistics sort all samples: a few times a second
            run.result = run.bench.result()
            self._show_stats(run)
            self.plots.rescale()
            self.compare.refresh()
        if self._ticks % 15 == 0 or run.bench.done:
            self.plots.show_histogram(run)
        if run.bench.done:
            run.pull()
            self.plots.show_samples(run)
            self._finished(run)

    def _finished(self, run: Run) -> None:
        self.timer.stop()
        self.active = None
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        run.result = run.bench.result()
        self.plots.relabel(run)  # OpenVINO's precision is known now
        self.plots.rescale()
        self.plots.show_histogram(run)
        self._show_stats(run)
        self.compare.refresh()
        self.compare.finished()
        if run.bench.error is not None:
            said = "kept" in run.bench.error.message  # the runner's own words may say so already
            kept = f" The {run.n} inferences measured before it stopped are kept." if run.n and not said else ""
            self.banner.show_message(run.reason + kept, "error", run.bench.error.details)
        self._save_for_report(run)
        self.ops.set_runs(self.runs)
        self.ops.show_run(run)
        if profile_of(run) is not None:
            self.tabs.setCurrentWidget(self.ops)  # what the person asked for: which ops take the time
            self._map_profile(run)

    # -- the time per op
    def _map_profile(self, run: Run, then_show: bool = False) -> bool:
        """Name the original model's layers of each op, in the worker (the file's conversion must be the
        current one: its cut of this model is what the names are looked up in). False when it cannot start."""
        profile = profile_of(run)
        if (profile is None or not profile.available or not profile.ops or run.earlier or not run.sha256
                or self._mapping is not None or self.jobs.busy):
            return False
        job = self.jobs.start(MAP_PROFILE, profile, self.state.source, self.state.load_options, self.state.selection,
                              run.bench.request.model)
        self._mapping = (job, run, then_show)
        job.done.connect(self._mapped)
        job.failed.connect(self._map_failed)
        return True

    def _mapped(self, profile) -> None:
        job, run, then_show = self._mapping
        self._mapping = None
        if run not in self.runs or run.result is None:
            return
        run.result = replace(run.result, profile=profile)
        run.mapped = True
        self._save_for_report(run)  # the report names the original layers too
        self.ops.refresh()
        if then_show:
            self.show_on_graph(run)

    def _map_failed(self, error) -> None:
        job, run, then_show = self._mapping
        self._mapping = None
        if then_show and run in self.runs:  # the converted model's op names still colour nothing; say why
            self.banner.show_message("The ops could not be matched to the original model's layers: "
                                     f"{plain(getattr(error, 'message', str(error)))}", "warning")

    def show_on_graph(self, run: Run) -> None:
        """The run's time per op as a heat map on the Nodes step's graph."""
        profile = profile_of(run)
        if profile is None or not profile.ops:
            return
        if run.earlier or not run.sha256:
            why = (f"it measured a file of {run.earlier}" if run.earlier else "its file was picked by hand, not converted here")
            self.banner.show_message(f"Run #{run.number} cannot be shown on the graph: {why}. Benchmark a file of "
                                     "the current conversion with “Profile each op” ticked.", "warning")
            return
        if any(o.source_nodes for o in profile.ops):
            self._to_graph(run)
        elif getattr(run, "mapped", False):
            self.banner.show_message(f"None of run #{run.number}'s ops could be matched to the original model's "
                                     "layers, so the graph has nothing to colour.", "warning")
        elif self._mapping is not None:
            self._mapping = (*self._mapping[:2], True)  # already naming them: show when done
        elif not self._map_profile(run, then_show=True):
            self.banner.show_message("Wait for the step under way to finish, then try again.", "warning")

    def _to_graph(self, run: Run) -> None:
        self.state.set_profile(run.label, profile_of(run), run.sha256)
        window = self.window()
        if hasattr(window, "go"):
            window.go(STEPS.index("Nodes"))

    def remove_run(self, run: Run) -> None:
        """Take a finished, stopped or failed run off the plots, the table, the baseline list and the report."""
        if run is self.active or run not in self.runs:
            return
        self.runs.remove(run)
        self.plots.remove_run(run)
        for path in run.saved:  # written by this page for the report: a removed run is not reported
            path.unlink(missing_ok=True)
        self.compare.removed(run)
        self.ops.set_runs(self.runs)
        last = self.runs[-1] if self.runs else None
        self.plots.show_histogram(last)
        self._show_stats(last)

    def _selected(self, run: Optional[Run]) -> None:
        """A run picked in the table: its statistics and distribution (while nothing is running)."""
        if run is not None and self.active is None and run.result is not None:
            self._show_stats(run)
            self.plots.show_histogram(run)
            self.ops.show_run(run)

    def _save_for_report(self, run: Run) -> None:
        """bench-<n>.json/.csv in the output folder, where the HTML report picks them up."""
        folder = Path(self.state.output_folder) if self.state.output_folder else None
        if folder is None or not folder.is_dir() or not run.n:
            return
        try:
            write_json(folder / f"bench-{run.number}.json", run.result)
            write_csv(folder / f"bench-{run.number}.csv", run.bench.samples.snapshot(), run.bench.warmup.snapshot())
            run.saved = [folder / f"bench-{run.number}.json", folder / f"bench-{run.number}.csv"]
        except OSError as exc:
            self.banner.show_message(f"The benchmark results could not be saved to {folder}: {exc}.", "warning")

    # -- showing
    def _name_stats(self, unit: str) -> None:
        for key, name in self.stat_names.items():
            words = key.replace("_ms", "").replace("_fps", "").replace("_", " ")
            name.setText(f"{words} ({unit}):" if key.endswith("_ms") else "per second:" if key.endswith("_fps") else f"{words}:")

    def _show_stats(self, run: Optional[Run]) -> None:
        d = run.result.to_dict() if run is not None and run.result else {}
        unit = unit_for(d.get("median_ms"))[0]  # one unit for the run: its times compare at a glance
        self._name_stats(unit)
        self.stats_box.setTitle(f"Run #{run.number}" if run is not None else "This run")
        for key, label in self.stat_labels.items():
            label.setText(in_unit(d.get(key), unit) if key.endswith("_ms") else fmt(d.get(key), 1))

    def shutdown(self) -> None:
        """Stop a running benchmark (window closing)."""
        if self.active is not None:
            self.active.bench.stop()
            self.active.bench.wait(10)


if __name__ == "__main__":
    import sys

    sys.exit(preview(BenchmarkPage))
