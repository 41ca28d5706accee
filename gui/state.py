"""The wizard's state: the core plan plus what the Target and Convert steps chose, with signals.

Pages read it and change one part each; none reaches into another page (DESIGN.md)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, Signal

from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.graph import ModelInfo
from edgewizard.core.plan import LoadOptions, Selection

STEPS = ("Model", "Nodes", "Target", "Convert", "Verify", "Benchmark")


@dataclass(frozen=True)
class ConversionRequest:
    targets: tuple[str, ...] = ()
    options: ConvertOptions = ConvertOptions()
    output_dir: str = ""
    force: bool = False


@dataclass(frozen=True)
class WizardSnapshot:
    source: str = ""
    load_options: LoadOptions = LoadOptions()
    model: Optional[ModelInfo] = None
    selection: Selection = Selection()
    request: ConversionRequest = ConversionRequest()
    manifest: Optional[dict] = field(default=None, compare=False)
    validation: tuple = field(default=(), compare=False)  # core.validate ValidationReports, newest check


class WizardState(QObject):
    modelChanged = Signal()  # a new model was loaded (or unloaded)
    selectionChanged = Signal()
    requestChanged = Signal()
    conversionChanged = Signal()  # a conversion finished (manifest) or was reset
    validationChanged = Signal()  # device validation results arrived or were reset
    changed = Signal()  # any of the above: step availability may have changed

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._s = WizardSnapshot()
        for sig in (self.modelChanged, self.selectionChanged, self.requestChanged, self.conversionChanged):
            sig.connect(self.changed)

    # -- reading
    @property
    def snapshot(self) -> WizardSnapshot:
        return self._s

    source = property(lambda self: self._s.source)
    load_options = property(lambda self: self._s.load_options)
    model = property(lambda self: self._s.model)
    selection = property(lambda self: self._s.selection)
    request = property(lambda self: self._s.request)
    manifest = property(lambda self: self._s.manifest)
    validation = property(lambda self: self._s.validation)

    # -- changing
    def set_model(self, source: str, load_options: LoadOptions, model: Optional[ModelInfo]) -> None:
        out = self._s.request.output_dir or (default_output_dir(source) if source else "")
        self._s = WizardSnapshot(source=source, load_options=load_options, model=model,
                                 request=replace(self._s.request, output_dir=out))
        self.modelChanged.emit()
        self.selectionChanged.emit()
        self.conversionChanged.emit()

    def set_selection(self, selection: Selection) -> None:
        if selection != self._s.selection:
            self._s = replace(self._s, selection=selection, manifest=None, validation=())
            self.selectionChanged.emit()
            self.validationChanged.emit()

    def set_request(self, request: ConversionRequest) -> None:
        if request != self._s.request:
            self._s = replace(self._s, request=request)
            self.requestChanged.emit()

    def set_validation(self, reports) -> None:
        self._s = replace(self._s, validation=tuple(reports))
        self.validationChanged.emit()

    def set_manifest(self, manifest: Optional[dict]) -> None:
        self._s = replace(self._s, manifest=manifest)
        self.conversionChanged.emit()

    # -- which steps can be entered
    def why_not(self, step: str) -> Optional[str]:
        """None when `step` can be entered, else one sentence saying what it needs first."""
        s = self._s
        if step == "Model":
            return None
        if s.model is None:
            return "Open a model first (step Model)."
        if step in ("Nodes", "Target"):
            return None
        if step == "Convert":
            if not s.request.targets:
                return "Choose at least one target first (step Target)."
            if not s.request.output_dir:
                return "Choose an output folder first (step Target)."
            return None
        if s.manifest is None:
            return "Convert the model first (step Convert)."
        return None


def converted_files(manifest: Optional[dict], output_dir: str) -> list[tuple[Path, str]]:
    """(path, target) of each converted model (.tflite, OpenVINO .xml) a manifest lists, in its order,
    once per file even when several targets share it (edgetpu and tflite-int8 share the int8 model)."""
    seen: dict[Path, str] = {}
    for a in (manifest or {}).get("artifacts", []):
        for f in a["files"]:
            if f["name"].endswith((".tflite", ".xml")):
                seen.setdefault(Path(output_dir) / f["name"], a["target"])
    return list(seen.items())


def default_output_dir(source: str) -> str:
    p = Path(source)
    return str(p.parent / f"{p.name if p.is_dir() else p.stem}_edgewizard")
