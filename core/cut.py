"""Cut a loaded model to the sub-model between chosen nodes, with static input shapes.

OpenVINO cannot cut at internal nodes, so the cut is made once here and every converter receives
the resulting CutModel. Keras and TensorFlow graphs are cut for real (to a frozen GraphDef); the
other formats are taken whole, with their inputs fixed to static shapes."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from .errors import UserError
from .graph import FORMATS, TensorInfo, resolve_node
from .loaders import LoadedModel
from .plan import CutModel, Selection
from .progress import ProgressFn, no_progress


def static_shape(tensor: TensorInfo, given: Optional[tuple[int, ...]], label: Optional[str] = None) -> tuple[int, ...]:
    """The static shape an input gets: the one given, else its own with the batch fixed to 1.
    Any other unknown dimension must be given; a given shape must fit the known dimensions."""
    label = label or tensor.name
    own = tensor.shape
    if given is not None:
        given = tuple(int(d) for d in given)
        if any(d <= 0 for d in given):
            raise UserError(f"The shape given for input '{label}' ({_fmt(given)}) has a dimension that is not a positive number.")
        if own is not None:
            if len(own) != len(given):
                raise UserError(
                    f"Input '{label}' has {len(own)} dimensions {tensor.shape_text()}, but the shape given has {len(given)} ({_fmt(given)})."
                )
            for i, (o, g) in enumerate(zip(own, given)):
                if o is not None and o >= 0 and o != g and i > 0:
                    raise UserError(
                        f"Input '{label}' has dimension {i} fixed to {o} in the model, but the shape given says {g} ({_fmt(given)})."
                    )
        return given
    if own is None:
        raise UserError(f"Input '{label}' has an unknown shape; give one with --shape {label}=1,H,W,C.")
    shape = [1 if (i == 0 and (d is None or d < 0)) else d for i, d in enumerate(own)]
    if any(d is None or d < 0 for d in shape):
        example = ",".join("N" if d is None or d < 0 else str(d) for d in shape)
        raise UserError(
            f"Input '{label}' has dynamic dimensions {tensor.shape_text()}; give a static shape with --shape {label}={example} (N = the size you will feed)."
        )
    return tuple(shape)


def _fmt(shape) -> str:
    return ",".join(str(d) for d in shape)


def cut(loaded: LoadedModel, selection: Selection, workdir: Path, progress: ProgressFn = no_progress) -> CutModel:
    fmt = loaded.info.format
    chosen = len(selection.inputs) or len(loaded.info.graph.inputs)
    if chosen > 1 and any(n == "" for n, _ in selection.shapes):
        raise UserError("The cut has several inputs; name the input each --shape is for, as --shape NAME=1,H,W,C.")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if fmt in ("keras", "h5"):
        from .cut_keras import cut_keras

        return cut_keras(loaded, selection, workdir, progress)
    if fmt in ("frozen_pb", "meta", "savedmodel"):
        from .cut_graphdef import cut_graphdef

        return cut_graphdef(loaded, selection, workdir, progress)
    return _whole_model(loaded, selection)


def _whole_model(loaded: LoadedModel, selection: Selection) -> CutModel:
    """TFLite, OpenVINO IR and ONNX are converted whole: only their own inputs and outputs."""
    info = loaded.info
    graph = info.graph
    own_in = {t.name for t in graph.inputs}
    own_out = {t.name for t in graph.outputs}
    for wanted, own, role in ((selection.inputs, own_in, "input"), (selection.outputs, own_out, "output")):
        for name in wanted:
            if name in own:
                continue
            node = resolve_node(graph, name, role)
            if not any(t.name in own for t in node.outputs):
                raise UserError(
                    f"'{name}' is not one of the model's own {role}s, and a {FORMATS[info.format]} model cannot be cut at "
                    "internal nodes here; cut the original TensorFlow/Keras model instead."
                )
    inputs = tuple(
        TensorInfo(t.name, static_shape(t, selection.shape_for(t.name)), t.dtype) for t in graph.inputs
    )
    return CutModel(
        kind=info.format,
        path=info.path,
        inputs=inputs,
        outputs=graph.outputs,
        source_nodes={t.name: t.name for t in (*graph.inputs, *graph.outputs)},
        op_counts=graph.op_counts(),
    )
