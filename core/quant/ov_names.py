"""Name OpenVINO ops after the TensorFlow ops of the cut they compute, by their values.

OpenVINO's TensorFlow frontend renames most ops while converting (layout changes move the names about,
and new ops are named by a process-wide counter), so an IR op's name rarely says which layer it came from.
The values do: the float IR and the cut compute the same tensors, maybe in another layout. Statistics that
do not depend on the layout (size, mean, spread, min, max) of one batch find each op's TensorFlow twin."""
from __future__ import annotations

# TensorFlow op types an OpenVINO op type is preferred to match when several have the same values.
TWINS = {
    "Convolution": ("Conv2D",), "GroupConvolution": ("DepthwiseConv2dNative",), "Add": ("BiasAdd", "AddV2", "Add"),
    "Relu": ("Relu",), "Clamp": ("Relu6",), "MaxPool": ("MaxPool",), "AvgPool": ("AvgPool",), "MatMul": ("MatMul",),
    "ReduceMean": ("Mean",), "Softmax": ("Softmax",), "Multiply": ("Mul",), "Reshape": ("Reshape",),
    "Concat": ("ConcatV2",), "Sigmoid": ("Sigmoid",), "Swish": ("Mul",), "HSwish": ("Mul",),
}
SKIP_TF = frozenset({"Const", "Identity", "Placeholder", "NoOp", "Shape", "StridedSlice", "Pack"})
TOLERANCE = 1e-3


def _signature(a):
    import numpy as np

    a = np.asarray(a, dtype=np.float64).ravel()
    return (a.size, float(a.mean()), float(a.std()), float(a.min()), float(a.max()))


def _close(x, y) -> bool:
    if x[0] != y[0]:
        return False
    scale = max(abs(x[3]), abs(x[4]), abs(y[3]), abs(y[4]), 1e-6)
    return all(abs(u - v) <= TOLERANCE * scale for u, v in zip(x[1:], y[1:]))


def tf_values(cut, feed: list) -> list[tuple[str, str, object]]:
    """(op name, op type, first output) of every float op of the cut's GraphDef on `feed`, in graph order;
    empty when the graph cannot be run op by op."""
    import tensorflow as tf

    gd = tf.compat.v1.GraphDef()
    with open(cut.path, "rb") as fh:
        gd.ParseFromString(fh.read())
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(gd, name="")
    ops = [op for op in graph.get_operations()
           if op.type not in SKIP_TF and op.outputs and op.outputs[0].dtype.is_floating
           and not op._control_flow_context]
    feeds = {graph.get_tensor_by_name(f"{t.name}:0"): x for t, x in zip(cut.inputs, feed)}
    try:
        with tf.compat.v1.Session(graph=graph) as session:
            values = session.run([op.outputs[0] for op in ops], feeds)
    except Exception:  # noqa: BLE001 - naming is a nicety; the analysis goes on with the IR's own names
        return []
    return [(op.name, op.type, v) for op, v in zip(ops, values)]


def names_by_value(cut, feed: list, values: dict) -> dict[str, str]:
    """{IR op name: TensorFlow op name} for the ops in `values` ({name: (op type, float array)}) whose values
    one TensorFlow op of the cut shares."""
    if cut.kind != "graphdef":
        return {}
    found = tf_values(cut, feed)
    by_size: dict = {}
    for name, kind, v in found:
        sig = _signature(v)
        by_size.setdefault(sig[0], []).append((name, kind, sig))
    out = {}
    for ov_name, (ov_kind, array) in values.items():
        sig = _signature(array)
        hits = [(name, kind) for name, kind, s in by_size.get(sig[0], ()) if _close(sig, s)]
        if not hits:
            continue
        preferred = [name for name, kind in hits if kind in TWINS.get(ov_kind, ())]
        out[ov_name] = preferred[0] if preferred else hits[-1][0]
    return out
