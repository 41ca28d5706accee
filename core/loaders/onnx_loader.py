"""Open an ONNX model: one node per NodeProto of the main graph, shapes from ONNX shape inference.

onnx.load only parses protobuf; no operator is executed and no code from the file runs."""
from __future__ import annotations

from pathlib import Path

from ..errors import MissingDependency, UserError
from ..graph import Graph, ModelInfo, Node, TensorInfo
from . import LoadedModel

_MAX_ATTR_LIST = 16  # attribute lists longer than this are summarised, not copied


def _onnx():
    try:
        import onnx
        return onnx
    except ImportError as exc:
        raise MissingDependency("Reading ONNX models needs the onnx package; install it with pip install onnx.") from exc


def load(path: Path, fmt: str, options, progress) -> LoadedModel:
    onnx = _onnx()
    path = Path(path)
    progress(0.1, "Reading the ONNX protobuf")
    try:
        # Parse first without external weights, so a damaged file is told apart from a missing data file.
        model = onnx.load(str(path), format="protobuf", load_external_data=False)
    except OSError as exc:
        raise UserError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    except Exception as exc:  # protobuf's DecodeError and friends
        raise UserError(f"{path} is not a valid ONNX model (it does not parse as one); export it again.") from exc
    # Protobuf accepts many byte strings (even an empty file) as a message of default values.
    if model.ir_version <= 0 or not model.opset_import or not (len(model.graph.node) or len(model.graph.output)):
        raise UserError(f"{path} is not an ONNX model (it has no IR version, opset or graph); export it again.")
    notes = []
    external = _external_files(model, path.parent)
    if external:
        try:
            from onnx.external_data_helper import load_external_data_for_model
            load_external_data_for_model(model, str(path.parent))
        except Exception as exc:
            raise UserError(
                f"{path} keeps its weights in separate files that could not be read ({exc}). "
                "Keep the weight files next to the .onnx file."
            ) from exc
        notes.append("The weights are stored in separate files next to the model.")
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        notes.append(f"The ONNX checker reports a problem: {str(exc).strip().splitlines()[0][:200]}")
    progress(0.5, "Inferring tensor shapes")
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception as exc:  # custom domains, models over 2 GB: show what the file itself declares
        inferred = model
        notes.append(f"Shape inference failed ({type(exc).__name__}); only the shapes the file declares are shown.")
    graph, params = describe(inferred)
    if any(n.attrs.get("subgraphs") for n in graph.nodes):
        notes.append("Some ops (If, Loop, Scan) hold subgraphs; their inner ops are not listed.")
    info = ModelInfo(
        path=str(path), format="onnx", graph=graph, param_count=params,
        size_bytes=path.stat().st_size + sum(f.stat().st_size for f in external if f.is_file()),
        notes=tuple(notes),
    )
    return LoadedModel(info=info, handle=model)


def _weights_in(node) -> int:
    """Elements of the weights a node holds itself: a Constant's value (PaddlePaddle's exporter keeps
    weights there) and, recursively, the initializers and Constants of If/Loop/Scan bodies (Silero VAD
    keeps its whole network in If branches)."""
    count = 0
    if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
        value = next((a.t for a in node.attribute if a.name == "value" and a.HasField("t")), None)
        if value is not None:
            count += _elements(tuple(int(d) for d in value.dims))
    for a in node.attribute:
        for body in ([a.g] if a.HasField("g") else []) + list(a.graphs):
            count += sum(_elements(tuple(int(d) for d in t.dims)) for t in body.initializer)
            count += sum(_weights_in(inner) for inner in body.node)
    return count


def describe(model) -> tuple[Graph, int]:
    """(graph, parameter count) of a ModelProto, ideally one that went through shape inference."""
    onnx = _onnx()
    g = model.graph
    known: dict[str, TensorInfo] = {}
    for vi in list(g.value_info) + list(g.input) + list(g.output):
        known[vi.name] = _value_info(vi)
    initializers = {t.name for t in g.initializer}
    params = 0
    for t in g.initializer:
        shape = tuple(int(d) for d in t.dims)
        known.setdefault(t.name, TensorInfo(t.name, shape, _dtype(t.data_type)))
        params += _elements(shape)

    def info(name: str) -> TensorInfo:
        return known.get(name) or TensorInfo(name, None, "undefined")

    nodes = []
    taken = {n.name for n in g.node if n.name}
    for i, n in enumerate(g.node):
        name = n.name
        if not name:  # some exporters leave names empty; give a stable, unique one
            name = f"{n.op_type}_{i}"
            while name in taken:
                name += "_"
            taken.add(name)
        inputs = tuple(t for t in n.input if t)  # "" marks an omitted optional input
        attrs = _attrs(onnx, n)
        consts = tuple(t for t in inputs if t in initializers)
        if consts:
            attrs["constant_inputs"] = consts
        if n.domain and n.domain != "ai.onnx":
            attrs["domain"] = n.domain
        params += _weights_in(n)
        nodes.append(Node(name=name, op=n.op_type, inputs=inputs,
                          outputs=tuple(info(t) for t in n.output if t), attrs=attrs))
    graph = Graph(
        nodes=tuple(nodes),
        # Old exporters list initializers among the inputs too; they are weights, not inputs.
        inputs=tuple(known[vi.name] for vi in g.input if vi.name not in initializers),
        outputs=tuple(known[vi.name] for vi in g.output),
    )
    return graph, params


def _value_info(vi) -> TensorInfo:
    t = vi.type
    if not t.HasField("tensor_type"):  # sequences, maps, optionals
        return TensorInfo(vi.name, None, t.WhichOneof("value") or "undefined")
    tt = t.tensor_type
    shape = None
    if tt.HasField("shape"):
        shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim)
    return TensorInfo(vi.name, shape, _dtype(tt.elem_type))


def _dtype(elem_type: int) -> str:
    onnx = _onnx()
    if not elem_type:
        return "undefined"
    try:
        return str(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except Exception:
        return onnx.TensorProto.DataType.Name(elem_type).lower()


def _elements(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _attrs(onnx, node) -> dict:
    out: dict = {}
    subgraphs = []
    for a in node.attribute:
        if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
            subgraphs.append(a.name)
            continue
        if a.type == onnx.AttributeProto.TENSOR:
            out[a.name] = f"<tensor {list(a.t.dims)} {_dtype(a.t.data_type)}>"
            continue
        try:
            value = onnx.helper.get_attribute_value(a)
        except Exception:
            continue
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif isinstance(value, list):
            value = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
            value = f"<{len(value)} values>" if len(value) > _MAX_ATTR_LIST else tuple(value)
        if isinstance(value, (bool, int, float, str, tuple)):
            out[a.name] = value
    if subgraphs:
        out["subgraphs"] = tuple(subgraphs)
    return out


def _external_files(model, folder: Path) -> list[Path]:
    """The weight files a model keeps outside itself, each once however many tensors it holds."""
    from onnx.external_data_helper import uses_external_data

    names = {
        e.value for t in model.graph.initializer if uses_external_data(t)
        for e in t.external_data if e.key == "location"
    }
    return [folder / n for n in sorted(names)]
