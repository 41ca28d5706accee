"""What a conversion target is, and the registry of them by name (`tflite-int8`, `edgetpu`, ...).

A target turns the CutModel into files in a private staging folder; run.py moves them into the
person's output folder only once they are complete, and records them in manifest.json."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

from ..calibrate import CalibrationSpec
from ..errors import UserError
from ..plan import CutModel
from .edgetpu_compiler import EdgeTpuOptions

IO_TYPES = ("uint8", "int8", "float32")


@dataclass(frozen=True)
class ConvertOptions:
    io_type: str = "uint8"  # input/output type of full-integer models; the Edge TPU expects uint8
    calibration: CalibrationSpec = CalibrationSpec()
    edgetpu: EdgeTpuOptions = EdgeTpuOptions()

    def __post_init__(self) -> None:
        if self.io_type not in IO_TYPES:
            raise UserError(f"--io-type must be one of {', '.join(IO_TYPES)}, not {self.io_type!r}.")


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


_REGISTRY: dict[str, Target] = {}
_ALIASES: dict[str, str] = {}


def register(target: Target, aliases: tuple[str, ...] = ()) -> Target:
    for name in (target.name, *aliases):
        if name in _REGISTRY or name in _ALIASES:
            raise ValueError(f"A conversion target named {name!r} is already registered.")
    _REGISTRY[target.name] = target
    for a in aliases:
        _ALIASES[a] = target.name
    return target


def targets() -> dict[str, Target]:
    _load_builtin()
    return dict(_REGISTRY)


def get_target(name: str) -> Target:
    _load_builtin()
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _REGISTRY:
        raise UserError(f"Unknown target {name!r}; choose from {', '.join(_REGISTRY)}.")
    return _REGISTRY[key]


_loaded = False


def _load_builtin() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        from . import edgetpu, openvino_int8, openvino_ir, tflite  # noqa: F401  (each registers its targets)
