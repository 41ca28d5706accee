"""One representation of a model's graph, whatever format it came from.

A node is a Keras layer (for Keras models) or an op (TF graphs, TFLite, OpenVINO IR, ONNX). Tensors
are named; a node lists the tensors it reads and writes. Everything here is plain data that pickles
and turns into JSON, so it crosses the worker-process boundary and feeds `inspect --json`."""
from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

Dim = Optional[int]  # None is a dynamic (unknown) dimension


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: Optional[tuple[Dim, ...]]  # None when even the rank is unknown
    dtype: str  # numpy-style name: "float32", "uint8", ...

    @property
    def is_static(self) -> bool:
        return self.shape is not None and all(d is not None and d >= 0 for d in self.shape)

    def to_dict(self) -> dict:
        """{name, shape (a list, None for dynamic dims; None when even the rank is unknown), dtype}; read back
        with codec.from_data(TensorInfo, d)."""
        from .codec import to_data

        return to_data(self)

    def shape_text(self) -> str:
        if self.shape is None:
            return "?"
        return "[" + ", ".join("?" if d is None else str(d) for d in self.shape) + "]"


@dataclass(frozen=True)
class Node:
    name: str
    op: str  # layer class name (Keras) or op type (TF "Conv2D", TFLite "CONV_2D", IR "Convolution")
    inputs: tuple[str, ...] = ()  # names of tensors read
    outputs: tuple[TensorInfo, ...] = ()  # tensors written
    attrs: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def op_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(n.op for n in self.nodes).items(), key=lambda kv: (-kv[1], kv[0])))

    def producer(self, tensor: str) -> Optional[Node]:
        for n in self.nodes:
            if any(t.name == tensor for t in n.outputs):
                return n
        return None


@dataclass(frozen=True)
class ModelInfo:
    """What `load` learns about a model file without running it."""

    path: str
    format: str  # one of FORMATS
    graph: Graph
    param_count: int
    size_bytes: int
    signatures: tuple[str, ...] = ()  # SavedModel signatures, the chosen one first
    notes: tuple[str, ...] = ()  # plain-language remarks (e.g. "loaded without compiling")
    sha256: str = ""  # of the file's content (core/files.py sha256_of), set by steps.inspect

    def to_dict(self) -> dict:
        g = self.graph
        return {
            "path": self.path,
            "format": self.format,
            "format_name": FORMATS.get(self.format, self.format),
            "inputs": [t.to_dict() for t in g.inputs],
            "outputs": [t.to_dict() for t in g.outputs],
            "op_counts": g.op_counts(),
            "node_count": len(g.nodes),
            "param_count": self.param_count,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "signatures": list(self.signatures),
            "notes": list(self.notes),
        }


FORMATS = {
    "keras": "Keras 3 (.keras)",
    "h5": "Keras HDF5 (.h5)",
    "savedmodel": "TensorFlow SavedModel",
    "frozen_pb": "TensorFlow 1 frozen graph (.pb)",
    "meta": "TensorFlow 1 MetaGraph checkpoint (.meta)",
    "tflite": "TensorFlow Lite (.tflite)",
    "openvino_ir": "OpenVINO IR (.xml + .bin)",
    "onnx": "ONNX (.onnx)",
}


def close_matches(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Names that look like `name`, for "did you mean" hints."""
    candidates = list(candidates)
    found = difflib.get_close_matches(name, candidates, n=n, cutoff=0.6)
    if len(found) < n:
        low = name.lower()
        found += [c for c in candidates if low in c.lower() and c not in found][: n - len(found)]
    return found


def resolve_node(graph: Graph, name: str, role: str = "node") -> Node:
    """Find the node a person means by `name`, accepting both kinds of name (issue: "Both kinds
    of name are accepted wherever a node is named"):

    - the node's own name (a Keras layer name, or a TF/TFLite/IR/ONNX op name);
    - a tensor name (``conv1/BiasAdd:0``) -> the node producing it;
    - a TF op name for a Keras model (``model/Mconv7_stage2_L1/BiasAdd``) -> the layer named by one
      of its path components, the innermost that matches;
    - a scope for an op graph (``Mconv7_stage2_L1``) -> the op of that scope that no other op of
      the scope consumes, i.e. the scope's output, when there is exactly one.

    Raises UserError naming the node and suggesting close matches. `role` ("input", "output")
    only words the message."""
    from .errors import UserError

    by_name = {n.name: n for n in graph.nodes}
    wanted = name.strip()
    if wanted in by_name:
        return by_name[wanted]
    base = wanted.rsplit(":", 1)[0] if ":" in wanted and wanted.rsplit(":", 1)[1].isdigit() else wanted
    if base in by_name:
        return by_name[base]
    producer = graph.producer(wanted)
    if producer is not None:
        return producer
    # A path like "model/layer/BiasAdd": the innermost component that is a node (Keras layers).
    parts = base.split("/")
    for part in reversed(parts[:-1] if len(parts) > 1 else []):
        if part in by_name:
            return by_name[part]
    # A scope: ops named "<scope>/...". Its output is the op the rest of the scope does not read.
    scope = base.rstrip("/") + "/"
    members = [n for n in graph.nodes if n.name.startswith(scope)]
    if members:
        read = {t for n in members for t in n.inputs}
        read_ops = {t.rsplit(":", 1)[0] for t in read} | {t.lstrip("^") for t in read}
        ends = [n for n in members if n.name not in read_ops and not any(o.name in read for o in n.outputs)]
        if len(ends) == 1:
            return ends[0]
        if ends:
            names = ", ".join(n.name for n in ends[:4])
            raise UserError(f"'{name}' is a group of ops with several ends ({names}); name the {role} op itself.")
    hints = close_matches(base, by_name)
    hint = f" Did you mean {', '.join(repr(h) for h in hints)}?" if hints else ""
    raise UserError(f"The model has no node named '{name}' (asked for as {role}).{hint}")


def ancestors(names: Iterable[str], inputs_of: Callable[[str], Iterable[str]],
              stop: Iterable[str] = ()) -> set[str]:
    """`names` and every node they read from, walking back through `inputs_of(name)` (the names of
    the nodes `name` reads) and not past the nodes in `stop`, which are included themselves."""
    stop = set(stop)
    seen: set[str] = set()
    todo = list(names)
    while todo:  # iterative: deep models exceed Python's recursion limit
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name not in stop:
            todo.extend(inputs_of(name))
    return seen


def kept_nodes(graph: Graph, inputs: Iterable[str] = (), outputs: Iterable[str] = ()) -> set[str]:
    """Names of the nodes a cut from `inputs` to `outputs` (node names; empty means the model's own)
    keeps: those the outputs need, walking back from the outputs and stopping at the inputs. A branch
    that reaches no output, and whatever only feeds a chosen input, is left out."""
    by_name = {n.name: n for n in graph.nodes}
    producer = {t.name: n.name for n in graph.nodes for t in n.outputs}

    def node_of(tensor: str) -> Optional[str]:
        """The node writing `tensor` ("op:0", or "^op" for a control input), if it is in the graph."""
        tensor = tensor.lstrip("^")
        if tensor in producer:
            return producer[tensor]
        op = tensor.rsplit(":", 1)[0]
        return op if op in by_name else None

    inputs, outputs = list(inputs), list(outputs)
    stop = inputs or [p for t in graph.inputs if (p := node_of(t.name))]
    start = outputs or [p for t in graph.outputs if (p := node_of(t.name))]
    return ancestors([n for n in start if n in by_name],
                     lambda name: [p for t in by_name[name].inputs if (p := node_of(t))], stop)
