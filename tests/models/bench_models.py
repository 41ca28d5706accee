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
