"""The parts of the plan (DESIGN.md, "How data flows"): how to load, what to cut, and the cut model.
The wizard keeps them, with the model and the conversion request, in gui/state.py's WizardSnapshot.

Each step is a plain function of these dataclasses; the GUI's pages and the CLI's subcommands both
build them. Everything pickles, so it crosses the worker-process boundary unchanged."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .graph import TensorInfo


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

