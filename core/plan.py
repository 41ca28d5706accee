"""The plan (DESIGN.md, "How data flows"): what to open, what to cut, where it should run, how to convert.

`Plan` holds every part; each step (core/steps.py) takes a plan and stamps its result with the key of
the parts it depends on (`validation_key`, `conversion_key`, `verify_key`, `bench_key`), so a result
can be told apart from one computed for another model or other choices. The GUI keeps one plan and
swaps it for a new one on every change (`with_source`, `with_selection`, ...); the CLI builds one from
its flags. Everything is frozen and pickles, so it crosses the worker-process boundary unchanged."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

from .calibrate import CalibrationSpec
from .convert.edgetpu_compiler import EdgeTpuOptions
from .errors import UserError
from .graph import TensorInfo

IO_TYPES = ("uint8", "int8", "float32")


@dataclass(frozen=True)
class LoadOptions:
    """How to open a model file."""

    custom_objects: Optional[str] = None  # path of a Python file defining custom layers (runs it!)
    allow_unsafe: bool = False  # allow Keras Lambda layers, whose code runs on load
    signature: Optional[str] = None  # SavedModel signature; default "serving_default"


@dataclass(frozen=True)
class Selection:
    """What to convert: between which nodes, with which static input shapes.

    Empty `inputs`/`outputs` mean the model's own. `shapes` maps an input name to a full static
    shape; an input left out gets its own shape with the batch fixed to 1."""

    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    shapes: tuple[tuple[str, tuple[int, ...]], ...] = ()  # ((name, shape), ...): hashable

    def shape_for(self, name: str) -> Optional[tuple[int, ...]]:
        """The shape given for input `name`; a shape given without a name ("") fits the only input."""
        for n, s in self.shapes:
            if n == name:
                return s
        for n, s in self.shapes:
            if n == "":
                return s
        return None


@dataclass(frozen=True)
class CutModel:
    """The sub-model every converter receives (cut.py makes it).

    kind "graphdef": `path` is a frozen TensorFlow GraphDef (.pb) whose placeholders are exactly
    `inputs` (static shapes) and whose `outputs` are op names in it. Other kinds ("tflite",
    "openvino_ir", "onnx") are the source file itself, used whole with `inputs` fixed to static
    shapes."""

    kind: str
    path: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    source_nodes: dict = field(default_factory=dict, compare=False, hash=False)  # cut name -> node named by the user
    removed_inputs: tuple[str, ...] = ()  # model inputs the cut dropped (nothing chosen depends on them)
    op_counts: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class ConvertOptions:
    """How to convert (and what validation judges): int8 in/out type, calibration, Edge TPU compiler flags.
    Here rather than in convert/base.py (which re-exports it) because the plan holds it."""

    io_type: str = "uint8"  # input/output type of full-integer models; the Edge TPU expects uint8
    calibration: CalibrationSpec = CalibrationSpec()
    edgetpu: EdgeTpuOptions = EdgeTpuOptions()
    # The original model's nodes the int8 targets keep in float (core/quant/keep_float.py), as the person or the
    # accuracy-budget search named them; sorted, so the same choice made in another order is the same plan.
    keep_float: tuple[str, ...] = ()
    keep_float_why: str = ""  # how they were chosen, for the manifest ("" = by hand); not part of any plan key

    def __post_init__(self) -> None:
        if self.io_type not in IO_TYPES:
            raise UserError(f"The input and output type must be one of {', '.join(IO_TYPES)}, not {self.io_type!r}.",
                            cli_hint="--io-type")
        names = tuple(sorted({str(n).strip() for n in self.keep_float if str(n).strip()}))
        if names != self.keep_float:
            object.__setattr__(self, "keep_float", names)


@dataclass(frozen=True)
class Source:
    """The model file: where it is, what format, its content's SHA-256 (core/files.py sha256_of), how to open it."""

    path: str = ""
    format: str = ""
    sha256: str = ""
    load_options: LoadOptions = LoadOptions()


def default_output_dir(source: str) -> str:
    """Where a model's conversions go unless the person chooses: beside it, "<name>_edgewizard"."""
    p = Path(source)
    return str(p.parent / f"{p.name if p.is_dir() else p.stem}_edgewizard")


@dataclass(frozen=True)
class Plan:
    source: Source = Source()
    selection: Selection = Selection()
    devices: tuple[str, ...] = ()  # validation's registry names: "edgetpu", "myriad", "openvino:CPU", ...
    targets: tuple[str, ...] = ()  # conversion target names: "tflite-int8", "edgetpu", ...
    options: ConvertOptions = ConvertOptions()
    output_dir: str = ""

    def with_source(self, source: Source) -> "Plan":
        """Another model: its cut and output folder start afresh (no folder without a model); devices, targets
        and options are kept."""
        out = default_output_dir(source.path) if source.path else ""
        return replace(self, source=source, selection=Selection(), output_dir=out)

    def with_selection(self, selection: Selection) -> "Plan":
        return replace(self, selection=selection)

    def with_devices(self, devices) -> "Plan":
        return replace(self, devices=tuple(devices))

    def with_targets(self, targets) -> "Plan":
        return replace(self, targets=tuple(targets))

    def with_options(self, options: ConvertOptions) -> "Plan":
        return replace(self, options=options)

    def with_output_dir(self, output_dir: str) -> "Plan":
        return replace(self, output_dir=str(output_dir))


# -- plan keys: which parts of the plan each result depends on

def stable_key(*parts) -> str:
    """16 hex digits of the SHA-256 of the parts' canonical JSON: equal parts, equal key, in any process."""
    from .codec import to_data

    text = json.dumps(to_data(list(parts)), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _source_part(source: Source) -> tuple:
    # The format follows from the file; the content's hash tells an edited file from the one checked.
    return source.path, source.sha256, source.load_options


def _options_part(options: ConvertOptions) -> ConvertOptions:
    # Why layers are kept in float changes no result; which layers are kept does.
    return replace(options, keep_float_why="")


def validation_key(plan: Plan) -> str:
    """Validation depends on the source (path, sha256, load options), the selection (the cut), the
    devices (as a set: the order they were ticked in does not change a verdict) and the conversion
    options, because the Edge TPU is judged on the model converted with them (calibration data, int8
    input/output type, compiler flags). The targets (which precision menu item is chosen) are not part of it."""
    return stable_key("validation", _source_part(plan.source), plan.selection, sorted(set(plan.devices)),
                      _options_part(plan.options))


def conversion_key(plan: Plan) -> str:
    """Conversion depends on the source, the selection, the targets (as a set) and the conversion options
    (io type, calibration, Edge TPU compiler options); not on the output folder (the same files anywhere)."""
    return stable_key("conversion", _source_part(plan.source), plan.selection, sorted(set(plan.targets)),
                      _options_part(plan.options))


def verify_key(artifact_sha256: str, data: str, thresholds) -> str:
    """A verification depends on the converted file's content (which itself came from a conversion's plan),
    the data it was checked on (its one-line description) and the thresholds that flag it."""
    return stable_key("verify", artifact_sha256, data, thresholds)


def bench_key(artifact_sha256: str, device: str, settings) -> str:
    """A benchmark depends on the file run, the device it ran on and the bench's settings (any dataclass or dict:
    count or seconds, warm-up, threads, precision, data)."""
    return stable_key("bench", artifact_sha256, device, settings)

