"""Loads a TF2 SavedModel folder: one signature, its variables frozen to constants, into core.graph.
Shares the graph-reading helpers of tf_graph (frozen .pb, .meta), which dispatches here."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

from ..errors import UserError
from ..graph import Graph, ModelInfo
from ..plan import LoadOptions
from . import LoadedModel, file_size
from .tf_graph import (_VARIABLE_OPS, TFGraphHandle, _const_params, _first_line, _has_graph, _nodes, _read_bytes,
                       _tensor, _tensor_label)


def load_savedmodel(path: Path, options: LoadOptions, progress) -> LoadedModel:
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    sm = _read_saved_model_proto(path)
    needs_variables = any(n.op in _VARIABLE_OPS for m in sm.meta_graphs for n in m.graph_def.node) or any(
        node.HasField("variable") for m in sm.meta_graphs for node in m.object_graph_def.nodes)
    if needs_variables and not (path / "variables" / "variables.index").is_file():
        raise UserError(f"The SavedModel folder {path} has no variables (variables/variables.index is missing); "
                        "copy the whole folder, including its variables folder.")
    progress(0.2, "Loading the SavedModel")
    try:
        obj = tf.saved_model.load(str(path))
    except Exception as exc:  # TensorFlow raises many kinds here; all of them mean "this folder is bad"
        raise UserError(f"TensorFlow cannot load the SavedModel in {path} ({_first_line(exc).rstrip('.')}); a file in "
                        "the folder is damaged or incomplete, so copy or export the whole folder again.") from exc
    keys = list(obj.signatures.keys())
    chosen = _choose_signature(path, keys, options.signature)
    fn = obj.signatures[chosen]
    progress(0.5, f"Reading signature '{chosen}'")
    try:
        frozen = convert_variables_to_constants_v2(fn)
    except Exception as exc:
        raise UserError(f"The signature '{chosen}' of the SavedModel in {path} cannot be turned into a "
                        f"graph: {_first_line(exc)}") from exc
    g = frozen.graph
    aliases: dict[str, str] = {}
    input_keys = _flat_keys(fn.structured_input_signature[1], len(fn.inputs) - len(fn.captured_inputs), "input")
    input_ops = [t.op.name for t in fn.inputs[: len(input_keys)]]
    aliases.update({k: op for k, op in zip(input_keys, input_ops) if k != op})
    output_keys = _flat_keys(fn.structured_outputs, len(fn.outputs), "output")
    output_tensors = [g.get_tensor_by_name(t.name) for t in fn.outputs]
    aliases.update({k: _tensor_label(t) for k, t in zip(output_keys, output_tensors)})
    roles = {op: {"signature_input": k} for k, op in zip(input_keys, input_ops)}
    roles.update({t.op.name: {"signature_output": k} for k, t in zip(output_keys, output_tensors)})
    nodes = tuple(replace(n, attrs={**n.attrs, **roles[n.name]}) if n.name in roles else n for n in _nodes(g))
    inputs = tuple(_tensor(g.get_operation_by_name(op).outputs[0]) for op in input_ops)
    outputs = tuple(_tensor(t) for t in output_tensors)
    graph = Graph(nodes=nodes, inputs=inputs, outputs=outputs)
    params = _const_params(tf, frozen.graph.as_graph_def())  # the variables the signature reads, now constants
    notes = [f"Signature '{chosen}': " + "; ".join(
        [f"input {k} is op '{op}'" for k, op in zip(input_keys, input_ops)]
        + [f"output {k} is '{_tensor_label(t)}'" for k, t in zip(output_keys, output_tensors)])]
    info = ModelInfo(path=str(path), format="savedmodel", graph=graph, param_count=params,
                     size_bytes=file_size(path), signatures=tuple([chosen] + [k for k in keys if k != chosen]),
                     notes=tuple(notes))
    return LoadedModel(info=info, handle=TFGraphHandle("savedmodel", g.as_graph_def(), aliases=aliases))


def _flat_keys(structure, count: int, kind: str) -> list[str]:
    """Signature keys in the order of the function's flat tensors (tf.nest sorts dict keys)."""
    if isinstance(structure, dict) and len(structure) == count:
        return sorted(structure)
    return [f"{kind}_{i}" for i in range(count)]


def _read_saved_model_proto(path: Path):
    from google.protobuf import message, text_format
    from tensorflow.core.protobuf import saved_model_pb2

    pb, pbtxt = path / "saved_model.pb", path / "saved_model.pbtxt"
    try:
        if pb.is_file():
            sm = saved_model_pb2.SavedModel.FromString(_read_bytes(pb))
        else:
            sm = text_format.Parse(_read_bytes(pbtxt).decode("utf-8"), saved_model_pb2.SavedModel())
    except (message.DecodeError, text_format.ParseError, UnicodeDecodeError) as exc:
        raise UserError(f"The SavedModel folder {path} has a damaged saved_model file; export the model again."
                        ) from exc
    if not any(_has_graph(m.graph_def) for m in sm.meta_graphs):
        raise UserError(f"The SavedModel folder {path} has a saved_model file with no graph in it; "
                        "export the model again.")
    return sm


def _choose_signature(path: Path, keys: list[str], wanted: Optional[str]) -> str:
    listing = ", ".join(repr(k) for k in keys)
    if not keys:
        raise UserError(f"The SavedModel in {path} has no signatures, so its inputs and outputs are unknown; "
                        "export it with a serving signature (tf.saved_model.save(..., signatures=...) "
                        "or model.export()).")
    if wanted:
        if wanted not in keys:
            raise UserError(f"The SavedModel in {path} has no signature '{wanted}'; it has {listing}.")
        return wanted
    if "serving_default" in keys:
        return "serving_default"
    if len(keys) == 1:
        return keys[0]
    raise UserError(f"The SavedModel in {path} has several signatures ({listing}) and none is 'serving_default'; "
                    "choose one (--signature NAME).")
