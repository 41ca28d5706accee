"""Give OpenVINO ops back the TensorFlow names the conversion took from them.

OpenVINO's TensorFlow frontend turns an NHWC Conv2D into Transpose-Convolution-Transpose and then moves
the transposes away, and the ops it makes are named "Convolution_17", "Transpose_325": the layer names a
person knows are gone for exactly the layers the quantization doctor talks about. The ops still come in
the same order, so each OpenVINO op type is paired with its TensorFlow op types in topological order, and
only where both sides have the same number of them (a fusion that changes the count leaves that type
unnamed rather than named wrongly)."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

# OpenVINO op type -> the TensorFlow op types it comes from.
TF_TYPES = {
    "Convolution": ("Conv2D",),
    "GroupConvolution": ("DepthwiseConv2dNative",),
    "MatMul": ("MatMul", "BatchMatMulV2"),
    "Add": ("BiasAdd", "AddV2", "Add"),
    "Relu": ("Relu",),
    "Clamp": ("Relu6",),
    "MaxPool": ("MaxPool",),
    "AvgPool": ("AvgPool",),
    "Softmax": ("Softmax",),
    "Sigmoid": ("Sigmoid",),
    "Tanh": ("Tanh",),
    "Multiply": ("Mul",),
    "Concat": ("ConcatV2",),
    "ReduceMean": ("Mean",),
}


def tf_order(graph_path: str) -> list[tuple[str, str]]:
    """(name, op type) of a frozen GraphDef's nodes in topological order (inputs before the nodes reading them)."""
    import tensorflow as tf

    gd = tf.compat.v1.GraphDef()
    gd.ParseFromString(Path(graph_path).read_bytes())
    nodes = {n.name: n for n in gd.node}
    deps = {n.name: [i.lstrip("^").split(":")[0] for i in n.input] for n in gd.node}
    order: list[tuple[str, str]] = []
    done: set[str] = set()
    entered: set[str] = set()  # a TF1 loop (NextIteration -> Merge) is a cycle: each node is entered once
    for start in nodes:
        stack = [(start, False)]
        while stack:
            name, expanded = stack.pop()
            if name in done or name not in nodes:
                continue
            if expanded:
                done.add(name)
                order.append((name, nodes[name].op))
                continue
            if name in entered:
                continue
            entered.add(name)
            stack.append((name, True))
            stack.extend((d, False) for d in reversed(deps[name]) if d not in done and d not in entered)
    return order


def paired_names(model, cut) -> dict[str, str]:
    """OpenVINO friendly name -> the TensorFlow node it comes from, for ops of a model converted from the cut's
    frozen GraphDef whose own names were lost. Empty for other kinds of cut."""
    if cut.kind != "graphdef":
        return {}
    by_type_tf: dict[str, list[str]] = defaultdict(list)
    tf_of = {t: ov for ov, tfs in TF_TYPES.items() for t in tfs}
    for name, op in tf_order(cut.path):
        if op in tf_of:
            by_type_tf[tf_of[op]].append(name)
    by_type_ov: dict[str, list[str]] = defaultdict(list)
    for op in model.get_ordered_ops():
        if op.get_type_name() in TF_TYPES:
            by_type_ov[op.get_type_name()].append(op.get_friendly_name())
    out: dict[str, str] = {}
    for kind, names in by_type_ov.items():
        tf_names = by_type_tf.get(kind, [])
        if len(tf_names) == len(names):
            out.update(zip(names, tf_names))
    return out


def openvino_mapper(model, cut, mapper):
    """`mapper` (validate/source_map.mapper) that also knows the paired names of renamed ops."""
    paired = paired_names(model, cut)

    def find(name: str) -> tuple[str, ...]:
        found = mapper(name)
        if not found and name in paired:
            found = mapper(paired[name])
        return found

    return find
