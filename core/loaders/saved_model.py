"""Loads a SavedModel folder of any TensorFlow/Keras era: one signature, its variables frozen to constants, into
core.graph. TensorFlow's object loader is tried first; when it cannot revive the folder's objects (a Keras 2
optimizer without tf_keras, an object this TensorFlow no longer knows), the signature is read from the MetaGraph
in a TF1 session, which needs no objects. Shares the graph-reading helpers of tf_graph, which dispatches here."""
from __future__ import annotations

import itertools
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Optional

from ..doctor import exception_text, explain
from ..errors import UserError
from ..graph import Graph, ModelInfo
from ..plan import LoadOptions
from . import LoadedModel, file_size
from .tf_graph import (_VARIABLE_OPS, TFGraphHandle, _const_params, _first_line, _has_graph, _nodes, _read_bytes,
                       _tensor, _tensor_label, _tf_reason)

_INIT_OP_KEY = "__saved_model_init_op"  # TF2 keeps its init op among the signatures; it is not one
_SERVE_TAG = "serve"
_LOADS = itertools.count(1)
_VALID_OP_NAME = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.\-/>]*")  # TensorFlow's rule for node names


def load_savedmodel(path: Path, options: LoadOptions, progress) -> LoadedModel:
    sm = _read_saved_model_proto(path)
    needs_variables = any(n.op in _VARIABLE_OPS for m in sm.meta_graphs for n in m.graph_def.node) or any(
        node.HasField("variable") for m in sm.meta_graphs for node in m.object_graph_def.nodes)
    if needs_variables and not (path / "variables" / "variables.index").is_file():
        raise UserError(f"The SavedModel folder {path} has no variables (variables/variables.index is missing); "
                        "copy the whole folder, including its variables folder.")
    meta = _meta_graph(sm, options.signature)
    keys = _signature_keys(meta)
    chosen = _choose_signature(path, keys, options.signature)
    tags = list(meta.meta_info_def.tags) if len(sm.meta_graphs) > 1 else None
    progress(0.2, "Loading the SavedModel")
    try:
        g, inputs, outputs = _by_object_loader(path, tags, chosen)
        note = "Loaded by TensorFlow's object loader (tf.saved_model.load)"
        if _has_optimizer(meta) and "tf_keras" in sys.modules:
            note += "; tf_keras revived its Keras 2 optimizer"
    except Exception as first:  # TensorFlow raises many kinds here; the MetaGraph may still be whole
        progress(0.4, "Reading the signature's MetaGraph instead")
        try:
            g, inputs, outputs = _by_metagraph(path, meta, chosen)
        except UserError:
            raise
        except Exception as exc:
            raise explain(f"{exception_text(first)}\n{exception_text(exc)}", "tensorflow", UserError(
                f"TensorFlow cannot load the SavedModel in {path} ({_tf_reason(exc)}); a file in the folder is damaged "
                "or incomplete, so copy or export the whole folder again.",
                details=f"Object loader: {first}\n\nMetaGraph loader: {exc}"), {"model": path.name}) from exc
        why = _first_line(first).rstrip(".")
        if _has_optimizer(meta) and "tf_keras" not in sys.modules:
            why += ", as tf_keras is not installed"
        note = (f"Loaded from the MetaGraph of signature '{chosen}' in a TF1 session (variables restored, then "
                f"frozen), because TensorFlow's object loader failed ({why})")
    progress(0.6, f"Reading signature '{chosen}'")
    return _loaded(path, g, chosen, keys, inputs, outputs, note)


def _by_object_loader(path: Path, tags: Optional[list], chosen: str):
    """The signature frozen through the revived objects: (graph, [(key, input op)], [(key, output tensor)])."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    obj = tf.saved_model.load(str(path), tags=tags)
    fn = obj.signatures[chosen]
    frozen = convert_variables_to_constants_v2(fn)
    g = frozen.graph
    input_keys = _flat_keys(fn.structured_input_signature[1], len(fn.inputs) - len(fn.captured_inputs), "input")
    input_ops = [t.op.name for t in fn.inputs[: len(input_keys)]]
    output_keys = _flat_keys(fn.structured_outputs, len(fn.outputs), "output")
    outputs = [g.get_tensor_by_name(t.name) for t in fn.outputs]
    return g, list(zip(input_keys, input_ops)), list(zip(output_keys, outputs))


def _by_metagraph(path: Path, meta, chosen: str):
    """The same, from the MetaGraph alone: variables restored by its own saver in a TF1 session (its init ops are
    not run) and frozen, then the signature pruned out and its function calls inlined like the object loader's."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    sig = meta.signature_def[chosen]
    input_keys, output_keys = sorted(sig.inputs), sorted(sig.outputs)
    composite = ([k for k in input_keys if not sig.inputs[k].name]
                 + [k for k in output_keys if not sig.outputs[k].name])
    if composite:
        raise UserError(f"The signature '{chosen}' of the SavedModel in {path} has sparse or composite tensors "
                        f"({', '.join(composite)}), which EdgeWizard cannot convert; export a signature of plain "
                        "tensors.")
    in_names = [sig.inputs[k].name for k in input_keys]
    out_names = [sig.outputs[k].name for k in output_keys]
    with tf.Graph().as_default() as graph, tf.compat.v1.Session(graph=graph) as sess:
        saver = tf.compat.v1.train.import_meta_graph(meta, clear_devices=True)
        if saver is not None:
            saver.restore(sess, str(path / "variables" / "variables"))
        gd = tf.compat.v1.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), sorted({n.split(":")[0] for n in out_names}))
    _rename_functions(gd, f"_ew{next(_LOADS)}")
    wrapped = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(gd, name=""), [])
    pruned = wrapped.prune([wrapped.graph.get_tensor_by_name(n) for n in in_names],
                           [wrapped.graph.get_tensor_by_name(n) for n in out_names])
    inlined = convert_variables_to_constants_v2(pruned).graph.as_graph_def()
    input_ops = _name_inputs_by_key(inlined, dict(zip(input_keys, (t.op.name for t in pruned.inputs))))
    with tf.Graph().as_default() as g:
        tf.compat.v1.import_graph_def(inlined, name="")
        # The signature's outputs are those of one IdentityN, which OpenVINO merges where two are alike: one
        # Identity each, named as the object loader names them.
        outputs = [tf.identity(g.get_tensor_by_name(t.name), name="Identity") for t in pruned.outputs]
    return g, list(zip(input_keys, input_ops)), list(zip(output_keys, outputs))


def _name_inputs_by_key(gd, ops: dict) -> list[str]:
    """Renames the placeholders TF2 calls "serving_default_<key>" to the key, as the object loader names them, so
    that a model's input names (in --shape, --calib, --data) do not depend on the loader; a name taken stays."""
    taken = {n.name for n in gd.node}
    new = {op: key for key, op in ops.items() if op != key and key not in taken and _VALID_OP_NAME.fullmatch(key)}
    for node in gd.node:
        node.name = new.get(node.name, node.name)
        node.input[:] = [_renamed(i, new) for i in node.input]
    return [new.get(op, op) for op in ops.values()]


def _renamed(tensor: str, new: dict) -> str:
    control, name = ("^", tensor[1:]) if tensor.startswith("^") else ("", tensor)
    op, colon, index = name.partition(":")
    return control + new.get(op, op) + colon + index


def _rename_functions(gd, suffix: str) -> None:
    """Gives the graph's functions names of their own: wrap_function registers them in the process, which refuses
    a function named like one already there but defined otherwise, and names repeat across models (they count
    from the saving process's start)."""
    new = {f.signature.name: f.signature.name + suffix for f in gd.library.function}

    def fix_attrs(attrs) -> None:
        for value in attrs.values():
            kind = value.WhichOneof("value")
            if kind == "func" and value.func.name in new:
                value.func.name = new[value.func.name]
            elif kind == "list":
                for func in value.list.func:
                    func.name = new.get(func.name, func.name)

    def fix_nodes(nodes) -> None:
        for node in nodes:
            node.op = new.get(node.op, node.op)
            fix_attrs(node.attr)

    fix_nodes(gd.node)
    for func in gd.library.function:
        func.signature.name = new[func.signature.name]
        fix_nodes(func.node_def)
        fix_attrs(func.attr)
    for grad in gd.library.gradient:
        grad.function_name = new.get(grad.function_name, grad.function_name)
        grad.gradient_func = new.get(grad.gradient_func, grad.gradient_func)


def _loaded(path: Path, g, chosen: str, keys: list[str], inputs: list, outputs: list, note: str) -> LoadedModel:
    """ModelInfo and handle of a frozen signature graph, whichever loader made it."""
    import tensorflow as tf

    aliases = {k: op for k, op in inputs if k != op}
    aliases.update({k: _tensor_label(t) for k, t in outputs})
    roles = {op: {"signature_input": k} for k, op in inputs}
    roles.update({t.op.name: {"signature_output": k} for k, t in outputs})
    nodes = tuple(replace(n, attrs={**n.attrs, **roles[n.name]}) if n.name in roles else n for n in _nodes(g))
    graph = Graph(nodes=nodes, inputs=tuple(_tensor(g.get_operation_by_name(op).outputs[0]) for _, op in inputs),
                  outputs=tuple(_tensor(t) for _, t in outputs))
    gd = g.as_graph_def()
    params = _const_params(tf, gd)  # the variables the signature reads, now constants
    notes = [f"Signature '{chosen}': " + "; ".join(
        [f"input {k} is op '{op}'" for k, op in inputs] + [f"output {k} is '{_tensor_label(t)}'" for k, t in outputs]),
        note + "."]
    info = ModelInfo(path=str(path), format="savedmodel", graph=graph, param_count=params,
                     size_bytes=file_size(path), signatures=tuple([chosen] + [k for k in keys if k != chosen]),
                     notes=tuple(notes))
    return LoadedModel(info=info, handle=TFGraphHandle("savedmodel", gd, aliases=aliases))


def _flat_keys(structure, count: int, kind: str) -> list[str]:
    """Signature keys in the order of the function's flat tensors (tf.nest sorts dict keys)."""
    if isinstance(structure, dict) and len(structure) == count:
        return sorted(structure)
    return [f"{kind}_{i}" for i in range(count)]


def _meta_graph(sm, wanted: Optional[str]):
    """The MetaGraph to read: the one tagged 'serve' first (a TF1 folder may hold a training one too), and the
    one that has the wanted signature."""
    graphs = sorted((m for m in sm.meta_graphs if _has_graph(m.graph_def)),
                    key=lambda m: _SERVE_TAG not in m.meta_info_def.tags)
    if wanted:
        return next((m for m in graphs if wanted in m.signature_def), graphs[0])
    return next((m for m in graphs if _signature_keys(m)), graphs[0])


def _signature_keys(meta) -> list[str]:
    return sorted(k for k in meta.signature_def if k != _INIT_OP_KEY)


def _has_optimizer(meta) -> bool:
    return any(n.WhichOneof("kind") == "user_object" and n.user_object.identifier == "optimizer"
               for n in meta.object_graph_def.nodes)


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
                    "choose one of them.", cli_hint="--signature NAME")
