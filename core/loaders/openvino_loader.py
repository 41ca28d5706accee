"""Open an OpenVINO IR model (.xml with its .bin beside it): one node per op, in execution order.

Reading an IR builds the op graph only; nothing is compiled for a device and nothing runs."""
from __future__ import annotations

import threading
from pathlib import Path

from ..doctor import explain
from ..errors import MissingDependency, UserError
from ..graph import Graph, ModelInfo, Node, TensorInfo
from . import LoadedModel

_core = None
_core_lock = threading.Lock()
_MAX_ATTR_LIST = 16  # attribute lists longer than this are summarised, not copied


def core():
    """The process's one openvino.Core (creating several is slow and wastes plugin memory)."""
    global _core
    with _core_lock:
        if _core is None:
            try:
                import openvino as ov
            except ImportError as exc:
                raise MissingDependency(
                    "Reading OpenVINO IR needs the openvino package; install it with pip install openvino."
                ) from exc
            _core = ov.Core()
        return _core


def load(path: Path, fmt: str, options, progress) -> LoadedModel:
    xml = Path(path)
    weights = xml.with_suffix(".bin")
    if not weights.is_file():
        raise UserError(
            f"The weights file {weights.name} is missing: the OpenVINO model {xml.name} needs it in the same "
            f"folder ({xml.parent}); copy the .bin file there."
        )
    ov_core = core()
    progress(0.2, "Reading the OpenVINO IR")
    try:
        model = ov_core.read_model(str(xml), str(weights))
    except Exception as exc:  # openvino raises RuntimeError subclasses with multi-line C++ traces
        raise explain(exc, "openvino", UserError(
            f"{xml} could not be read as an OpenVINO IR model ({_first_line(exc)}); "
            "check that the .xml and .bin come from the same export and are complete.",
            details=str(exc),
        ), context={"model": str(xml)}) from exc
    progress(0.7, "Listing the ops")
    graph, params = describe(model)
    notes = []
    if any(not t.is_static for t in graph.inputs):
        notes.append("Some inputs have dynamic dimensions; they must be fixed before converting for a device.")
    info = ModelInfo(
        path=str(xml), format="openvino_ir", graph=graph, param_count=params,
        size_bytes=xml.stat().st_size + weights.stat().st_size, notes=tuple(notes),
    )
    return LoadedModel(info=info, handle=model)


def describe(model) -> tuple[Graph, int]:
    """(graph, parameter count) of an ov.Model; also used for models converted in memory."""
    nodes = []
    params = 0
    for op in model.get_ordered_ops():
        kind = op.get_type_name()
        name = op.get_friendly_name()
        inputs = tuple(tensor_name(i.get_source_output()) for i in op.inputs())
        # A Result writes no new tensor: it only marks the tensor it reads as a model output.
        outputs = () if kind == "Result" else tuple(_tensor(o) for o in op.outputs())
        if kind == "Constant" and outputs and outputs[0].shape is not None:
            if op.get_output_element_type(0).is_real():
                params += _elements(outputs[0].shape)
        nodes.append(Node(name=name, op=kind, inputs=inputs, outputs=outputs, attrs=_attrs(op)))
    graph = Graph(
        nodes=tuple(nodes),
        inputs=tuple(_tensor(p.output(0)) for p in model.get_parameters()),
        outputs=tuple(_tensor(r.input(0).get_source_output()) for r in model.get_results()),
    )
    return graph, params


def tensor_name(output) -> str:
    """A tensor's name: its own when the IR gives it one, else "<producing op>:<port>"."""
    names = output.get_names()
    if names:
        return output.get_any_name()
    return f"{output.get_node().get_friendly_name()}:{output.get_index()}"


def _tensor(output) -> TensorInfo:
    return TensorInfo(name=tensor_name(output), shape=_shape(output.get_partial_shape()),
                      dtype=_dtype(output.get_element_type()))


def _shape(ps):
    if ps.rank.is_dynamic:
        return None
    return tuple(d.get_length() if d.is_static else None for d in ps)


def _dtype(t) -> str:
    try:
        return str(t.to_dtype())
    except Exception:  # types numpy has no name for (bf16, f8e4m3, dynamic) keep OpenVINO's
        return t.get_type_name()


def _elements(shape) -> int:
    n = 1
    for d in shape:
        n *= d if d is not None else 1
    return n


def _attrs(op) -> dict:
    out = {}
    try:
        raw = op.get_attributes()
    except Exception:  # some extension ops cannot list their attributes
        return out
    for key, value in raw.items():
        if hasattr(value, "tolist"):
            value = value.tolist()
        if isinstance(value, list):
            value = f"<{len(value)} values>" if len(value) > _MAX_ATTR_LIST else tuple(value)
        if isinstance(value, (bool, int, float, str, tuple)):
            out[key] = value
    return out


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("Check ") and "Exception from" not in line:
            # "Unable to read the model: "X" Please check that model format ... Available frontends: ..."
            return line.split(" Please check")[0].rstrip(".!")[:200]
    return text.splitlines()[0][:200] if text else type(exc).__name__
