"""Read the small constant inputs of TFLite operators (strides, paddings, axes, zero tensors).

The TFLite loader lists which inputs are constant but not their values; a few Edge TPU rules need
the values. Only small tensors are read, lazily, straight from the flatbuffer."""
from __future__ import annotations

from typing import Optional

_NUMPY = {"FLOAT32": "float32", "FLOAT16": "float16", "INT32": "int32", "INT64": "int64",
          "INT8": "int8", "UINT8": "uint8", "INT16": "int16", "BOOL": "bool"}
MAX_ELEMENTS = 1 << 16  # a constant this large is weights, never an axis list


class ConstantReader:
    """`value(op_index, position)`: the constant at that input position of that operator, or None
    when the input is not constant, absent, too large or of a type numpy cannot hold."""

    def __init__(self, data: bytes) -> None:
        from ..loaders.tflite_loader import schema

        s = schema()
        self._data = data
        self._model = s.Model.GetRootAs(data, 0)
        self._sub = self._model.Subgraphs(0)
        self._types = {v: k for k, v in vars(s.TensorType).items() if not k.startswith("_") and isinstance(v, int)}
        self._cache: dict[tuple[int, int], Optional[object]] = {}

    def value(self, op_index: int, position: int):
        key = (op_index, position)
        if key not in self._cache:
            self._cache[key] = self._read(op_index, position)
        return self._cache[key]

    def input_count(self, op_index: int) -> int:
        return self._sub.Operators(op_index).InputsLength()

    def _read(self, op_index: int, position: int):
        import numpy as np

        op = self._sub.Operators(op_index)
        if position >= op.InputsLength():
            return None
        t_index = op.Inputs(position)
        if t_index < 0:
            return None
        tensor = self._sub.Tensors(t_index)
        buf_index = tensor.Buffer()
        if buf_index <= 0 or buf_index >= self._model.BuffersLength():
            return None
        buf = self._model.Buffers(buf_index)
        if not buf.DataLength():
            return None
        dtype = _NUMPY.get(self._types.get(tensor.Type(), ""))
        shape = tuple(tensor.Shape(j) for j in range(tensor.ShapeLength()))
        count = 1
        for d in shape:
            count *= max(d, 0)
        if dtype is None or count > MAX_ELEMENTS:
            return None
        raw = buf.DataAsNumpy().tobytes()
        arr = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"), count=count)
        return arr.reshape(shape) if shape else arr.reshape(())
