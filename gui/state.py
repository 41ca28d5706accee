"""The wizard's state: one core Plan (core/plan.py) and the results computed from it, with signals.

A page changes one part of the plan and gets a new plan; none reaches into another page (DESIGN.md).
Every result carries the plan key it was computed from. `current()` hands a page a result only when
that key matches the plan on screen; `stale()` hands back one that no longer matches, with a sentence
saying why, for a page that shows it greyed. A new model makes every earlier result stale at once."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QObject, Signal

from edgewizard.core.graph import ModelInfo
from edgewizard.core.steps import source_of
from edgewizard.core.plan import (ConvertOptions, LoadOptions, Plan, Selection, Source, conversion_key,
                                  default_output_dir, validation_key)

STEPS = ("Model", "Nodes", "Target", "Convert", "Verify", "Benchmark")
VALIDATION, CONVERSION, VERIFY = "validation", "conversion", "verify"


@dataclass(frozen=True)
class ConversionRequest:
    """The Convert step's part of the plan, as the Target page edits it."""

    targets: tuple[str, ...] = ()
    options: ConvertOptions = ConvertOptions()
    output_dir: str = ""
    force: bool = False


@dataclass(frozen=True)
class Outcome:
    """A result and the plan it was computed from (for saying what changed since)."""

    result: Any
    key: str
    plan: Plan
    folder: str = ""  # conversion: the folder its files were written to


def different(then: Plan, now: Plan) -> str:
    """Why a result computed for plan `then` does not belong to plan `now`, in words for a banner."""
    if then.source != now.source:
        return f"for a different model ({Path(then.source.path).name})"
    if then.selection != now.selection:
        return "for a different cut of this model"
    if then.devices != now.devices:
        return "for other devices"
    return "for other choices"


class WizardState(QObject):
    modelChanged = Signal()  # a new model was loaded (or unloaded)
    selectionChanged = Signal()
    requestChanged = Signal()  # targets, options, output folder or devices changed
    conversionChanged = Signal()  # a conversion finished, or the plan moved away from it
    validationChanged = Signal()  # device validation results arrived, or the plan moved away from them
    verifyChanged = Signal()
    layersChanged = Signal()  # a per-layer analysis arrived, or the conversion it belongs to went
    profileChanged = Signal()  # a per-op time profile arrived, or the conversion its file belongs to went
    changed = Signal()  # any of the above: step availability may have changed

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._plan = Plan()
        self._model: Optional[ModelInfo] = None
        self._force = False
        self._results: dict[str, Outcome] = {}
        self._layers = None  # the last per-layer analysis (core.quant.results.LayerReport), current or not
        self._profile = None  # (run label, core.bench.profile.Profile, sha256 of the profiled file), current or not
        for sig in (self.modelChanged, self.selectionChanged, self.requestChanged, self.conversionChanged,
                    self.validationChanged, self.verifyChanged, self.layersChanged, self.profileChanged):
            sig.connect(self.changed)
        # A per-layer analysis belongs to the file it analysed: whether that file is the current conversion's
        # changes exactly when the conversion does.
        self.conversionChanged.connect(lambda: self._layers is not None and self.layersChanged.emit())
        self.conversionChanged.connect(lambda: self._profile is not None and self.profileChanged.emit())

    # -- the plan
    @property
    def plan(self) -> Plan:
        return self._plan

    model = property(lambda self: self._model)
    source = property(lambda self: self._plan.source.path)
    load_options = property(lambda self: self._plan.source.load_options)
    selection = property(lambda self: self._plan.selection)
    devices = property(lambda self: self._plan.devices)

    @property
    def request(self) -> ConversionRequest:
        p = self._plan
        return ConversionRequest(p.targets, p.options, p.output_dir, self._force)

    def _set_plan(self, plan: Plan, *signals: Signal) -> None:
        before = {kind: self._current_key(kind) for kind in self._results}
        self._plan = plan
        for s in signals:
            s.emit()
        # Results whose part of the plan changed are no longer current: the pages showing them look again.
        moved = {kind for kind, key in before.items() if self._current_key(kind) != key}
        for kind, signal in ((VALIDATION, self.validationChanged), (CONVERSION, self.conversionChanged),
                             (VERIFY, self.verifyChanged)):
            if kind in moved:
                signal.emit()

    def set_model(self, source: str, load_options: LoadOptions, model: Optional[ModelInfo]) -> None:
        """A new model (as its inspect described it): the cut goes, the output folder becomes the new
        model's default, and every earlier result becomes stale. Devices, targets and options are kept."""
        self._model = model
        self._layers = None
        self._profile = None
        new = source_of(source, load_options, model) if source and model is not None else Source()
        plan = self._plan.with_source(new)
        if plan.options.keep_float:  # another model's layer names
            plan = plan.with_options(replace(plan.options, keep_float=()))
        self._set_plan(plan, self.modelChanged, self.selectionChanged, self.requestChanged)
        self.layersChanged.emit()
        self.profileChanged.emit()

    def set_selection(self, selection: Selection) -> None:
        if selection != self._plan.selection:
            self._set_plan(self._plan.with_selection(selection), self.selectionChanged)

    def set_request(self, request: ConversionRequest) -> None:
        p = self._plan
        new = p.with_targets(tuple(request.targets)).with_options(request.options).with_output_dir(request.output_dir)
        if new != p or request.force != self._force:
            self._force = request.force
            self._set_plan(new, self.requestChanged)

    def set_keep_float(self, nodes) -> None:
        """The original model's layers the int8 conversions keep in float (empty: none)."""
        options = replace(self._plan.options, keep_float=tuple(nodes))
        if options != self._plan.options:
            self._set_plan(self._plan.with_options(options), self.requestChanged)

    def set_devices(self, devices) -> None:
        if tuple(devices) != self._plan.devices:
            self._set_plan(self._plan.with_devices(tuple(devices)), self.requestChanged)

    # -- results, each with the key of the plan it came from
    def key(self, kind: str) -> str:
        return {VALIDATION: validation_key, CONVERSION: conversion_key}[kind](self._plan)

    def _store(self, kind: str, result: Any, key: str, plan: Plan, folder: str = "") -> None:
        if result is None:
            self._results.pop(kind, None)
        else:
            self._results[kind] = Outcome(result, key, plan, folder)

    def set_validation(self, reports, plan: Optional[Plan] = None) -> None:
        """Reports of a check started with `plan` (the plan now, when not given)."""
        reports = tuple(reports)
        plan = plan or self._plan
        key = reports[0].plan_key if reports and reports[0].plan_key else validation_key(plan)
        self._store(VALIDATION, reports or None, key, plan)
        self.validationChanged.emit()

    def set_manifest(self, manifest, plan: Optional[Plan] = None, folder: str = "") -> None:
        plan = plan or self._plan
        key = getattr(manifest, "plan_key", "") or conversion_key(plan)
        self._store(CONVERSION, manifest, key, plan, folder or plan.output_dir)
        self._results.pop(VERIFY, None)  # a verification of earlier files is not one of these
        self.conversionChanged.emit()
        self.verifyChanged.emit()

    def set_verify(self, report, plan: Optional[Plan] = None) -> None:
        conv = self.outcome(CONVERSION)
        self._store(VERIFY, report, conv.key if conv else "", plan or self._plan)
        self.verifyChanged.emit()

    def set_layers(self, report) -> None:
        """A per-layer analysis (core.quant.results.LayerReport) of one converted file."""
        self._layers = report
        self.layersChanged.emit()

    @property
    def last_layers(self):
        """The last per-layer analysis of this model, current or not (None after a new model)."""
        return self._layers

    def layers(self):
        """The per-layer analysis when the file it analysed is one of the current conversion's, else None."""
        report, manifest = self._layers, self.manifest
        if report is None or manifest is None or not report.sha256:
            return None
        ours = {f.sha256 for a in manifest.artifacts for f in a.files if f.sha256}
        return report if report.sha256 in ours else None

    def _current_files(self) -> set[str]:
        manifest = self.manifest
        return set() if manifest is None else {f.sha256 for a in manifest.artifacts for f in a.files if f.sha256}

    def set_profile(self, result_label: str, profile, model_file_sha256: str) -> None:
        """The per-op times (core.bench.profile.Profile) of one benchmark run, named by the run's label, of
        the model file with that sha256."""
        self._profile = (result_label, profile, model_file_sha256)
        self.profileChanged.emit()

    def profile(self):
        """(run label, Profile) while the profiled file is one of the current conversion's, else None."""
        if self._profile is None:
            return None
        label, profile, sha = self._profile
        return (label, profile) if sha and sha in self._current_files() else None

    def profile_sha256(self) -> str:
        """The sha256 of the file the current profile was measured on ("" when there is none or it is not current)."""
        return self._profile[2] if self._profile is not None and self.profile() is not None else ""

    def outcome(self, kind: str) -> Optional[Outcome]:
        return self._results.get(kind)

    def _current_key(self, kind: str) -> str:
        # A verification belongs to the conversion it checked: current while that conversion is.
        return self.key(CONVERSION if kind == VERIFY else kind)

    def current(self, kind: str) -> Any:
        """The result of `kind` when it was computed from the plan on screen, else None."""
        o = self._results.get(kind)
        return o.result if o is not None and o.key == self._current_key(kind) else None

    def stale(self, kind: str) -> Optional[tuple[Any, str]]:
        """(result, why) for a result that no longer matches the plan ("for a different model (a.h5)"),
        else None."""
        o = self._results.get(kind)
        if o is None or o.key == self._current_key(kind):
            return None
        return o.result, different(o.plan, self._plan)

    @property
    def manifest(self):
        return self.current(CONVERSION)

    @property
    def validation(self) -> tuple:
        return self.current(VALIDATION) or ()

    @property
    def output_folder(self) -> str:
        """Where the current conversion's files are (the folder they were written to)."""
        o = self._results.get(CONVERSION)
        return o.folder if o is not None and self.manifest is not None else self._plan.output_dir

    # -- which steps can be entered
    def why_not(self, step: str) -> Optional[str]:
        """None when `step` can be entered, else one sentence saying what it needs first."""
        p = self._plan
        if step == "Model":
            return None
        if self._model is None:
            return "Open a model first (step Model)."
        if step in ("Nodes", "Target"):
            return None
        if step == "Convert":
            if not p.targets:
                return "Choose at least one target first (step Target)."
            if not p.output_dir:
                return "Choose an output folder first (step Target)."
            return None
        if self.manifest is None:
            if self.stale(CONVERSION) is not None:
                return "Convert again first: the files made earlier are " + self.stale(CONVERSION)[1] + " (step Convert)."
            return "Convert the model first (step Convert)."
        return None


def converted_files(manifest, output_dir: str) -> list[tuple[Path, str]]:
    """(path, target) of each converted model (.tflite, OpenVINO .xml) a manifest lists, once per file."""
    return [] if manifest is None else manifest.converted_files(output_dir)


__all__ = ["STEPS", "ConversionRequest", "WizardState", "converted_files", "default_output_dir", "Outcome"]
