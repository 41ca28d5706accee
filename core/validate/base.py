"""What a device validator is, and the registry of them by device name ("edgetpu", "openvino:CPU").

A validator judges the cut model for one device and returns a ValidationReport. One that cannot
run here (a library missing) is listed as unavailable with the reason; it never breaks the list."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional, Protocol

from ..calibrate import SYNTHETIC, CalibrationSpec
from ..convert.base import ConvertOptions, TargetJob
from ..devices import by_validator
from ..errors import UserError
from ..graph import Graph, close_matches
from ..plan import CutModel
from ..progress import ProgressFn
from ..registry import Choice, Registry
from .report import ValidationReport

DeviceChoice = Choice  # one entry of the device list the GUI and `--help` show
# The op list of a model does not depend on how much calibration data there is; a few samples
# make the int8 model as fast as possible.
VALIDATION_SAMPLES = 8


@dataclass
class ValidationContext:
    """Everything a validator needs; one per validate() call, shared by all devices."""

    cut: CutModel
    original: Graph  # the loaded model's graph, for mapping verdicts back
    options: ConvertOptions
    workdir: Path
    progress: ProgressFn
    run_compiler: bool = True  # use edgetpu_compiler when installed
    shared: dict = field(default_factory=dict)  # conversions reused between devices (int8 bytes, ov.Model)
    _job: Optional[TargetJob] = None
    _mapper: Optional[Callable[[str], tuple[str, ...]]] = None

    @property
    def calibration_given(self) -> bool:
        return self.options.calibration.given and not self.options.calibration.synthetic

    def target_job(self) -> TargetJob:
        """A conversion job sharing this context's cache; calibration capped at a few samples, and
        synthetic when none was given (validation needs the op list, not accurate int8 ranges)."""
        if self._job is None:
            from ..calibrate import load_calibration

            spec = self.options.calibration
            if not spec.given:
                spec = CalibrationSpec(sources=((None, SYNTHETIC),))
            spec = replace(spec, samples=min(spec.samples, VALIDATION_SAMPLES))
            options = replace(self.options, calibration=spec)
            job = TargetJob(cut=self.cut, stem="validate", staging=self.workdir, options=options,
                            progress=self.progress, shared=self.shared, original=self.original)
            job._calibration_loader = lambda: load_calibration(spec, self.cut.inputs)
            self._job = job
        self._job.progress = self.progress
        return self._job

    def source_nodes(self, name: str) -> tuple[str, ...]:
        if self._mapper is None:
            from .source_map import mapper

            self._mapper = mapper(self.original, self.cut)
        return self._mapper(name)



class Validator(Protocol):
    name: str  # registry key: "edgetpu"
    title: str  # plain words: "Coral Edge TPU"

    def availability(self) -> Optional[str]:
        """None when this validator can run here, else why not (cheap: imports nothing heavy)."""

    def validate(self, ctx: ValidationContext) -> ValidationReport: ...


def converter_reason(exc: BaseException) -> str:
    """The line of a converter's long error log that says why (with the line after it when it
    ends in a colon), at most 300 characters."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if not lines:
        return type(exc).__name__
    keys = ("error", "failed", "unresolved", "not supported")
    i = next((k for k, ln in enumerate(lines) if any(w in ln.lower() for w in keys)), 0)
    text = lines[i]
    if text.endswith(":") and i + 1 < len(lines):
        text = f"{text} {lines[i + 1]}"
    return text[:300]


def register(validator: Validator, aliases: tuple[str, ...] = ()) -> Validator:
    return REGISTRY.register(validator, aliases)


def validators() -> dict[str, Validator]:
    return REGISTRY.items()


def get_validator(name: str) -> Validator:
    validator = REGISTRY.find(name)
    if validator is None:
        names = list(REGISTRY.items())
        hints = close_matches(name, names)
        hint = f" Did you mean {', '.join(hints)}?" if hints else ""
        raise UserError(f"Unknown device {name!r}; choose from {', '.join(names)}.{hint}")
    return validator


def device_choices() -> list[DeviceChoice]:
    out = []
    for v in validators().values():
        try:
            why = v.availability()
        except Exception as exc:  # noqa: BLE001 - a broken check makes the device unavailable, not the list
            why = f"its availability check failed ({type(exc).__name__}: {exc})"
        out.append(DeviceChoice(v.name, v.title, why is None, why or ""))
    return out


def missing_module(*modules: str) -> Optional[str]:
    """The first of `modules` that cannot be imported, as a reason sentence, without importing it."""
    for m in modules:
        try:
            found = importlib.util.find_spec(m) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return f"the Python package '{m}' is not installed"
    return None


@dataclass(frozen=True)
class UnavailableValidator:
    """Stands in for a validator whose module could not be imported."""

    name: str
    title: str
    why: str

    def availability(self) -> Optional[str]:
        return self.why

    def validate(self, ctx: ValidationContext) -> ValidationReport:
        from .report import unavailable

        return unavailable(self.name, self.title, self.why)


# The built-in validator modules and the validators each registers, so that a module that fails to
# import still lists its devices (titled from the device catalogue), with the reason.
_BUILTIN = (
    (f"{__package__}.edgetpu", ("edgetpu",)),
    (f"{__package__}.openvino_devices", ("myriad", "openvino:CPU", "openvino:GPU", "openvino:NPU")),
    (f"{__package__}.tflite_cpu", ("tflite:CPU",)),
)


def _stand_in(name: str, why: str) -> "UnavailableValidator":
    found = by_validator(name)
    return UnavailableValidator(name, found.title if found else name, why)


REGISTRY = Registry("device validator", _BUILTIN, _stand_in)


def report_for(validator: Validator, ctx: ValidationContext) -> ValidationReport:
    """Run one validator, turning unavailability into a report rather than an error."""
    from .report import unavailable

    why = validator.availability()
    if why is not None:
        return unavailable(validator.name, validator.title, f"{validator.title} cannot be checked here: {why}.")
    return validator.validate(ctx)


_KIND_WORDS = {"onnx": "an ONNX model", "openvino_ir": "an OpenVINO IR model", "tflite": "a TensorFlow Lite model",
               "graphdef": "a TensorFlow graph"}


def kind_words(kind: str) -> str:
    """'an ONNX model' for a cut's kind, as a sentence names it."""
    return _KIND_WORDS.get(kind, f"a {kind} model")
