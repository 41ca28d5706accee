"""Tiny models for the bench tests, made in milliseconds without TensorFlow: a float TFLite file
written through LiteRT's flatbuffer schema, and an OpenVINO IR built from opset ops.

Both compute relu(x @ W + b) on a (1, N) float input."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def tiny_tflite(path: Path, n: int = 64, layers: int = 1) -> Path:
    """A chain of `layers` FULLY_CONNECTED ops (fused RELU) on a (1, n) float32 input."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    rng = np.random.default_rng(0)
    buffers = [s.BufferT()]  # buffer 0 is the empty sentinel the format requires
    tensors, operators = [], []

    def tensor(name: str, shape, data=None) -> int:
        t = s.TensorT()
        t.name, t.shape, t.type = name.encode(), list(shape), s.TensorType.FLOAT32
        if data is None:
            t.buffer = 0
        else:
            b = s.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data, np.float32).tobytes(), np.uint8)
            buffers.append(b)
            t.buffer = len(buffers) - 1
        tensors.append(t)
        return len(tensors) - 1

    x = tensor("input", (1, n))
    first = x
    for i in range(layers):
        w = tensor(f"w{i}", (n, n), rng.normal(0, 0.1, (n, n)))
        b = tensor(f"b{i}", (n,), rng.normal(0, 0.1, (n,)))
        y = tensor("output" if i == layers - 1 else f"h{i}", (1, n))
        op = s.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = 0, [x, w, b], [y]
        op.builtinOptionsType = s.BuiltinOptions.FullyConnectedOptions
        op.builtinOptions = s.FullyConnectedOptionsT()
        op.builtinOptions.fusedActivationFunction = s.ActivationFunctionType.RELU
        operators.append(op)
        x = y
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.FULLY_CONNECTED
    code.version = 1
    graph = s.SubGraphT()
    graph.tensors, graph.inputs, graph.outputs, graph.operators, graph.name = tensors, [first], [x], operators, b"main"
    model = s.ModelT()
    model.version, model.operatorCodes, model.subgraphs, model.buffers = 3, [code], [graph], buffers
    model.description = b"EdgeWizard bench test model"
    builder = flatbuffers.Builder(4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = Path(path)
    path.write_bytes(bytes(builder.Output()))
    return path


def tiny_ir(xml_path: Path, n: int = 64) -> Path:
    """OpenVINO IR (model.xml + model.bin) of relu(x @ W + b)."""
    import sys

    sys.modules.setdefault("openvino_telemetry", None)  # importing openvino would otherwise phone home
    import openvino as ov
    import openvino.opset13 as ops

    rng = np.random.default_rng(0)
    x = ops.parameter([1, n], np.float32, name="input")
    w = ops.constant(rng.normal(0, 0.1, (n, n)).astype(np.float32))
    b = ops.constant(rng.normal(0, 0.1, (1, n)).astype(np.float32))
    y = ops.relu(ops.add(ops.matmul(x, w, False, False), b))
    y.output(0).get_tensor().set_names({"output"})
    ov.save_model(ov.Model([y], [x], "tiny"), str(xml_path), compress_to_fp16=False)
    return Path(xml_path)


def inner_dynamic_onnx(path: Path, batch="1") -> Path:
    """ONNX whose input is [batch, 4] but whose inner shapes are known only at run time: a Range whose
    length comes from the input's values, as a YOLO head's anchor grid does. batch="N" makes the
    input itself dynamic."""
    import onnx
    from onnx import TensorProto, helper

    dims = [int(batch) if batch.isdigit() else batch, 4]
    nodes = [
        helper.make_node("ReduceMax", ["images"], ["peak"], keepdims=0),
        helper.make_node("Cast", ["peak"], ["count"], to=TensorProto.INT64),
        helper.make_node("Range", ["zero", "count", "one"], ["grid"]),  # shape [?]
        helper.make_node("Cast", ["grid"], ["grid_f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["grid_f"], ["total"], keepdims=0),
        helper.make_node("Add", ["images", "total"], ["scores"]),
    ]
    graph = helper.make_graph(
        nodes, "inner_dynamic",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, dims)],
        [helper.make_tensor("zero", TensorProto.INT64, [], [0]), helper.make_tensor("one", TensorProto.INT64, [], [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)
