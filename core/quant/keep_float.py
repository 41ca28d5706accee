"""Keep chosen layers of an int8 model in float.

The person names layers of the original model (ConvertOptions.keep_float, e.g. the Keras layer "conv2").
Each int8 target turns those names into the converted model's ops with the same source map validation
uses (validate/source_map.py): TFLite denylists their output tensors in the quantizer, OpenVINO gives them
to NNCF as an ignored scope.

A layer kept in float also reads float inputs: an int8 input would already have lost what the layer needs
(one channel a thousand times the others leaves the rest a step or two of the int8 scale). So the ops
making its inputs are kept in float with it, walking back through ops that only move or pass on data
(pooling, reshapes, concatenation, activations) to, and including, the first op that computes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from ..errors import UserError

# Ops whose output carries their input's values (or a max/average of them) on: the tensor a kept layer reads
# has the same range problem as the tensor before them. TFLite builtin names, then OpenVINO op types.
PASS_THROUGH = frozenset({
    "MAX_POOL_2D", "AVERAGE_POOL_2D", "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "CONCATENATION", "PAD", "PADV2",
    "TRANSPOSE", "STRIDED_SLICE", "SLICE", "SPLIT", "SPLIT_V", "GATHER", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH",
    "RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR", "PACK", "UNPACK", "RELU", "RELU6", "RELU_N1_TO_1", "LEAKY_RELU",
    "QUANTIZE", "DEQUANTIZE",
    "MaxPool", "AvgPool", "Reshape", "Squeeze", "Unsqueeze", "Concat", "Pad", "Transpose", "StridedSlice", "Slice",
    "Split", "VariadicSplit", "Gather", "DepthToSpace", "SpaceToDepth", "Interpolate", "Relu", "Clamp", "PRelu",
    "Convert", "FakeQuantize",
})
_NOT_OPS = frozenset({"Parameter", "Constant", "Result", "InputLayer", "Placeholder"})


@dataclass(frozen=True)
class Op:
    """One op of a converted model, as keep-float needs it."""

    name: str
    type: str
    inputs: tuple[str, ...]  # tensor names it reads
    outputs: tuple[str, ...]  # tensor names it writes


@dataclass(frozen=True)
class KeepPlan:
    asked: tuple[str, ...]  # the original nodes the person named
    ops: tuple[str, ...]  # the converted model's ops kept in float
    kept: tuple[str, ...]  # the original nodes those ops come from (the asked ones and the layers feeding them)
    added: dict = field(default_factory=dict)  # asked node -> original nodes kept with it because they feed it

    def record(self, why: str) -> dict:
        """What the manifest records (Artifact.details["keep_float"])."""
        return {"asked": list(self.asked), "kept": list(self.kept), "ops": list(self.ops), "why": why}

    def sentence(self) -> str:
        """One plain sentence: what stays in float."""
        extra = sorted({n for names in self.added.values() for n in names} - set(self.asked))
        own = list(self.asked) + [n for n in self.kept if n not in self.asked and n not in extra]
        text = f"Kept in float: {', '.join(own)}"
        if extra:
            text += f", with {', '.join(extra)}, which make{'s' if len(extra) == 1 else ''} their inputs"
        return text + f" ({len(self.ops)} op{'s' if len(self.ops) != 1 else ''}); the rest is int8."


def plan_keep(ops: list[Op], keep: Iterable[str], source_nodes: Callable[[str], tuple[str, ...]],
              known: Optional[set] = None) -> KeepPlan:
    """The ops to keep in float for the original nodes `keep`. `source_nodes(op name)` maps an op to the original
    nodes it comes from; `known` is the original model's node names (a name outside it is refused as a typo)."""
    asked = tuple(dict.fromkeys(keep))
    producer = {t: op for op in ops for t in op.outputs}
    chosen: dict[str, list[str]] = {}  # asked node -> ops of its own
    for op in ops:
        for s in source_nodes(op.name):
            if s in asked:
                chosen.setdefault(s, []).append(op.name)
    missing = [a for a in asked if a not in chosen]
    if missing:
        unknown = [m for m in missing if known is not None and m not in known]
        names = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        if unknown:
            raise UserError(f"The model has no layer named {names}; give layer names as the node list shows them.",
                            cli_hint="edgewizard inspect MODEL lists them")
        raise UserError(f"{names} {'is' if len(missing) == 1 else 'are'} not part of the converted model (outside "
                        "the cut, or folded into another layer by the converter), so there is nothing to keep in float.")
    by_name = {op.name: op for op in ops}
    kept_ops: list[str] = []
    added: dict[str, list[str]] = {}
    for node, own in chosen.items():
        for name in own:
            if name not in kept_ops:
                kept_ops.append(name)
        for name in _feeding(own, by_name, producer):
            if name not in kept_ops:
                kept_ops.append(name)
            for s in source_nodes(name):
                if s != node and s not in added.setdefault(node, []):
                    added[node].append(s)
    kept = []
    for name in kept_ops:
        for s in source_nodes(name):
            if s not in kept:
                kept.append(s)
    return KeepPlan(asked=asked, ops=tuple(kept_ops), kept=tuple(kept), added={k: tuple(v) for k, v in added.items()})


def _feeding(own: list[str], by_name: dict, producer: dict) -> list[str]:
    """Ops that make the inputs of the ops `own`: back through pass-through ops to the first op that computes."""
    found: list[str] = []
    stack = [t for name in own for t in by_name[name].inputs]
    seen = set(own)
    while stack:
        op = producer.get(stack.pop())
        if op is None or op.name in seen or op.type in _NOT_OPS:
            continue  # a model input or a constant (weights): nothing to keep
        seen.add(op.name)
        found.append(op.name)
        if op.type in PASS_THROUGH or _adds_constant(op, producer):
            stack.extend(op.inputs)
    return found


def _adds_constant(op: Op, producer: dict) -> bool:
    """A bias or scale op (OpenVINO keeps a convolution's bias as an Add of a constant): it passes on the values
    of its one computed input."""
    if op.type not in ("Add", "Multiply", "Subtract", "ADD", "MUL", "SUB"):
        return False
    computed = [t for t in op.inputs if t in producer and producer[t].type not in _NOT_OPS]
    return len(computed) == 1


def tflite_ops(data: bytes) -> list[Op]:
    """The ops of a TFLite model, each named as validation names it (its first output tensor)."""
    from ..loaders.tflite_loader import parse

    graph, *_ = parse(data, "the float model")
    return [Op(n.name, n.op, tuple(n.inputs), tuple(t.name for t in n.outputs)) for n in graph.nodes]


def openvino_ops(model) -> list[Op]:
    """The ops of an OpenVINO model, by friendly name; a tensor is named "<op>:<port>"."""
    ops = []
    for op in model.get_ordered_ops():
        ins = tuple(f"{i.get_source_output().get_node().get_friendly_name()}:{i.get_source_output().get_index()}"
                    for i in op.inputs())
        outs = tuple(f"{op.get_friendly_name()}:{k}" for k in range(op.get_output_size()))
        ops.append(Op(op.get_friendly_name(), op.get_type_name(), ins, outs))
    return ops


def keep_plan(ops: list[Op], job, ov_model=None) -> Optional[KeepPlan]:
    """For a conversion job (convert/base.py TargetJob) whose options keep layers in float: the plan, else None.
    `ov_model`: the OpenVINO model the ops are of (its renamed ops are paired with the TensorFlow names)."""
    keep = job.options.keep_float
    if not keep:
        return None
    from ..validate.source_map import mapper

    original = job.original
    if original is None:
        raise UserError("Layers can be kept in float only when converting from the original model.")
    find = mapper(original, job.cut)
    if ov_model is not None:
        from .ov_order import openvino_mapper

        find = openvino_mapper(ov_model, job.cut, find)
    return plan_keep(ops, keep, find, {n.name for n in original.nodes})
