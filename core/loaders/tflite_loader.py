"""Open a .tflite file by reading its flatbuffer: one node per operator of the main subgraph.

The ops come from the file itself, never from an interpreter: with XNNPACK applied an interpreter
reports the ops it took over as one DELEGATE op, which would hide what a device has to run."""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import MissingDependency, UserError
from ..graph import Graph, ModelInfo, Node, TensorInfo
from . import LoadedModel

# TFLite TensorType -> numpy-style dtype name; types numpy has no name for keep TFLite's own.
_DTYPES = {
    "FLOAT32": "float32", "FLOAT16": "float16", "FLOAT64": "float64", "BFLOAT16": "bfloat16",
    "INT2": "int2", "INT4": "int4", "INT8": "int8", "INT16": "int16", "INT32": "int32", "INT64": "int64",
    "UINT4": "uint4", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32", "UINT64": "uint64",
    "BOOL": "bool", "STRING": "object", "COMPLEX64": "complex64", "COMPLEX128": "complex128",
}
_CUSTOM = 32  # BuiltinOperator.CUSTOM: the op is named by its custom code instead
_MAX_OPTION_LIST = 16  # longer option lists (e.g. a custom op's blob) are summarised, not copied


def schema():
    """The flatbuffer schema module generated from TFLite's schema.fbs."""
    try:
        from ai_edge_litert import schema_py_generated
        return schema_py_generated
    except ImportError:
        pass
    try:
        from tensorflow.lite.python import schema_py_generated
        return schema_py_generated
    except ImportError as exc:
        raise MissingDependency(
            "Reading .tflite files needs the ai-edge-litert package; install it with pip install ai-edge-litert."
        ) from exc


def _enum_names(cls) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


def load(path: Path, fmt: str, options, progress) -> LoadedModel:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    progress(0.2, "Reading the TensorFlow Lite flatbuffer")
    graph, params, signatures, notes = parse(data, str(path))
    info = ModelInfo(
        path=str(path), format="tflite", graph=graph, param_count=params, size_bytes=len(data),
        signatures=signatures, notes=notes,
    )
    return LoadedModel(info=info, handle=Path(path))


def float_tensors(path: Path) -> list[str]:
    """Names of the float tensors an int8 .tflite still computes (op outputs, not weights), for the
    sentence about a model the Edge TPU compiler finds not quantized; empty when the file cannot be read."""
    try:
        graph, *_ = parse(Path(path).read_bytes(), Path(path).name)
    except Exception:  # noqa: BLE001 - only an extra in a sentence about another failure
        return []
    return list(dict.fromkeys(t.name for n in graph.nodes for t in n.outputs if t.dtype in ("float32", "float16")))


def parse(data: bytes, label: str = "the model") -> tuple[Graph, int, tuple[str, ...], tuple[str, ...]]:
    """(graph, parameter count, signature keys, notes) of a .tflite file's bytes.

    Any inconsistency in the file (wrong magic, offsets outside it, absurd counts) is a UserError
    naming `label`: a flatbuffer is read lazily, so a truncated file only shows itself on access."""
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise UserError(f"{label} is not a TensorFlow Lite model (no TFL3 identifier); check that the file is a .tflite model.")
    s = schema()
    try:
        return _parse(s, data)
    except UserError:
        raise
    except Exception as exc:  # flatbuffers raises struct.error / IndexError / UnicodeDecodeError on bad offsets
        raise UserError(
            f"{label} is damaged or truncated: its TensorFlow Lite structure points outside the file or to "
            "invalid data; export or download it again."
        ) from exc


class _Damaged(Exception):
    pass


def _count(n: int, data: bytes, per_item: int = 4) -> int:
    # A garbage vector length would otherwise make us loop for billions of items.
    if n < 0 or n * per_item > len(data):
        raise _Damaged(f"vector of {n} items in a {len(data)}-byte file")
    return n


def _parse(s, data: bytes):
    model = s.Model.GetRootAs(data, 0)
    op_names = _enum_names(s.BuiltinOperator)
    type_names = _enum_names(s.TensorType)
    opcodes = []
    for i in range(_count(model.OperatorCodesLength(), data)):
        code = model.OperatorCodes(i)
        # deprecated_builtin_code is an int8 that saturates at 127; builtin_code holds larger codes.
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == _CUSTOM:
            custom = code.CustomCode()
            opcodes.append(((custom or b"CUSTOM").decode("utf-8", "replace"), code.Version()))
        else:
            opcodes.append((op_names.get(builtin, f"BUILTIN_{builtin}"), code.Version()))

    buffers = []  # bytes of constant data per buffer index (0 is the empty sentinel)
    for i in range(_count(model.BuffersLength(), data)):
        buf = model.Buffers(i)
        size = buf.DataLength()
        if size:
            # The generated API has no bounds checks; the vector's start is needed to check its end.
            end = buf._tab.Vector(buf._tab.Offset(4)) + size
            if end > len(data):
                raise _Damaged("buffer data past end of file")
        elif buf.Offset() > 1:  # models over 2 GB keep their weights after the flatbuffer
            size = buf.Size()
            if buf.Offset() + size > len(data):
                raise _Damaged("external buffer past end of file")
        buffers.append(size)

    if _count(model.SubgraphsLength(), data) == 0:
        raise UserError("The TensorFlow Lite model has no subgraph: there is nothing to run in it.")
    sub = model.Subgraphs(0)
    tensors = [_tensor(sub.Tensors(i), i, type_names) for i in range(_count(sub.TensorsLength(), data))]
    tensors = _unique_names(tensors)
    constant = set()
    params = 0
    for i in range(sub.TensorsLength()):
        t = sub.Tensors(i)
        b = t.Buffer()
        if 0 < b < len(buffers) and buffers[b] and not t.IsVariable():
            constant.add(i)
            params += _elements(tensors[i][0].shape)

    nodes = []
    used_names: set[str] = set()
    for k in range(_count(sub.OperatorsLength(), data)):
        op = sub.Operators(k)
        idx = op.OpcodeIndex()
        if idx >= len(opcodes):
            raise _Damaged("operator code index out of range")
        op_name, version = opcodes[idx]
        ins = [op.Inputs(j) for j in range(_count(op.InputsLength(), data))]
        outs = [op.Outputs(j) for j in range(_count(op.OutputsLength(), data))]
        for t in ins + outs:
            if t >= len(tensors):
                raise _Damaged("tensor index out of range")
        ins = [t for t in ins if t >= 0]  # -1 marks an omitted optional input
        outs = [t for t in outs if t >= 0]
        name = tensors[outs[0]][0].name if outs else f"{op_name}_{k}"
        if name in used_names:
            name = f"{name}_{k}"
        used_names.add(name)
        attrs = {"index": k, "version": version, "constant_inputs": tuple(tensors[t][0].name for t in ins if t in constant)}
        attrs["input_tensors"] = tuple(tensors[t][0] for t in ins)
        quant = {tensors[t][0].name: tensors[t][1] for t in ins + outs if tensors[t][1]}
        if quant:
            attrs["quantization"] = quant
        opts = _options(s, op)
        if opts:
            attrs["options"] = opts
        nodes.append(Node(
            name=name, op=op_name, inputs=tuple(tensors[t][0].name for t in ins),
            outputs=tuple(tensors[t][0] for t in outs), attrs=attrs,
        ))

    graph = Graph(
        nodes=tuple(nodes),
        inputs=tuple(tensors[sub.Inputs(j)][0] for j in range(_count(sub.InputsLength(), data))),
        outputs=tuple(tensors[sub.Outputs(j)][0] for j in range(_count(sub.OutputsLength(), data))),
    )
    signatures = tuple(
        (model.SignatureDefs(j).SignatureKey() or b"").decode("utf-8", "replace")
        for j in range(_count(model.SignatureDefsLength(), data))
    )
    notes = []
    if model.SubgraphsLength() > 1:
        notes.append(
            f"The model has {model.SubgraphsLength()} subgraphs (control flow such as WHILE or IF); "
            "only the main one is shown."
        )
    if any(n.op in ("DELEGATE", "edgetpu-custom-op") for n in nodes):
        notes.append("Part of this model is already compiled for an accelerator and shows as a single op.")
    return graph, params, signatures, tuple(notes)


def _tensor(t, index: int, type_names: dict[int, str]) -> tuple[TensorInfo, dict]:
    name = (t.Name() or b"").decode("utf-8", "replace") or f"tensor_{index}"
    shape = [t.Shape(j) for j in range(t.ShapeLength())]
    if t.ShapeSignatureLength():
        sig = [t.ShapeSignature(j) for j in range(t.ShapeSignatureLength())]
        shape = [None if d < 0 else d for d in sig]
    shape_t = tuple(shape)
    tname = type_names.get(t.Type(), f"type_{t.Type()}")
    info = TensorInfo(name=name, shape=shape_t, dtype=_DTYPES.get(tname, tname.lower()))
    quant = {}
    q = t.Quantization()
    if q is not None and q.ScaleLength():
        quant = {
            "scale": tuple(float(q.Scale(j)) for j in range(q.ScaleLength())),
            "zero_point": tuple(int(q.ZeroPoint(j)) for j in range(q.ZeroPointLength())),
        }
        if q.ScaleLength() > 1:
            quant["quantized_dimension"] = int(q.QuantizedDimension())
    return info, quant


def _unique_names(tensors: list[tuple[TensorInfo, dict]]) -> list[tuple[TensorInfo, dict]]:
    # Names are how nodes refer to tensors, so two tensors must not share one.
    seen: dict[str, int] = {}
    out = []
    for i, (info, quant) in enumerate(tensors):
        if info.name in seen:
            info = TensorInfo(f"{info.name}_{i}", info.shape, info.dtype)
        seen[info.name] = i
        out.append((info, quant))
    return out


def _elements(shape) -> int:
    n = 1
    for d in shape or ():
        n *= d if d and d > 0 else 1
    return n


def _options(s, op) -> dict:
    """The op's builtin options as plain values (fused activation, padding, strides...)."""
    kind = op.BuiltinOptionsType()
    if not kind or op.BuiltinOptions() is None:
        return {}
    obj = s.BuiltinOptionsCreator(kind, op.BuiltinOptions())
    if obj is None:
        return {}
    activations = _enum_names(s.ActivationFunctionType)
    paddings = _enum_names(s.Padding)
    out = {}
    for key, value in vars(obj).items():
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()
        if snake == "fused_activation_function":
            value = activations.get(value, value)
        elif snake == "padding":
            value = paddings.get(value, value)
        elif hasattr(value, "tolist"):
            value = value.tolist()
        if isinstance(value, list):
            if len(value) > _MAX_OPTION_LIST:
                value = f"<{len(value)} values>"
            else:
                value = tuple(value)
        if isinstance(value, (bool, int, float, str, tuple)):
            out[snake] = value
    return out
