"""Cuts a Keras model between chosen layers and freezes the piece into a TensorFlow GraphDef.

The cut happens at the Keras level (new Inputs, the same layer objects re-applied, so weights are
shared); the frozen graph's placeholders and outputs are then renamed to the layers' own names."""
from __future__ import annotations

import pathlib
import re
from collections import Counter
from typing import Any

from .errors import InternalError, UserError
from .files import write_atomic
from .graph import Graph, Node, TensorInfo, resolve_node
from .loaders import LoadedModel
from .loaders.keras_loader import model_nodes
from .plan import CutModel, Selection
from .shapes import static_shape

_TF_NAME_FIRST = re.compile(r"[A-Za-z0-9.]")
_TF_NAME_REST = re.compile(r"[^A-Za-z0-9_.\-/>]")


def tf_op_name(name: str) -> str:
    """`name` made a legal TensorFlow op name (letters, digits and _ . - / >; no leading _ - /)."""
    clean = _TF_NAME_REST.sub("_", name)
    if not clean or not _TF_NAME_FIRST.match(clean[0]):
        clean = "n" + clean
    return clean


def cut_keras(loaded: LoadedModel, selection: Selection, workdir: pathlib.Path, progress) -> CutModel:
    model = loaded.handle
    graph = loaded.info.graph
    progress(0.05, "Finding the chosen nodes")
    by_name = dict(model_nodes(model))
    in_nodes = _resolve_all(graph, selection.inputs or tuple(t.name for t in graph.inputs), "input")
    out_nodes = _resolve_all(graph, selection.outputs or tuple(t.name for t in graph.outputs), "output")

    progress(0.15, "Rebuilding the sub-model")
    specs = {}  # node name -> (static shape, dtype)
    for given, node in in_nodes:
        if len(node.outputs) != 1:
            raise UserError(f"'{given}' has {len(node.outputs)} outputs; a cut can only start at a layer with one output.")
        specs[node.name] = (_input_shape(given, node, selection, len(in_nodes) == 1), node.outputs[0].dtype)
    sub, used = _rebuild(model, by_name, in_nodes, out_nodes, specs)

    removed = tuple(t.name for t in graph.inputs if graph.producer(t.name) is None
                    or graph.producer(t.name).name not in used)
    kept = [(given, node) for given, node in in_nodes if node.name in used]

    progress(0.4, "Freezing the sub-model into a TensorFlow graph")
    in_names = _unique([tf_op_name(node.name) for _, node in kept], set())
    wanted, givens = [], []
    for given, node in out_nodes:
        for i, _ in enumerate(node.outputs):
            wanted.append(node.name if len(node.outputs) == 1 else f"{node.name}_{i}")
            givens.append(given)
    out_names = _unique([tf_op_name(n) for n in wanted], set(in_names))
    source_nodes = dict(zip(out_names, givens))
    source_nodes.update((name, given) for name, (given, _) in zip(in_names, kept))
    shapes = [specs[node.name][0] for _, node in kept]
    dtypes = [specs[node.name][1] for _, node in kept]
    gd, out_infos = _freeze(sub, in_names, shapes, dtypes, out_names)

    progress(0.75, "Writing the frozen graph and checking it against Keras")
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    pb = workdir / "cut.pb"
    # A cut that would compute something else must never reach a converter: checked before it lands.
    write_atomic(pb, gd.SerializeToString(), lambda tmp: _check(sub, in_names, shapes, dtypes, out_names, tmp))
    progress(1.0, "Cut done")
    inputs = tuple(TensorInfo(n, tuple(s), d) for n, s, d in zip(in_names, shapes, dtypes))
    return CutModel(
        kind="graphdef",
        path=str(pb),
        inputs=inputs,
        outputs=tuple(out_infos),
        source_nodes=source_nodes,
        removed_inputs=removed,
        op_counts=dict(Counter(n.op for n in gd.node)),
    )


def _resolve_all(graph: Graph, names, role: str) -> list[tuple[str, Node]]:
    out, seen = [], set()
    for given in names:
        node = resolve_node(graph, given, role)
        if node.name not in seen:
            seen.add(node.name)
            out.append((given, node))
    return out


def _input_shape(given: str, node: Node, selection: Selection, only_input: bool) -> tuple[int, ...]:
    asked = selection.shape_for(given)
    if asked is None:
        asked = selection.shape_for(node.name)
    if asked is None and only_input:
        asked = selection.shape_for("")  # "--shape 1,H,W,C" without a name, for a single input
    return static_shape(node.outputs[0], asked, given)


def _rebuild(model, by_name: dict, in_nodes, out_nodes, specs):
    """Re-apply the model's layers from new Inputs (one per chosen input) to the chosen outputs.
    Returns (keras.Model, names of the chosen input nodes some output needs)."""
    import keras

    input_ids = {id(by_name[node.name]): node.name for _, node in in_nodes}
    values: dict[int, Any] = {}  # id(original keras node) -> list of new output tensors
    new_inputs: dict[str, Any] = {}
    outputs = []
    for given, node in out_nodes:
        target = by_name[node.name]
        stack = [target]
        while stack:  # iterative: deep models exceed Python's recursion limit
            kn = stack[-1]
            if id(kn) in values:
                stack.pop()
                continue
            if id(kn) in input_ids:
                name = input_ids[id(kn)]
                shape, dtype = specs[name]
                if name not in new_inputs:
                    new_inputs[name] = keras.Input(batch_shape=shape, dtype=dtype, name=f"ew_cut_input_{len(new_inputs)}")
                values[id(kn)] = [new_inputs[name]]
                stack.pop()
                continue
            if kn.is_input:
                raise UserError(
                    f"Output '{given}' depends on the model input '{kn.operation.name}', which is not among the "
                    "chosen inputs; add it to the inputs or choose other outputs."
                )
            missing = [p for p in kn.parent_nodes if id(p) not in values]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            values[id(kn)] = _apply(kn, values, in_nodes)
        outputs.extend(values[id(target)])
    names = [n for n in specs if n in new_inputs]
    try:
        sub = keras.Model([new_inputs[n] for n in names], outputs, name="edgewizard_cut")
    except Exception as exc:  # Keras says why in a ValueError; this is a bug of ours, not the user's
        raise InternalError(f"Could not assemble the cut Keras model: {exc}") from exc
    return sub, set(names)


def _apply(kn, values: dict, in_nodes) -> list:
    tensors = {}
    for kt in kn.arguments.keras_tensors:
        h = kt._keras_history
        parent = h.operation._inbound_nodes[h.node_index]
        tensors[id(kt)] = values[id(parent)][h.tensor_index]
    args, kwargs = kn.arguments.fill_in(tensors)
    try:
        result = kn.operation(*args, **kwargs)
    except Exception as exc:  # a layer rejecting the shapes that reach it
        names = ", ".join(f"'{g}'" for g, _ in in_nodes)
        raise UserError(
            f"The shape given for input {names} does not fit layer '{kn.operation.name}': "
            f"{_first_line(exc)}; check the input's shape."
        ) from exc
    import keras

    return list(keras.tree.flatten(result))


def _first_line(exc: BaseException) -> str:
    """The line of a Keras error that says what is wrong (Keras wraps it in a generic header,
    ANSI bold and an "Arguments received" listing)."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", ln).strip() for ln in str(exc).splitlines()]
    useful = [ln for ln in lines if ln and not ln.startswith(("Exception encountered", "Arguments received", "•"))]
    text = (useful or [type(exc).__name__])[0].rstrip(".")
    return text if len(text) <= 240 else text[:237] + "..."


def _unique(names: list[str], taken: set[str]) -> list[str]:
    out = []
    for n in names:
        cand, k = n, 1
        while cand in taken:
            cand, k = f"{n}_{k}", k + 1
        taken.add(cand)
        out.append(cand)
    return out


def _freeze(sub, in_names, shapes, dtypes, out_names):
    """Trace `sub` with static input specs, fold its variables into constants, and rename the
    graph's placeholders and outputs to `in_names` / `out_names`. Returns (GraphDef, output infos)."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    specs = [tf.TensorSpec(s, tf.as_dtype(d), name=f"ew_in_{i}") for i, (s, d) in enumerate(zip(shapes, dtypes))]

    @tf.function(input_signature=specs, autograph=False)
    def run(*xs):
        return tf.nest.flatten(sub(list(xs), training=False))

    concrete = run.get_concrete_function()
    frozen = convert_variables_to_constants_v2(concrete)
    gd = frozen.graph.as_graph_def()
    placeholders = [t.name for t in frozen.inputs]
    outs = list(frozen.outputs)
    if len(placeholders) != len(in_names) or len(outs) != len(out_names):
        raise InternalError("The frozen graph's inputs/outputs do not match the cut model's.")
    _rename(gd, placeholders, in_names, [t.name for t in outs], out_names, shapes)
    gd = _fold_constants(gd, list(in_names) + list(out_names))
    infos = [
        TensorInfo(n, None if t.shape.rank is None else tuple(t.shape.as_list()), t.dtype.name)
        for n, t in zip(out_names, outs)
    ]
    return gd, infos


def _rename(gd, placeholders, in_names, out_tensors, out_names, shapes) -> None:
    import tensorflow as tf

    wanted = set(in_names) | set(out_names)
    taken = {n.name for n in gd.node} | wanted
    by_name = {n.name: n for n in gd.node}
    renames: dict[str, str] = {}
    for p, new in zip(placeholders, in_names):
        renames[p.split(":")[0]] = new
    # The Identity op tf.function puts on each output takes the output's name; an output whose
    # tensor is something else (a placeholder, an op shared by two outputs) gets a new Identity.
    extra = []
    for tensor, name in zip(out_tensors, out_names):
        op, _, idx = tensor.partition(":")
        if by_name[op].op == "Identity" and idx in ("", "0") and op not in renames:
            renames[op] = name
        else:
            extra.append((tensor, name))
    # Any other op that already holds a wanted name moves out of the way.
    for node in gd.node:
        if node.name in wanted and node.name not in renames:
            renames[node.name] = _unique([node.name + "_orig"], taken)[0]
    _apply_renames(gd, renames)
    by_name = {n.name: n for n in gd.node}
    for name, shape in zip(in_names, shapes):
        by_name[name].attr["shape"].shape.CopyFrom(tf.TensorShape(shape).as_proto())
    for tensor, name in extra:
        op, _, idx = tensor.partition(":")
        src = renames.get(op, op) + ("" if idx in ("", "0") else ":" + idx)
        node = gd.node.add()
        node.name = name
        node.op = "Identity"
        node.input.append(src)
        node.attr["T"].type = _dtype_of(by_name, src)


def _fold_constants(gd, keep: list[str]):
    """Fold the constant subgraphs freezing leaves behind (variable reads, bias reshapes, shape
    arithmetic made static by the fixed input shapes) with Grappler, as the TFLite converter does,
    so that op counts show the model's real ops. A graph Grappler cannot handle is kept as it is."""
    try:
        from tensorflow.core.protobuf import config_pb2, meta_graph_pb2, rewriter_config_pb2
        from tensorflow.python.grappler import tf_optimizer

        meta = meta_graph_pb2.MetaGraphDef()
        meta.graph_def.CopyFrom(gd)
        protected = meta_graph_pb2.CollectionDef()
        protected.node_list.value.extend(keep)  # Grappler never removes or renames fetched nodes
        meta.collection_def["train_op"].CopyFrom(protected)
        config = config_pb2.ConfigProto()
        rewrite = config.graph_options.rewrite_options
        rewrite.optimizers[:] = ["constfold", "dependency", "pruning"]
        rewrite.meta_optimizer_iterations = rewriter_config_pb2.RewriterConfig.ONE
        folded = tf_optimizer.OptimizeGraph(config, meta)
    except Exception:  # private TF API: if it moves, an unfolded graph is still correct
        return gd
    present = {n.name for n in folded.node}
    return folded if all(k in present for k in keep) else gd


def _apply_renames(gd, renames: dict) -> None:
    if not renames:
        return
    for node in gd.node:
        node.name = renames.get(node.name, node.name)
        for i, inp in enumerate(node.input):
            ctrl = inp.startswith("^")
            op, sep, idx = inp.lstrip("^").partition(":")
            if op in renames:
                node.input[i] = ("^" if ctrl else "") + renames[op] + sep + idx


def _dtype_of(by_name: dict, tensor: str) -> int:
    op, _, idx = tensor.partition(":")
    node = by_name[op]
    for key in ("T", "dtype", "out_type"):
        if key in node.attr and node.attr[key].type:
            return node.attr[key].type
    if "_output_types" in node.attr:
        return node.attr["_output_types"].list.type[int(idx or 0)]
    raise InternalError(f"Cannot tell the type of output tensor {tensor} in the frozen graph.")


def _check(sub, in_names, shapes, dtypes, out_names, pb: pathlib.Path) -> None:
    """Re-import the written graph and compare it with Keras on one random input: a cut that
    would silently compute something else must never reach a converter."""
    import numpy as np
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(pb.read_bytes())
    imported = tf.compat.v1.wrap_function(lambda: tf.graph_util.import_graph_def(graph_def, name=""), [])
    fn = imported.prune([f"{n}:0" for n in in_names], [f"{n}:0" for n in out_names])
    rng = np.random.default_rng(0)
    xs = [_sample(rng, s, d) for s, d in zip(shapes, dtypes)]
    got = [np.asarray(v) for v in tf.nest.flatten(fn(*[tf.constant(x) for x in xs]))]
    want = [np.asarray(v) for v in tf.nest.flatten(sub(xs, training=False))]
    for name, g, w in zip(out_names, got, want):
        if g.shape != w.shape or not np.allclose(g, w, atol=1e-4, rtol=1e-4, equal_nan=True):
            raise InternalError(f"The frozen graph's output '{name}' differs from the Keras model's; the cut is not usable.")


def _sample(rng, shape, dtype: str) -> Any:
    import numpy as np

    if np.issubdtype(np.dtype(dtype), np.integer):
        return rng.integers(0, 2, size=shape).astype(dtype)
    if np.dtype(dtype) == np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    return rng.standard_normal(shape).astype(dtype)


def describe(cut: CutModel) -> str:
    """One line for logs: what the cut kept and dropped."""
    ins = ", ".join(f"{t.name}{t.shape_text()}" for t in cut.inputs)
    outs = ", ".join(t.name for t in cut.outputs)
    dropped = f"; dropped inputs {', '.join(cut.removed_inputs)}" if cut.removed_inputs else ""
    return f"Cut {ins} -> {outs}{dropped}"
