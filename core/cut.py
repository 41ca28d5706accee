"""Cut a loaded model to the sub-model between chosen nodes, with static input shapes.

OpenVINO cannot cut at internal nodes, so the cut is made once here and every converter receives
the resulting CutModel. Keras and TensorFlow graphs are cut for real (to a frozen GraphDef); the
other formats are taken whole, with their inputs fixed to static shapes."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import UserError
from .graph import FORMATS, Graph, TensorInfo, kept_nodes, resolve_node
from .loaders import LoadedModel
from .plan import CutModel, Selection
from .progress import ProgressFn, no_progress
from .shapes import static_shape


@dataclass(frozen=True)
class CutNodes:
    """What a selection means on the graph: the nodes chosen as inputs and outputs (resolved to node
    names) and the nodes the cut leaves out."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    removed: tuple[str, ...]


def cut_nodes(graph: Graph, selection: Selection) -> CutNodes:
    """The chosen nodes, named as the cut resolves them (a name the graph lacks is skipped), and the
    nodes outside kept_nodes (none when nothing is kept: a graph with no outputs to walk from)."""

    def resolve(names) -> tuple[str, ...]:
        found: list[str] = []
        for name in names:
            try:
                node = resolve_node(graph, name).name
            except UserError:
                continue  # a name typed elsewhere that this graph does not have: nothing to mark
            if node not in found:
                found.append(node)
        return tuple(found)

    ins, outs = resolve(selection.inputs), resolve(selection.outputs)
    keep = kept_nodes(graph, ins, outs)
    return CutNodes(ins, outs, tuple(n.name for n in graph.nodes if n.name not in keep) if keep else ())


def cut(loaded: LoadedModel, selection: Selection, workdir: Path, progress: ProgressFn = no_progress) -> CutModel:
    fmt = loaded.info.format
    chosen = len(selection.inputs) or len(loaded.info.graph.inputs)
    if chosen > 1 and any(n == "" for n, _ in selection.shapes):
        raise UserError("The cut has several inputs; say which input each shape is for.", cli_hint="--shape NAME=1,H,W,C")
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
