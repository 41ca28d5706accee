"""Loaders for .tflite, OpenVINO IR and ONNX: the graph each reports, and clear errors for bad files."""
from __future__ import annotations

import numpy as np
import pytest

from edgewizard.core import loaders
from edgewizard.core.errors import UserError
from edgewizard.core.loaders import onnx_loader, openvino_loader, tflite_loader
from edgewizard.core.plan import LoadOptions
from tests.models import other_formats as models


def _load(module, path, fmt):
    events = []
    loaded = module.load(path, fmt, LoadOptions(), lambda f, m="": events.append((f, m)))
    assert events, "the loader reports progress"
    return loaded


def _check_wiring(graph):
    """Every tensor a node reads is a graph input, a constant, or written by an earlier node."""
    written = {t.name for t in graph.inputs}
    for node in graph.nodes:
        consts = set(node.attrs.get("constant_inputs", ()))
        for t in node.inputs:
            assert t in written or t in consts, f"{node.name} reads {t}, which nothing wrote before it"
        written |= {t.name for t in node.outputs}
    for out in graph.outputs:
        assert out.name in written


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("其他 formats")  # a space and non-ASCII, as users' folders have


@pytest.fixture(scope="module")
def tfl_float(folder):
    return models.tflite_float(folder)


@pytest.fixture(scope="module")
def tfl_int8(folder):
    return models.tflite_int8(folder)


@pytest.fixture(scope="module")
def ir(folder):
    return models.openvino_ir(folder)


@pytest.fixture(scope="module")
def onnx_file(folder):
    return models.onnx_model(folder)


def _interpreter(path):
    # An independent reader of the same file, without XNNPACK so ops are not collapsed.
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    return Interpreter(model_path=str(path),
                       experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)


# --- TFLite ---------------------------------------------------------------------------------------

def test_tflite_float_graph(tfl_float):
    loaded = _load(tflite_loader, tfl_float, "tflite")
    info, g = loaded.info, loaded.info.graph
    assert info.format == "tflite" and info.size_bytes == tfl_float.stat().st_size
    assert [(t.shape, t.dtype) for t in g.inputs] == [((None, 16, 16, 3), "float32")]
    assert [(t.shape, t.dtype) for t in g.outputs] == [((None, models.CLASSES), "float32")]
    ops = [n.op for n in g.nodes]
    assert ops[0] == "CONV_2D" and ops[-1] == "SOFTMAX"
    assert {"MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED"} <= set(ops)
    assert "DELEGATE" not in ops
    # The ops, their names and wiring are the ones the runtime itself reads from the file.
    interp = _interpreter(tfl_float)
    details = interp._get_ops_details()
    tensors = {d["index"]: d for d in interp.get_tensor_details()}
    assert ops == [d["op_name"] for d in details]
    for node, d in zip(g.nodes, details):
        assert node.name == tensors[d["outputs"][0]]["name"]
        assert node.inputs == tuple(tensors[i]["name"] for i in d["inputs"] if i >= 0)
    conv = g.nodes[0]
    assert conv.outputs[0].shape == (None, 16, 16, 4)
    assert conv.attrs["options"]["fused_activation_function"] == "RELU"
    assert len(conv.attrs["constant_inputs"]) == 2  # kernel and bias
    _check_wiring(g)
    # Weights plus the few int32 constants a dynamic-batch Flatten needs.
    assert models.KERAS_PARAMS <= info.param_count <= models.KERAS_PARAMS + 8
    assert info.signatures == ("serving_default",)
    assert loaded.handle == tfl_float


def test_tflite_int8_quantization(tfl_int8):
    g = _load(tflite_loader, tfl_int8, "tflite").info.graph
    assert [(t.shape, t.dtype) for t in g.inputs] == [((1, 16, 16, 3), "int8")]
    assert g.outputs[0].dtype == "int8"
    interp = _interpreter(tfl_int8)
    by_name = {d["name"]: d["quantization_parameters"] for d in interp.get_tensor_details()}
    seen = 0
    for node in g.nodes:
        for tensor, q in node.attrs["quantization"].items():
            want = by_name[tensor]
            assert np.allclose(q["scale"], want["scales"]) and list(q["zero_point"]) == list(want["zero_points"])
            if len(q["scale"]) > 1:
                assert q["quantized_dimension"] == want["quantized_dimension"]
            seen += 1
    assert seen >= 10
    conv = g.nodes[0]
    first = conv.attrs["quantization"][g.inputs[0].name]
    assert first["zero_point"] == (-128,) and abs(first["scale"][0] - 1 / 255) < 1e-4
    assert len(conv.attrs["quantization"][conv.inputs[1]]["scale"]) == 4  # per-channel weights


def _rewrite_opcode(src, dst, **fields):
    """Copy a .tflite with its first operator code changed (flatbuffer object API)."""
    import flatbuffers

    s = tflite_loader.schema()
    model = s.ModelT.InitFromPackedBuf(bytearray(src.read_bytes()), 0)
    for key, value in fields.items():
        setattr(model.operatorCodes[model.subgraphs[0].operators[0].opcodeIndex], key, value)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    dst.write_bytes(bytes(builder.Output()))
    return dst


def test_tflite_custom_and_large_op_codes(tfl_float, folder):
    s = tflite_loader.schema()
    custom = _rewrite_opcode(tfl_float, folder / "custom.tflite", builtinCode=s.BuiltinOperator.CUSTOM,
                             deprecatedBuiltinCode=s.BuiltinOperator.CUSTOM, customCode=b"edgetpu-custom-op")
    g = _load(tflite_loader, custom, "tflite").info.graph
    assert g.nodes[0].op == "edgetpu-custom-op"
    # Codes above 127 live only in builtin_code; deprecated_builtin_code saturates at 127.
    assert s.BuiltinOperator.GELU > 127
    big = _rewrite_opcode(tfl_float, folder / "gelu.tflite", builtinCode=s.BuiltinOperator.GELU,
                          deprecatedBuiltinCode=127)
    assert _load(tflite_loader, big, "tflite").info.graph.nodes[0].op == "GELU"
    hs = _rewrite_opcode(tfl_float, folder / "hs.tflite", builtinCode=s.BuiltinOperator.HARD_SWISH,
                         deprecatedBuiltinCode=s.BuiltinOperator.HARD_SWISH)
    assert _load(tflite_loader, hs, "tflite").info.graph.nodes[0].op == "HARD_SWISH"


def test_tflite_bad_files(tfl_float, folder):
    data = tfl_float.read_bytes()
    rng = np.random.default_rng(3)
    cases = {
        "empty.tflite": b"",
        "garbage.tflite": rng.bytes(3000),
        "magic_then_garbage.tflite": rng.bytes(4) + b"TFL3" + rng.bytes(3000),
        "half.tflite": data[: len(data) // 2],
        "nearly.tflite": data[:-16],
    }
    for name, content in cases.items():
        path = folder / name
        path.write_bytes(content)
        with pytest.raises(UserError, match=name):
            tflite_loader.load(path, "tflite", LoadOptions(), lambda *a: None)
    # Every truncation point, not just a few chosen ones, ends in a UserError.
    path = folder / "cut.tflite"
    for cut in range(0, len(data), 97):
        path.write_bytes(data[:cut])
        with pytest.raises(UserError):
            tflite_loader.load(path, "tflite", LoadOptions(), lambda *a: None)


# --- OpenVINO IR -----------------------------------------------------------------------------------

def test_openvino_graph(ir):
    import openvino as ov

    loaded = _load(openvino_loader, ir, "openvino_ir")
    info, g = loaded.info, loaded.info.graph
    assert isinstance(loaded.handle, ov.Model)
    assert info.size_bytes == ir.stat().st_size + ir.with_suffix(".bin").stat().st_size
    assert [(t.name, t.shape, t.dtype) for t in g.inputs] == [("image", (None, 16, 16, 3), "float32")]
    assert [(t.shape, t.dtype) for t in g.outputs] == [((None, models.CLASSES), "float32")]
    ops = [n.op for n in g.nodes]
    assert ops[0] == "Parameter" and ops[-1] == "Result"
    assert {"Convolution", "Relu", "MaxPool", "Reshape", "MatMul", "Softmax"} <= set(ops)
    assert [n.name for n in g.nodes] == [op.get_friendly_name() for op in loaded.handle.get_ordered_ops()]
    conv = next(n for n in g.nodes if n.op == "Convolution")
    assert conv.outputs[0].shape == (None, 4, 16, 16)  # OpenVINO works in NCHW
    assert conv.attrs["strides"] == (1, 1)
    pool = next(n for n in g.nodes if n.op == "MaxPool")
    assert [t.dtype for t in pool.outputs] == ["float32", "int64"]  # values and indices
    _check_wiring(g)
    assert info.param_count == models.KERAS_PARAMS
    assert openvino_loader.core() is openvino_loader.core()


def test_openvino_missing_bin(ir, folder):
    lonely = folder / "lonely.xml"
    lonely.write_text(ir.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(UserError, match=r"lonely\.bin"):
        openvino_loader.load(lonely, "openvino_ir", LoadOptions(), lambda *a: None)
    with pytest.raises(UserError, match=r"lonely\.bin"):
        loaders.load(lonely)


@pytest.mark.parametrize("damage", ["half_xml", "short_bin", "not_ir", "unknown_op"])
def test_openvino_damaged(ir, folder, damage):
    xml, weights = ir.read_text(encoding="utf-8"), ir.with_suffix(".bin").read_bytes()
    if damage == "half_xml":
        xml = xml[: len(xml) // 2]
    elif damage == "short_bin":
        weights = weights[:100]
    elif damage == "not_ir":
        xml = '<?xml version="1.0"?>\n<net name="x"><nothing/></net>\n'
    else:
        xml = xml.replace('type="Convolution"', 'type="NoSuchOp"')
    path = folder / f"{damage}.xml"
    path.write_text(xml, encoding="utf-8")
    path.with_suffix(".bin").write_bytes(weights)
    with pytest.raises(UserError, match=f"{damage}.xml"):
        openvino_loader.load(path, "openvino_ir", LoadOptions(), lambda *a: None)


# --- ONNX ------------------------------------------------------------------------------------------

def test_onnx_graph(onnx_file):
    import onnx

    loaded = _load(onnx_loader, onnx_file, "onnx")
    info, g = loaded.info, loaded.info.graph
    assert isinstance(loaded.handle, onnx.ModelProto)
    assert [(t.name, t.shape, t.dtype) for t in g.inputs] == [("x", (None, 3, 8, 8), "float32")]
    assert [(t.name, t.shape, t.dtype) for t in g.outputs] == [("y", (None, models.CLASSES), "float32")]
    assert [(n.name, n.op) for n in g.nodes] == [("conv", "Conv"), ("Relu_1", "Relu"), ("flatten", "Flatten"), ("fc", "Gemm")]
    assert g.node("conv").inputs == ("x", "conv_w", "conv_b")
    assert g.node("conv").attrs["pads"] == (1, 1, 1, 1)
    # Shapes of intermediate tensors come from shape inference; the file declares none.
    assert g.node("Relu_1").outputs[0].shape == (None, 4, 8, 8)
    assert g.node("flatten").outputs[0].shape == (None, 256)
    _check_wiring(g)
    assert info.param_count == models.ONNX_PARAMS


def test_onnx_initializers_listed_as_inputs(onnx_file, folder):
    """Old exporters list weights among graph inputs; they must not show as model inputs."""
    import onnx
    from onnx import helper

    model = onnx.load(str(onnx_file))
    for init in model.graph.initializer:
        model.graph.input.append(helper.make_tensor_value_info(init.name, init.data_type, list(init.dims)))
    path = folder / "old_style.onnx"
    onnx.save(model, str(path))
    g = _load(onnx_loader, path, "onnx").info.graph
    assert [t.name for t in g.inputs] == ["x"]


def test_onnx_bad_files(onnx_file, folder):
    from PIL import Image

    data = onnx_file.read_bytes()
    rng = np.random.default_rng(5)
    image = folder / "photo.png"
    Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(image)
    cases = {
        "empty.onnx": b"",
        "garbage.onnx": rng.bytes(3000),
        "half.onnx": data[: len(data) // 2],
        "photo.onnx": image.read_bytes(),
    }
    for name, content in cases.items():
        path = folder / name
        path.write_bytes(content)
        with pytest.raises(UserError, match=name):
            onnx_loader.load(path, "onnx", LoadOptions(), lambda *a: None)
        if content:  # detect_format already rejects empty files before any loader runs
            with pytest.raises(UserError, match=name):
                loaders.load(path)


# --- format detection through core.loaders.load --------------------------------------------------

def test_load_detects_each_format(tfl_float, ir, onnx_file, folder):
    renamed = folder / "model.bin.weird"  # content, not the extension, decides for .tflite
    renamed.write_bytes(tfl_float.read_bytes())
    for path, fmt, first_op in [(tfl_float, "tflite", "CONV_2D"), (renamed, "tflite", "CONV_2D"),
                                (ir, "openvino_ir", "Parameter"), (onnx_file, "onnx", "Conv")]:
        assert loaders.detect_format(path) == fmt
        loaded = loaders.load(path)
        assert loaded.info.format == fmt
        assert loaded.info.graph.nodes[0].op == first_op
        assert loaded.info.to_dict()["node_count"] == len(loaded.info.graph.nodes)


def test_onnx_parameters_in_constant_nodes_and_if_branches_are_counted(tmp_path):
    """PaddlePaddle's exporter keeps weights in Constant nodes and Silero VAD keeps its network in If
    branches: both were reported as 'Parameters: 0'."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgewizard.core.loaders import load
    from edgewizard.core.plan import LoadOptions

    w = numpy_helper.from_array(np.ones((4, 3), np.float32), "w")  # 12 in a Constant node
    branch_w = numpy_helper.from_array(np.ones((3, 5), np.float32), "bw")  # 15 in the then-branch

    def branch(name, inits):
        out = helper.make_tensor_value_info(f"{name}_y", TensorProto.FLOAT, None)
        node = helper.make_node("MatMul", ["h", "bw"], [f"{name}_y"]) if inits else helper.make_node("Identity", ["h"], [f"{name}_y"])
        return helper.make_graph([node], name, [], [out], inits)

    nodes = [helper.make_node("Constant", [], ["W"], value=w),
             helper.make_node("MatMul", ["x", "W"], ["h"]),
             helper.make_node("If", ["cond"], ["y"], then_branch=branch("then", [branch_w]), else_branch=branch("else", []))]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
                                           helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    path = tmp_path / "consts.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    assert load(path, LoadOptions()).info.param_count == 12 + 15
