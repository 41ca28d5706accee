"""The Edge TPU rules of resources/devices/edgetpu.toml, applied to each operator of a TFLite model.

judge() says for every operator, on its own, whether the Edge TPU can run it and why not; the
partition (everything after the first operator that cannot map runs on the CPU) is applied on top
by edgetpu.py. Checks named in the table are the functions in CHECKS."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from ..graph import Graph, Node
from .report import CPU, DEVICE, UNSUPPORTED
from .tables import load_table

ALREADY_COMPILED = "edgetpu-custom-op"


@dataclass(frozen=True)
class Judgement:
    where: str
    reason: str
    rule: str
    confirmed: bool = True
    fix: str = ""  # kind of suggestion that fixes it (see the table's [[not_supported]] rows)
    fix_text: str = ""


def _non_one(shape) -> list[int]:
    return [d for d in (shape or ()) if d is None or d > 1]


def _fmt(shape) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]" if shape is not None else "?"


def _inputs(node: Node):
    return node.attrs.get("input_tensors", ())


def _constant(node: Node, tensor) -> bool:
    return tensor.name in node.attrs.get("constant_inputs", ())


def _axes(consts, node: Node, rank: int) -> Optional[set[int]]:
    value = consts.value(node.attrs["index"], 1)
    if value is None:
        return None
    return {int(a) % rank for a in value.reshape(-1)} if rank else set()


def _padded_axes(consts, node: Node) -> Optional[set[int]]:
    value = consts.value(node.attrs["index"], 1)
    if value is None or value.ndim != 2:
        return None
    return {i for i, row in enumerate(value) if any(int(v) != 0 for v in row)}


def _xy(rank: int) -> set[int]:
    return {rank - 3, rank - 2} if rank >= 3 else set()


def _reduced_or_padded(node: Node, consts) -> tuple[Optional[set[int]], int, str]:
    rank = len(_inputs(node)[0].shape or ()) if _inputs(node) else 0
    if node.op in ("PAD", "PADV2", "MIRROR_PAD"):
        return _padded_axes(consts, node), rank, "pads"
    return _axes(consts, node, rank), rank, "reduces"


# ---------------------------------------------------------------- constraint checks
# Each returns None when the op passes, else one plain sentence saying what breaks the rule.

def _no_fused_activation(node, row, consts):
    act = node.attrs.get("options", {}).get("fused_activation_function", "NONE")
    if act not in (None, "NONE", 0):
        return (f"the converter fused a {act} activation into this {node.op}, and the Edge TPU runs "
                f"{row.get('name', node.op)} only without one")
    return None


def _same_dilation(node, row, consts):
    o = node.attrs.get("options", {})
    h, w = o.get("dilation_h_factor", 1), o.get("dilation_w_factor", 1)
    return None if h == w else f"its dilation differs in x ({w}) and y ({h})"


def _default_weights(node, row, consts):
    fmt = node.attrs.get("options", {}).get("weights_format", 0)
    return None if fmt in (0, "DEFAULT") else "its weights are not in the default format"


def _output_1d(node, row, consts):
    shape = node.outputs[0].shape if node.outputs else None
    if shape is not None and len(_non_one(shape)) > 1:
        return f"its output {_fmt(shape)} has more than one dimension larger than 1 (it must be 1-D)"
    return None


def _softmax_1d(node, row, consts):
    shape = _inputs(node)[0].shape if _inputs(node) else None
    limit = int(row.get("max_elements", 16000))
    if shape is None:
        return "its input size is unknown"
    if len(_non_one(shape)) > 1:
        return f"its input {_fmt(shape)} is not 1-D (Softmax must work on one dimension)"
    size = 1
    for d in shape:
        size *= d or 1
    return None if size <= limit else f"its input has {size:,} elements, more than {limit:,}"


def _strides_one(node, row, consts):
    strides = consts.value(node.attrs["index"], 3)
    if strides is None:
        return "its strides are not constant"
    bad = [int(s) for s in strides.reshape(-1) if int(s) != 1]
    return None if not bad else f"it has strides {[int(s) for s in strides.reshape(-1)]} (all must be 1)"


def _no_ellipsis_new_axis(node, row, consts):
    o = node.attrs.get("options", {})
    if o.get("ellipsis_mask", 0) or o.get("new_axis_mask", 0):
        return "it uses an ellipsis or new-axis mask (both must be 0)"
    return None


def _xy_only(node, row, consts):
    axes, rank, verb = _reduced_or_padded(node, consts)
    if axes is None:
        return f"the dimensions it {verb} are not constant"
    other = sorted(axes - _xy(rank))
    return None if not other else f"it {verb} dimension {other} of a {rank}-D tensor (only x and y are allowed)"


def _no_batch_axis(node, row, consts):
    if node.op == "PACK":
        return "it packs along the batch dimension" if node.attrs.get("options", {}).get("axis", 0) == 0 else None
    if node.op == "SPLIT":
        axis = consts.value(node.attrs["index"], 0)
        return "it splits along the batch dimension" if axis is not None and int(axis.reshape(-1)[0]) == 0 else None
    axes, rank, verb = _reduced_or_padded(node, consts)
    if axes is None:
        return f"the dimensions it {verb} are not constant"
    return f"it {verb} the batch dimension" if 0 in axes else None


def _z_multiple(node, row, consts):
    axes, rank, _ = _reduced_or_padded(node, consts)
    k = int(row.get("z_multiple", 4))
    if axes is None or rank == 0 or (rank - 1) not in axes:
        return None
    z = (_inputs(node)[0].shape or (None,))[-1]
    if z is None or z % k:
        return f"it reduces along z (channels) with a z-dimension of {z}, which is not a multiple of {k}"
    return None


def _concat_constant_zero(node, row, consts):
    ins = _inputs(node)
    constant = [(pos, t) for pos, t in enumerate(ins) if _constant(node, t)]
    if not constant:
        return None
    if len(ins) != 2:
        return f"it has a constant input and {len(ins)} inputs (a constant is allowed only with exactly 2)"
    pos, t = constant[0]
    value = consts.value(node.attrs["index"], pos)
    zero = node.attrs.get("quantization", {}).get(t.name, {}).get("zero_point", (0,))
    zero = zero[0] if zero else 0
    if value is None or (value != zero).any():
        return f"its constant input '{t.name}' is not all zeros"
    return None


def _squeeze_leading(node, row, consts):
    shape = _inputs(node)[0].shape if _inputs(node) else None
    if not shape:
        return None
    dims = node.attrs.get("options", {}).get("squeeze_dims", ()) or ()
    rank = len(shape)
    squeezed = {d % rank for d in dims} if dims else {i for i, d in enumerate(shape) if d == 1}
    first_big = next((i for i, d in enumerate(shape) if d != 1), rank)
    inner = sorted(d for d in squeezed if d > first_big)
    return None if not inner else f"it removes dimension {inner} after a larger one (only leading 1s may go)"


def _batch_one(node, row, consts):
    for t in (*_inputs(node)[:1], *node.outputs):
        if t.shape and t.shape[0] not in (1, None):
            return f"tensor '{t.name}' {_fmt(t.shape)} has a batch larger than 1 (it must be 3-D)"
    return None


def _alpha_1d(node, row, consts):
    ins = _inputs(node)
    alpha = ins[1].shape if len(ins) > 1 else None
    if alpha is None:
        return None
    big = [i for i, d in enumerate(alpha) if d is None or d > 1]
    if len(big) > 1 or (big and big[0] != len(alpha) - 1):
        return f"its alpha {_fmt(alpha)} is not 1-D along the innermost dimension (use shared_axes=[1, 2])"
    return None


CHECKS: dict[str, Callable] = {
    "no_fused_activation": _no_fused_activation, "same_dilation": _same_dilation,
    "default_weights": _default_weights, "output_1d": _output_1d, "softmax_1d": _softmax_1d,
    "strides_one": _strides_one, "no_ellipsis_new_axis": _no_ellipsis_new_axis, "xy_only": _xy_only,
    "no_batch_axis": _no_batch_axis, "z_multiple": _z_multiple,
    "concat_constant_zero": _concat_constant_zero, "squeeze_leading": _squeeze_leading,
    "batch_one": _batch_one, "alpha_1d": _alpha_1d,
}


# ---------------------------------------------------------------- general rules and the verdict

def _general(node: Node, general: dict) -> list[tuple[str, str, str]]:
    """(rule, reason, fix) for each general rule the op breaks: types, dynamic sizes, rank."""
    out = []
    compute, params = set(general["compute_types"]), set(general["parameter_types"])
    inner = int(general["max_innermost_dims"])
    tensors = [(t, _constant(node, t)) for t in _inputs(node)] + [(t, False) for t in node.outputs]
    for t, const in tensors:
        allowed = params if const else compute
        if t.dtype not in allowed:
            out.append(("general:int8", f"it works on {t.dtype} data ('{t.name}'); the Edge TPU computes "
                        "only on int8/uint8", "quantize_fully"))
            break
    for t, const in tensors:
        if const:
            continue
        if t.shape is None or any(d is None for d in t.shape[1:]):
            out.append(("general:static", f"tensor '{t.name}' {_fmt(t.shape)} has a size only known "
                        "while the model runs; the Edge TPU needs sizes fixed when compiling", "fix_batch"))
            break
    for t, const in tensors:
        if not const and t.shape and any(d not in (1, None) for d in t.shape[:-inner]):
            out.append(("general:rank", f"tensor '{t.name}' {_fmt(t.shape)} has a dimension larger than 1 "
                        f"outside the {inner} innermost ones", ""))
            break
    return out


def _edge_conversion(node: Node, graph: Graph) -> Optional[Judgement]:
    """A float->int8 QUANTIZE at a model input or an int8->float DEQUANTIZE at a model output
    stays on the CPU without ending the Edge TPU part (the compiler treats the edges so)."""
    ins = _inputs(node)
    model_in = {t.name for t in graph.inputs}
    model_out = {t.name for t in graph.outputs}
    if node.op == "QUANTIZE" and ins and ins[0].name in model_in and ins[0].dtype.startswith("float"):
        return Judgement(CPU, "Converts the float input to int8 on the CPU; the Edge TPU part starts after it.",
                         "edge:quantize")
    if node.op == "DEQUANTIZE" and node.outputs and node.outputs[0].name in model_out:
        return Judgement(CPU, "Converts the int8 result back to float on the CPU, after the Edge TPU part.",
                         "edge:dequantize")
    return None


def applicable_rows(op: str, runtime: int) -> tuple[list[dict], list[dict]]:
    """(rows of `op` that apply to `runtime`, all rows of `op`)."""
    rows = [r for r in load_table("edgetpu").get("op", []) if r["tflite"] == op]
    fits = [r for r in rows if r.get("min_runtime", 0) <= runtime <= r.get("max_runtime", 10 ** 6)]
    return fits, rows


def judge_node(node: Node, graph: Graph, consts, runtime: int) -> Judgement:
    table = load_table("edgetpu")
    if node.op == ALREADY_COMPILED:
        return Judgement(DEVICE, "Already compiled for the Edge TPU.", "compiled")
    edge = _edge_conversion(node, graph)
    if edge is not None:
        return edge
    fits, rows = applicable_rows(node.op, runtime)
    failures: list[tuple[str, str, str]] = []
    confirmed = True
    if not rows:
        info = next((r for r in table.get("not_supported", []) if r["tflite"] == node.op), None)
        if info is not None:
            return Judgement(UNSUPPORTED, info["reason"], f"op:{node.op}", info["status"] == "confirmed",
                             info.get("fix", ""), info.get("suggestion", ""))
        return Judgement(UNSUPPORTED, f"{node.op} is not an Edge TPU op (Coral's table of supported "
                         "operations does not list it), so it runs on the CPU.", f"op:{node.op}")
    if not fits:
        need = min(r.get("min_runtime", 0) for r in rows)
        failures.append((f"runtime:{need}", f"{node.op} needs Edge TPU runtime {need} or later, and the "
                         f"model is compiled for runtime {runtime}", "runtime"))
        row = rows[0]
    else:
        row = fits[0]
        current = runtime >= int(table["general"]["default_runtime"])  # the boundary does not matter then
        confirmed = row.get("status") == "confirmed" and (
            current or row.get("runtime_status", row.get("status")) == "confirmed")
    failures += _general(node, table["general"])
    if fits:
        for name in row.get("checks", []):
            reason = CHECKS[name](node, row, consts)
            if reason:
                failures.append((f"check:{name}", reason, "activation_fused" if name == "no_fused_activation" else ""))
        max_version = row.get("max_version")
        if max_version is not None and node.attrs.get("version", 1) > max_version:
            failures.append(("general:version", f"the converter wrote version {node.attrs.get('version')} of "
                             f"{node.op}; the compiler knows up to {max_version}", ""))
    if failures:
        rule, first, fix = failures[0]
        text = f"{node.op} cannot run on the Edge TPU: {first}."
        if len(failures) > 1:
            text += f" Also, {failures[1][1]}."
        return Judgement(UNSUPPORTED, text, rule, confirmed, fix)
    text = "Runs on the Edge TPU."
    if node.op in ("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "RESHAPE") and row.get("limitation"):
        text += " " + row["limitation"].split(". ", 1)[-1]  # the "may stay on the CPU" caveat
    if not confirmed:
        text += " (table row unconfirmed)"
    return Judgement(DEVICE, text, f"op:{node.op}", confirmed)


def judge(graph: Graph, consts, runtime: int) -> list[Judgement]:
    return [judge_node(n, graph, consts, runtime) for n in graph.nodes]
