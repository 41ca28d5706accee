"""Cuts a TensorFlow graph (frozen .pb, .meta checkpoint, SavedModel) between chosen nodes into a frozen GraphDef.

Chosen inputs become Placeholders with static shapes, everything the outputs do not need is dropped,
and the result is checked to run and to give the original graph's values before cut.pb is written."""
from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .errors import InternalError, UserError
from .files import write_atomic
from .graph import Graph, Node, TensorInfo, resolve_node
from .loaders.tf_graph import TFGraphHandle, _ancestors, _dtype_name, _first_line, _shape
from .plan import CutModel, Selection
from .shapes import static_shape
from .progress import ProgressFn, no_progress

_RANDOM_OPS = frozenset({"RandomUniform", "RandomUniformInt", "RandomStandardNormal", "TruncatedNormal",
                         "Multinomial", "RandomShuffle", "RandomGamma", "RandomPoisson", "RandomPoissonV2"})


# Stateful ops that act only inside the graph; any other stateful op (WriteFile, Save, PrintV2, PyFunc,
# summaries, a custom op) may act outside it, so the cut check never runs a graph holding one.
_INSIDE_ONLY_OPS = _RANDOM_OPS | frozenset({"VariableV2", "Variable", "VarHandleOp", "ReadVariableOp", "Assert",
                                            "HashTable", "HashTableV2", "LookupTableFind", "LookupTableFindV2"})


@dataclass(frozen=True)
class _Pick:
    """One chosen node: what the person typed, the op it resolved to, and which of its outputs."""

    asked: str
    node: Node
    index: int

    @property
    def tensor(self) -> str:
        return f"{self.node.name}:{self.index}"


def cut_graphdef(loaded, selection: Selection, workdir: Path, progress: ProgressFn = no_progress) -> CutModel:
    import tensorflow as tf

    handle, graph = loaded.handle, loaded.info.graph
    if not isinstance(handle, TFGraphHandle):
        raise InternalError(f"cut_graphdef got a {loaded.info.format} model, which is not a TensorFlow graph.")
    asked_in = selection.inputs or tuple(t.name for t in graph.inputs)
    asked_out = selection.outputs or tuple(t.name for t in graph.outputs)
    if not asked_out:
        raise UserError(f"{loaded.info.path} has no outputs of its own; name the output nodes to convert.")
    ins = _unique([_pick(graph, handle.aliases, name, "input") for name in asked_in])
    outs = _unique([_pick(graph, handle.aliases, name, "output") for name in asked_out])

    progress(0.1, "Freezing the graph" if loaded.info.format == "meta" else "Reading the graph")
    original = handle.frozen([p.node.name for p in outs])
    gd = tf.compat.v1.GraphDef()
    gd.CopyFrom(original)
    names = {n.name for n in gd.node}
    ins = [p for p in ins if p.node.name in names or selection.inputs]
    for p in ins:
        if p.node.name not in names:
            raise UserError(f"The input '{p.asked}' does not feed any of the chosen outputs; "
                            "remove it or choose other outputs.")

    progress(0.3, "Cutting the graph")
    chosen = {_make_placeholder(tf, gd, p, names): p for p in ins}
    fetch = {}  # output op name in the cut graph -> pick
    for p in outs:
        fetch[_output_op(tf, gd, p, names)] = p

    keep = _ancestors(gd, list(fetch))
    for p_name, p in list(chosen.items()):
        if p_name in keep:
            continue
        if selection.inputs:
            raise UserError(f"The input '{p.asked}' does not feed any of the chosen outputs; "
                            "remove it or choose other outputs.")
        del chosen[p_name]  # a model input that the chosen outputs do not need
    for n in gd.node:
        if n.name in keep and n.op == "Placeholder" and n.name not in chosen:
            needs = next(p for o, p in fetch.items() if n.name in _ancestors(gd, [o]))
            raise UserError(f"The output '{needs.asked}' depends on the input '{n.name}', which was not chosen; "
                            "add it to the inputs or choose outputs that do not need it.")
    placeholders = {}  # placeholder name -> (pick, static shape), in the order the inputs were named
    by_name = {n.name: n for n in gd.node}
    for name, p in chosen.items():
        shape = _static_shape(selection, p, handle.aliases)
        by_name[name].attr["shape"].shape.CopyFrom(tf.TensorShape(shape).as_proto())
        placeholders[name] = (p, shape)
    cut = _subgraph(tf, gd, keep)
    removed = tuple(t.name for t in graph.inputs if t.name not in keep and t.name not in placeholders)

    progress(0.5, "Checking the cut graph")
    out_infos = _output_infos(tf, cut, fetch, placeholders)
    _check(tf, original, cut, placeholders, fetch)

    progress(0.9, "Writing cut.pb")
    if (Path(workdir) / "cut.pb").resolve() == Path(loaded.info.path).resolve():
        raise UserError(f"Writing the cut model would replace {loaded.info.path}; choose another work folder.")
    Path(workdir).mkdir(parents=True, exist_ok=True)
    path = write_atomic(Path(workdir) / "cut.pb", cut.SerializeToString())
    in_infos = tuple(TensorInfo(name, shape, p.node.outputs[p.index].dtype)
                     for name, (p, shape) in placeholders.items())
    sources = {name: p.asked for name, (p, _) in placeholders.items()}
    sources.update({name: p.asked for name, p in fetch.items()})
    return CutModel(kind="graphdef", path=str(path), inputs=in_infos, outputs=out_infos, source_nodes=sources,
                    removed_inputs=removed, op_counts=Counter(n.op for n in cut.node))


# ---------------------------------------------------------------- naming


def _pick(graph: Graph, aliases: dict, asked: str, role: str) -> _Pick:
    name = aliases.get(asked.strip(), asked.strip())
    node, name = _resolve(graph, name, role)
    index = 0
    head, _, tail = name.rpartition(":")
    if tail.isdigit() and head == node.name:
        index = int(tail)
    if not node.outputs:
        raise UserError(f"'{asked}' is a {node.op} op, which has no output tensor; choose another {role}.")
    if index >= len(node.outputs):
        raise UserError(f"'{asked}' names output {index} of '{node.name}', which has only {len(node.outputs)}.")
    return _Pick(asked, node, index)


def _resolve(graph: Graph, name: str, role: str) -> tuple[Node, str]:
    """resolve_node, plus names inside the scope a SavedModel's function wraps them in
    ("StatefulPartitionedCall/model/<name>"), where Keras may also have numbered the layer's scope
    ("<name>_1"). Only an unambiguous match is taken. Returns the node and the full name used."""
    try:
        return resolve_node(graph, name, role), name
    except UserError as first:
        base, sep, tail = name.rpartition(":")
        if not (sep and tail.isdigit()):
            base, tail = name, ""
        lead, _, rest = base.partition("/")
        tail_re = re.escape("/" + rest) if rest else ""
        for numbered in ("", r"_\d+"):
            pattern = re.compile("/" + re.escape(lead) + numbered + tail_re + "(?=/|$)")
            scopes = {n.name[: m.end()] for n in graph.nodes for m in [pattern.search(n.name)] if m}
            if len(scopes) > 1:
                raise
            if scopes:
                full = scopes.pop() + (f":{tail}" if tail else "")
                try:
                    return resolve_node(graph, full, role), full
                except UserError:
                    raise first from None
        raise


def _unique(picks: list[_Pick]) -> list[_Pick]:
    seen, out = set(), []
    for p in picks:
        if p.tensor not in seen:
            seen.add(p.tensor)
            out.append(p)
    return out


def _free_name(wanted: str, names: set) -> str:
    name, i = wanted, 1
    while name in names:
        name, i = f"{wanted}_{i}", i + 1
    names.add(name)
    return name


# ---------------------------------------------------------------- shapes


def _static_shape(selection: Selection, p: _Pick, aliases: dict) -> tuple[int, ...]:
    op = p.node.name
    keys = [p.asked, op, p.tensor] + [k for k, v in aliases.items() if v == op]
    given = next((s for s in map(selection.shape_for, keys) if s is not None), None)
    return static_shape(p.node.outputs[p.index], given, p.asked)


def _text(shape) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


# ---------------------------------------------------------------- graph surgery


def _make_placeholder(tf, gd, p: _Pick, names: set) -> str:
    """Turns the chosen op into a Placeholder of the same name (output 0), or adds one for output k>0
    and points the op's readers at it. Returns the placeholder's name; its shape is set later."""
    dtype = tf.as_dtype(p.node.outputs[p.index].dtype)
    if p.index == 0:
        node = next(n for n in gd.node if n.name == p.node.name)
        name = node.name
        node.Clear()
    else:
        name = _free_name(f"{p.node.name}_{p.index}", names)
        for n in gd.node:
            n.input[:] = [name if i == p.tensor else i for i in n.input]
        node = gd.node.add()
    node.name, node.op = name, "Placeholder"
    node.attr["dtype"].type = dtype.as_datatype_enum
    return name


def _output_op(tf, gd, p: _Pick, names: set) -> str:
    """The op whose output 0 is the chosen tensor; an Identity is added for an output k>0."""
    if p.index == 0:
        return p.node.name
    name = _free_name(f"{p.node.name}_output_{p.index}", names)
    node = gd.node.add()
    node.name, node.op = name, "Identity"
    node.input.append(p.tensor)
    node.attr["T"].type = tf.as_dtype(p.node.outputs[p.index].dtype).as_datatype_enum
    return name


def _subgraph(tf, gd, keep: set):
    """The kept nodes in their order, without device pins or colocation with dropped nodes."""
    out = tf.compat.v1.GraphDef()
    out.versions.CopyFrom(gd.versions)
    out.library.CopyFrom(gd.library)
    for n in gd.node:
        if n.name not in keep:
            continue
        node = out.node.add()
        node.CopyFrom(n)
        node.device = ""
        if "_class" in node.attr:
            locs = [s for s in node.attr["_class"].list.s if s.decode("utf-8", "replace")[5:] in keep]
            if locs:
                node.attr["_class"].list.s[:] = locs
            else:
                del node.attr["_class"]
    return out


# ---------------------------------------------------------------- checks


def _output_infos(tf, cut, fetch: dict, placeholders: dict) -> tuple[TensorInfo, ...]:
    """Output shapes as TensorFlow infers them from the static input shapes."""
    with tf.Graph().as_default() as g:
        try:
            tf.compat.v1.import_graph_def(cut, name="")
        except (ValueError, tf.errors.OpError) as exc:
            raise UserError(f"The model does not accept the input shapes {_shapes_text(placeholders)}: "
                            f"{_first_line(exc)}") from exc
    infos = []
    for name in fetch:
        t = g.get_tensor_by_name(f"{name}:0")
        infos.append(TensorInfo(name, _shape(t.shape), _dtype_name(t.dtype)))
    return tuple(infos)


def _check(tf, original, cut, placeholders: dict, fetch: dict) -> None:
    """The cut graph must run as a pruned function (how converters take it) and give the same values
    as the original graph fed at the same tensors. Not run at all when the graph holds an op that could
    act outside it: checking our own cut must not run code or write files from a model (DESIGN.md)."""
    import numpy as np

    outside = _acts_outside(original)
    if outside:  # said in the step's log (the worker's stderr), so the skip is not silent
        print(f"The cut was not checked numerically: the graph holds {', '.join(outside)}, which may act outside "
              "it, and EdgeWizard does not run such graphs.", file=sys.stderr, flush=True)
        return

    rng = np.random.default_rng(0)
    values = {name: _sample(np, rng, shape, p.node.outputs[p.index].dtype)
              for name, (p, shape) in placeholders.items()}
    with tf.Graph().as_default() as g:
        tf.compat.v1.import_graph_def(original, name="")
        config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
        with tf.compat.v1.Session(graph=g, config=config) as sess:
            feeds = {p.tensor: values[name] for name, (p, _) in placeholders.items()}
            try:
                expected = sess.run([p.tensor for p in fetch.values()], feed_dict=feeds)
            except (ValueError, tf.errors.OpError) as exc:
                raise UserError(f"The model does not run with the input shapes {_shapes_text(placeholders)}: "
                                f"{_first_line(exc)}") from exc
    try:
        wrapped = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(cut, name=""), [])
        func = wrapped.prune([wrapped.graph.get_tensor_by_name(f"{n}:0") for n in placeholders],
                             [wrapped.graph.get_tensor_by_name(f"{n}:0") for n in fetch])
        got = func(*[tf.constant(values[n]) for n in placeholders])
    except Exception as exc:  # whatever TensorFlow raises, the cut we made is wrong
        raise InternalError(f"The cut graph does not run: {_first_line(exc)}") from exc
    if any(n.op in _RANDOM_OPS for n in cut.node):
        return  # random ops give other values on every run
    for (name, p), want, have in zip(fetch.items(), expected, got):
        have = np.asarray(have)
        if have.shape != np.shape(want) or not np.allclose(have, want, rtol=1e-4, atol=1e-5, equal_nan=True):
            raise InternalError(f"The cut graph's output '{p.asked}' differs from the original model's "
                                "on the same input; this is a bug in EdgeWizard.")


def _acts_outside(graph_def) -> list[str]:
    """The ops of `graph_def` (and of its function library) that may act outside the graph."""
    from tensorflow.python.framework import op_def_registry

    nodes = list(graph_def.node) + [n for f in graph_def.library.function for n in f.node_def]
    found = set()
    for n in nodes:
        op_def = op_def_registry.get(n.op)
        if n.op not in _INSIDE_ONLY_OPS and (op_def is None or op_def.is_stateful):
            found.add(n.op)
    return sorted(found)


def _sample(np, rng, shape, dtype: str):
    kind = np.dtype(dtype).kind if dtype not in ("string", "resource", "variant") else "O"
    if kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype in ("uint8", "int8"):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    if kind == "O":
        raise UserError(f"An input of type {dtype} cannot be fed to a converted model; choose another input.")
    return np.zeros(shape, dtype=dtype)  # integer ids and flags: 0 is a valid value for almost any graph


def _shapes_text(placeholders: dict) -> str:
    return ", ".join(f"{name}={_text(shape)}" for name, (_, shape) in placeholders.items())
