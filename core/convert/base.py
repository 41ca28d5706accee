"""What a conversion target is, and the registry of them by name (`tflite-int8`, `edgetpu`, ...).

A target turns the CutModel into files in a private staging folder; run.py moves them into the
person's output folder only once they are complete, and records them in manifest.json."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

from ..devices import find
from ..errors import MissingDependency, UserError
from ..plan import IO_TYPES, ConvertOptions, CutModel  # noqa: F401  (ConvertOptions, IO_TYPES: re-exported, their old home)
from ..registry import Choice, Registry

@dataclass
class TargetJob:
    """Everything a target needs for one conversion."""

    cut: CutModel
    stem: str  # base of output names: "<stem>_int8.tflite"
    staging: Path  # write here; run.py moves finished files out
    options: ConvertOptions
    progress: Callable[[Optional[float], str], None]
    shared: dict = field(default_factory=dict)  # results one target can reuse from another (int8 bytes)
    calibration: Any = None  # list of samples (lazily loaded once for all targets; see calibration_data())
    original: Any = None  # the loaded model's Graph: keep-float names its nodes (core/quant/keep_float.py)
    _calibration_loader: Optional[Callable[[], Any]] = None

    def calibration_data(self):
        if self.calibration is None and self._calibration_loader is not None:
            self.calibration = self._calibration_loader()
        return self.calibration


@dataclass
class ArtifactResult:
    files: list[Path]  # in staging, in the order a person should look at them
    op_counts: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    status: str = "ok"  # "ok", or for edgetpu "compiled" / "not_compiled"
    details: dict = field(default_factory=dict)  # target-specific: compiler log, precision facts


class Target(Protocol):
    name: str
    title: str  # plain words for the GUI and --help
    needs_calibration: bool

    def output_names(self, stem: str) -> list[str]: ...

    def convert(self, job: TargetJob) -> ArtifactResult: ...


def register(target: Target, aliases: tuple[str, ...] = ()) -> Target:
    return REGISTRY.register(target, aliases)


def targets() -> dict[str, Target]:
    return REGISTRY.items()


def get_target(name: str) -> Target:
    """The target of this name or alias; a device's name (myriad, coral) gives the target it runs first."""
    target = REGISTRY.find(name)
    if target is None:
        device = find(name)
        target = REGISTRY.find(device.default_target) if device is not None and device.default_target else None
    if target is None:
        raise UserError(f"Unknown target {name!r}; choose from {', '.join(REGISTRY.items())}.")
    return target


def target_choices() -> list[Choice]:
    """Every target, and for one that cannot be used here why not."""
    return [Choice(t.name, t.title, not isinstance(t, UnavailableTarget), getattr(t, "why", ""))
            for t in targets().values()]


@dataclass(frozen=True)
class UnavailableTarget:
    """Stands in for a target whose module could not be imported: converting to it says why."""

    name: str
    why: str
    needs_calibration: bool = False

    @property
    def title(self) -> str:
        return f"{self.name} (cannot be used here)"

    def output_names(self, stem: str) -> list[str]:
        return []

    def error(self) -> MissingDependency:
        return MissingDependency(f"The {self.name} target cannot be used here: {self.why}.")

    def convert(self, job: TargetJob) -> ArtifactResult:
        raise self.error()


# The built-in target modules and the targets each registers, so that a module that fails to import
# still lists its targets, with the reason.
_BUILTIN = (
    (f"{__package__}.edgetpu", ("edgetpu",)),
    (f"{__package__}.openvino_int8", ("openvino-int8",)),
    (f"{__package__}.openvino_ir", ("openvino-fp32", "openvino-fp16")),
    (f"{__package__}.tflite", ("tflite-float", "tflite-fp16", "tflite-dynamic", "tflite-int8")),
)
REGISTRY = Registry("conversion target", _BUILTIN, UnavailableTarget)
