"""Loads TF1 frozen graphs (.pb/.pbtxt) and .meta checkpoints (SavedModel folders: saved_model.py); nothing runs.
The handle (TFGraphHandle) gives core.cut_graphdef a frozen GraphDef, freezing a checkpoint lazily."""
from __future__ import annotations

import glob
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from ..doctor import explain
from ..errors import UserError
from ..graph import Graph, ModelInfo, Node, TensorInfo, ancestors
from ..plan import LoadOptions
from . import LoadedModel, file_size
from .limits import LOOP_BACK_EDGE_OPS, cycle_error, cycle_in

# Ops that end a graph without being one of its results: bookkeeping, variables, initializers.
_NOT_OUTPUTS = frozenset({
    "NoOp", "Const", "Assert", "Print", "PrintV2", "Placeholder", "PlaceholderWithDefault",
    "SaveV2", "Save", "SaveSlices", "RestoreV2", "Restore", "RestoreSlice", "MergeV2Checkpoints",
    "VariableV2", "Variable", "VarHandleOp", "ReadVariableOp", "VarIsInitializedOp", "IsVariableInitialized",
    "Assign", "AssignAdd", "AssignSub", "AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp",
    "DestroyResourceOp", "HashTableV2", "MutableHashTableV2", "InitializeTableV2", "InitializeTableFromTextFileV2",
})
_SAVER_OPS = frozenset({"SaveV2", "RestoreV2", "Save", "Restore", "SaveSlices", "RestoreSlice"})
_GRADIENTS = re.compile(r"gradients(_\d+)?/")  # tf.gradients' default scope: training, not the model
_VARIABLE_OPS = frozenset({"VariableV2", "Variable", "VarHandleOp"})
_FLOAT_TYPES = frozenset({"float16", "float32", "float64", "bfloat16"})


@dataclass
class TFGraphHandle:
    """What the cut needs. `graph_def` is frozen for "frozen_pb" and "savedmodel"; for "meta" it still
    has variables, and `frozen()` restores the checkpoint and freezes on first use."""

    fmt: str
    graph_def: Any
    aliases: dict = field(default_factory=dict)  # SavedModel signature key -> op/tensor name
    meta_graph: Any = None
    checkpoint: Optional[str] = None
    _last_frozen: tuple = field(default=(), repr=False)  # (output ops, GraphDef): one, to bound memory

    def frozen(self, output_ops: Sequence[str]):
        if self.fmt != "meta":
            return self.graph_def
        key = tuple(sorted(set(output_ops)))
        if not self._last_frozen or self._last_frozen[0] != key:
            self._last_frozen = (key, _freeze_meta(self.meta_graph, self.checkpoint, key))
        return self._last_frozen[1]


def load(path: Path, fmt: str, options: LoadOptions, progress) -> LoadedModel:
    if fmt == "frozen_pb":
        return _load_frozen(path, progress)
    if fmt == "meta":
        return _load_meta(path, progress)
    if fmt == "savedmodel":
        from .saved_model import load_savedmodel  # here, not at the top: saved_model imports this module

        return load_savedmodel(path, options, progress)
    raise ValueError(f"tf_graph cannot load format {fmt!r}")


# ---------------------------------------------------------------- frozen .pb


def _load_frozen(path: Path, progress) -> LoadedModel:
    import tensorflow as tf

    gd = _read_graph_def(path)
    progress(0.4, "Reading the graph")
    g = _import(tf, gd, path)
    inputs = tuple(_tensor(o.outputs[0]) for o in g.get_operations() if o.type == "Placeholder")
    outputs = _terminal_outputs(g, gd)
    graph = Graph(nodes=_nodes(g), inputs=inputs, outputs=outputs)
    info = ModelInfo(path=str(path), format="frozen_pb", graph=graph, param_count=_const_params(tf, gd),
                     size_bytes=file_size(path))
    return LoadedModel(info=info, handle=TFGraphHandle("frozen_pb", gd))


def _const_params(tf, gd) -> int:
    return sum(_elements(n.attr["value"].tensor.tensor_shape) for n in gd.node
               if n.op == "Const" and _dtype_name(tf.as_dtype(n.attr["dtype"].type)) in _FLOAT_TYPES)


def _read_graph_def(path: Path):
    import tensorflow as tf
    from google.protobuf import message, text_format

    data = _read_bytes(path)
    if path.suffix.lower() == ".pbtxt":
        try:
            gd = text_format.Parse(data.decode("utf-8"), tf.compat.v1.GraphDef())
        except UnicodeDecodeError as exc:
            raise UserError(f"{path} is not a TensorFlow graph in text form (.pbtxt): it is not UTF-8 text.") from exc
        except text_format.ParseError as exc:
            raise UserError(f"{path} is not a TensorFlow graph in text form (.pbtxt): {_first_line(exc)}") from exc
    else:
        try:
            gd = tf.compat.v1.GraphDef.FromString(data)
        except message.DecodeError:
            gd = None
    if gd is not None and _has_graph(gd):
        return gd
    _reject_other_protos(path, data)
    raise UserError(f"{path} is not a TensorFlow graph (.pb): it could not be read as a GraphDef, "
                    "so it is damaged, incomplete or a different kind of file.")


def _reject_other_protos(path: Path, data: bytes) -> None:
    """A SavedModel's saved_model.pb or a .meta file renamed to .pb: say what it is instead."""
    from google.protobuf import message
    from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

    try:
        sm = saved_model_pb2.SavedModel.FromString(data)
        if any(_has_graph(m.graph_def) for m in sm.meta_graphs):
            raise UserError(f"{path} is the graph file of a TensorFlow SavedModel; open its folder "
                            f"{path.parent} instead of the file.")
    except message.DecodeError:
        pass
    try:
        if _has_graph(meta_graph_pb2.MetaGraphDef.FromString(data).graph_def):
            raise UserError(f"{path} is a TensorFlow MetaGraph, not a frozen graph; name it with the .meta "
                            "extension, next to its checkpoint (.index and .data files), and open that.")
    except message.DecodeError:
        pass


# ---------------------------------------------------------------- .meta + checkpoint


def _load_meta(path: Path, progress) -> LoadedModel:
    import tensorflow as tf
    from google.protobuf import message
    from tensorflow.core.protobuf import meta_graph_pb2

    data = _read_bytes(path)
    try:
        mgd = meta_graph_pb2.MetaGraphDef.FromString(data)
    except message.DecodeError as exc:
        raise UserError(f"{path} is not a TensorFlow MetaGraph (.meta) file; it is damaged or of another kind."
                        ) from exc
    if not _has_graph(mgd.graph_def):
        raise UserError(f"{path} is not a TensorFlow MetaGraph (.meta) file: it holds no graph.")
    check_acyclic(mgd.graph_def, path)
    prefix = path.with_suffix("")
    if any(n.op in _VARIABLE_OPS for n in mgd.graph_def.node):
        _check_checkpoint(path, prefix)
    progress(0.3, "Reading the graph")
    with tf.Graph().as_default() as g:
        try:
            tf.compat.v1.train.import_meta_graph(mgd, clear_devices=True)
        except (ValueError, TypeError, KeyError, tf.errors.OpError) as exc:
            raise explain(exc, "tensorflow", UserError(f"TensorFlow cannot rebuild the graph in {path}: {_first_line(exc)}"),
                          {"model": str(path)}) from exc
    gd = g.as_graph_def()
    skip = _bookkeeping_ops(g, gd)
    inputs = tuple(_tensor(o.outputs[0]) for o in g.get_operations() if o.type == "Placeholder" and o.name not in skip)
    outputs = _terminal_outputs(g, gd, skip)
    graph = Graph(nodes=_nodes(g, skip), inputs=inputs, outputs=outputs)
    notes = ("Variables are read from the checkpoint when the model is cut.",)
    info = ModelInfo(path=str(path), format="meta", graph=graph, param_count=_variable_params(g, gd, outputs),
                     size_bytes=sum(file_size(p) for p in prefix.parent.glob(glob.escape(prefix.name) + ".*")),
                     notes=notes)
    handle = TFGraphHandle("meta", gd, meta_graph=mgd, checkpoint=str(prefix))
    return LoadedModel(info=info, handle=handle)


def _bookkeeping_ops(g, gd) -> set[str]:
    """Ops of a training graph that are not the model: the Saver's (save/SaveV2, save/restore_all,
    ...) and the variable initializers with whatever only they read (initial values, "init")."""
    import tensorflow as tf

    # Every Saver ("save/", "save_1/", ...) keeps all its ops in the scope of its SaveV2/RestoreV2.
    scopes = tuple({n.name.rsplit("/", 1)[0] + "/" for n in gd.node if n.op in _SAVER_OPS and "/" in n.name})
    skip = {n.name for n in gd.node if n.name.startswith(scopes)}
    with g.as_default():
        variables = tf.compat.v1.global_variables() + tf.compat.v1.local_variables()
    skip |= {v.initializer.name for v in variables if v.initializer is not None}
    users: dict[str, set[str]] = {}
    for n in gd.node:
        for i in n.input:
            users.setdefault(_op_of(i), set()).add(n.name)
    changed = True
    while changed:
        changed = False
        for n in gd.node:
            if n.name in skip:
                continue
            mine = users.get(n.name)
            if (mine and mine <= skip) or (n.op == "NoOp" and n.input and all(_op_of(i) in skip for i in n.input)):
                skip.add(n.name)
                changed = True
    return skip


def _check_checkpoint(meta: Path, prefix: Path) -> None:
    if prefix.is_file():  # a V1 checkpoint is a single file named like the prefix
        return
    shards = [re.search(r"-of-(\d+)$", p.name) for p in prefix.parent.glob(glob.escape(prefix.name) + ".data-*")]
    total = max((int(m.group(1)) for m in shards if m), default=1)
    wanted = [f"{prefix.name}.index"] + [f"{prefix.name}.data-{i:05d}-of-{total:05d}" for i in range(total)]
    missing = [name for name in wanted if not (prefix.parent / name).is_file()]
    if missing:
        raise UserError(f"The checkpoint of {meta.name} is incomplete: {', '.join(missing)} not found in "
                        f"{prefix.parent}; keep the .meta file next to its .index and .data files.")


def _variable_params(g, gd, outputs) -> int:
    """Elements of the float variables the outputs read (optimizer slots and counters excluded)."""
    needed = _ancestors(gd, [t.name.split(":")[0] for t in outputs])
    total = 0
    for op in g.get_operations():
        if op.type in _VARIABLE_OPS and op.name in needed and _dtype_name(op.get_attr("dtype")) in _FLOAT_TYPES:
            shape = op.get_attr("shape")
            if not shape.unknown_rank:
                total += _elements(shape)
    return total


def _freeze_meta(mgd, prefix: str, output_ops: Sequence[str]):
    import tensorflow as tf

    with tf.Graph().as_default() as g, tf.compat.v1.Session(graph=g) as sess:
        saver = tf.compat.v1.train.import_meta_graph(mgd, clear_devices=True)
        if saver is not None:
            try:
                saver.restore(sess, prefix)
            except (ValueError, tf.errors.OpError) as exc:
                raise UserError(f"The checkpoint of {Path(prefix).name}.meta ({Path(prefix).name}.index and .data "
                                f"files) cannot be read or does not match its graph ({_tf_reason(exc)}); copy the "
                                "checkpoint files again, complete.") from exc
        return tf.compat.v1.graph_util.convert_variables_to_constants(sess, g.as_graph_def(), list(output_ops))


# ---------------------------------------------------------------- shared


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    if not data.strip():
        raise UserError(f"{path} is empty.")
    return data


def _has_graph(gd) -> bool:
    """Garbage can parse as a protobuf message; a real graph has nodes, each with an op."""
    return bool(gd.node) and all(n.op for n in gd.node)


def _import(tf, gd, path: Path):
    """Imports into a fresh graph: TensorFlow infers every op's output shapes; nothing runs."""
    check_acyclic(gd, path)
    with tf.Graph().as_default() as g:
        try:
            tf.compat.v1.import_graph_def(gd, name="")
        except (ValueError, TypeError, KeyError, tf.errors.OpError) as exc:
            raise explain(exc, "tensorflow", UserError(f"{path} holds a TensorFlow graph that this TensorFlow cannot rebuild "
                                                       f"(damaged, incomplete or using unknown ops): {_first_line(exc)}"),
                          {"model": str(path)}) from exc
    return g


def check_acyclic(gd, path: Path) -> None:
    """TensorFlow only says "N nodes in a cycle"; name one of them (while loops, which close
    through NextIteration, are fine)."""
    names = {n.name for n in gd.node}
    reads = {n.name: [_op_of(i) if _op_of(i) in names else None for i in n.input] for n in gd.node}
    loop = cycle_in(reads, back_edges_from={n.name for n in gd.node if n.op in LOOP_BACK_EDGE_OPS})
    if loop:
        raise cycle_error(path, loop)


def _op_of(tensor: str) -> str:
    return tensor.lstrip("^").split(":")[0]


def _ancestors(gd, names: Sequence[str]) -> set[str]:
    by_name = {n.name: n for n in gd.node}
    return ancestors([n for n in names if n in by_name],
                     lambda name: [op for i in by_name[name].input if (op := _op_of(i)) in by_name])


def _terminal_outputs(g, gd, skip: frozenset | set = frozenset()) -> tuple[TensorInfo, ...]:
    consumed = {_op_of(i) for n in gd.node for i in n.input}  # data or control
    outs = []
    for op in g.get_operations():
        if (op.name in consumed or op.name in skip or op.type in _NOT_OUTPUTS or not op.outputs
                or _GRADIENTS.match(op.name)):
            continue
        outs.extend(_tensor(t) for t in op.outputs)
    return tuple(outs)


def _nodes(g, skip: frozenset | set = frozenset()) -> tuple[Node, ...]:
    nodes = []
    for op in g.get_operations():
        if op.name in skip:
            continue
        inputs = tuple(t.name for t in op.inputs) + tuple("^" + c.name for c in op.control_inputs)
        outputs = tuple(TensorInfo(t.name, _shape(t.shape), _dtype_name(t.dtype)) for t in op.outputs)
        nodes.append(Node(name=op.name, op=op.type, inputs=inputs, outputs=outputs, attrs=_attrs(op.node_def)))
    return tuple(nodes)


def _attrs(node_def) -> dict:
    """Plain attributes worth showing (padding, strides, ...): no tensors, functions or internals."""
    import tensorflow as tf

    out = {}
    for key, value in sorted(node_def.attr.items()):
        if key.startswith("_"):
            continue
        kind = value.WhichOneof("value")
        if kind in ("s", "i", "f", "b"):
            v = getattr(value, kind)
            out[key] = v.decode("utf-8", "replace") if isinstance(v, bytes) else v
        elif kind == "type":
            out[key] = _dtype_name(tf.as_dtype(value.type))
        elif kind == "shape":
            out[key] = None if value.shape.unknown_rank else [d.size if d.size >= 0 else None for d in value.shape.dim]
        elif kind == "list" and len(value.list.i) <= 8 and not (value.list.tensor or value.list.func):
            out[key] = list(value.list.i) or [s.decode("utf-8", "replace") for s in value.list.s] or list(value.list.f)
    return out


def _tensor(t) -> TensorInfo:
    """A graph-level input/output: named by its op when it is the op's first output."""
    return TensorInfo(_tensor_label(t), _shape(t.shape), _dtype_name(t.dtype))


def _tensor_label(t) -> str:
    return t.op.name if t.value_index == 0 else t.name


def _shape(shape) -> Optional[tuple]:
    return None if shape.rank is None else tuple(shape.as_list())


def _dtype_name(dtype) -> str:
    import numpy as np

    dtype = dtype.base_dtype  # ref types (float32_ref) of TF1 variables
    try:
        np_dtype = np.dtype(dtype.as_numpy_dtype)
    except (TypeError, KeyError):  # resource, variant: no numpy counterpart
        return dtype.name
    return dtype.name if np_dtype.kind == "O" else np_dtype.name


def _elements(shape_proto) -> int:
    return math.prod(max(d.size, 0) for d in shape_proto.dim)


def _tf_reason(exc: BaseException) -> str:
    """The line of a TensorFlow error that says what went wrong, not where ("Graph execution error:")."""
    text = getattr(exc, "message", None) or str(exc)
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("Graph execution error", "Detected at node", "Node:", "[[", "Original stack")):
            return line.rstrip(".")[:200]
    return _first_line(exc).rstrip(".:")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
