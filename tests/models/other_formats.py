"""Tiny test models in the non-TensorFlow formats: .tflite (float and int8), OpenVINO IR, ONNX.

Each function writes into the folder it is given and returns the file's path; nothing is committed."""
from __future__ import annotations

from pathlib import Path

import numpy as np

INPUT_SHAPE = (16, 16, 3)  # HWC for the Keras/TFLite/OpenVINO models
CLASSES = 5


def keras_cnn(seed: int = 7):
    """Conv -> ReLU -> MaxPool -> Flatten -> Dense(softmax), input "image" with a None batch."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    image = keras.Input(shape=INPUT_SHAPE, name="image")
    x = layers.Conv2D(4, 3, padding="same", name="conv", bias_initializer="random_normal")(image)
    x = layers.ReLU(name="relu")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    out = layers.Dense(CLASSES, activation="softmax", name="probs", bias_initializer="random_normal")(x)
    return keras.Model(image, out, name="tiny_cnn")


def _converter(model, batch, folder: Path):
    """A TFLiteConverter over a SavedModel export: the route that works for Keras 3 models
    (from_keras_model is unreliable, and a bare concrete function keeps the weights as variables)."""
    import tensorflow as tf

    saved = Path(folder) / f"_saved_{batch}"
    if not saved.exists():
        model.export(str(saved), format="tf_saved_model",
                     input_signature=[tf.TensorSpec((batch, *INPUT_SHAPE), tf.float32, name="image")], verbose=False)
    return tf.lite.TFLiteConverter.from_saved_model(str(saved))


def tflite_float(folder: Path, name: str = "tiny.tflite", batch=None) -> Path:
    """A float .tflite; `batch=None` keeps the batch dynamic (shape_signature -1)."""
    model = keras_cnn()
    converter = _converter(model, batch, folder)
    out = Path(folder) / name
    out.write_bytes(converter.convert())
    return out


def tflite_int8(folder: Path, name: str = "tiny_int8.tflite") -> Path:
    """A fully integer .tflite (int8 in and out), batch fixed to 1 as the Edge TPU needs."""
    import tensorflow as tf

    model = keras_cnn()
    converter = _converter(model, 1, folder)
    rng = np.random.default_rng(0)

    def representative():
        for _ in range(8):
            yield [rng.random((1, *INPUT_SHAPE), dtype=np.float32)]

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    out = Path(folder) / name
    out.write_bytes(converter.convert())
    return out


def openvino_ir(folder: Path, name: str = "tiny.xml") -> Path:
    """The Keras CNN as OpenVINO IR (FP32), written as name.xml + name.bin."""
    import openvino as ov

    model = keras_cnn()
    example = np.zeros((1, *INPUT_SHAPE), np.float32)
    ov_model = ov.convert_model(model, example_input=example)
    out = Path(folder) / name
    ov.save_model(ov_model, str(out), compress_to_fp16=False)
    return out


def onnx_model(folder: Path, name: str = "tiny.onnx") -> Path:
    """Conv -> Relu -> Flatten -> Gemm, NCHW input "x" with a symbolic batch "N".

    The Relu node is left unnamed, as some exporters do, to exercise generated names."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "conv_w")
    b = numpy_helper.from_array(np.zeros(4, np.float32), "conv_b")
    fc_w = numpy_helper.from_array(rng.standard_normal((CLASSES, 4 * 8 * 8)).astype(np.float32), "fc_w")
    fc_b = numpy_helper.from_array(np.zeros(CLASSES, np.float32), "fc_b")
    nodes = [
        helper.make_node("Conv", ["x", "conv_w", "conv_b"], ["conv_out"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv_out"], ["relu_out"]),
        helper.make_node("Flatten", ["relu_out"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["y"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "tiny",
        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", CLASSES])],
        initializer=[w, b, fc_w, fc_b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="edgewizard-tests")
    onnx.checker.check_model(model)
    out = Path(folder) / name
    onnx.save(model, str(out))
    return out


ONNX_PARAMS = 4 * 3 * 3 * 3 + 4 + CLASSES * 4 * 8 * 8 + CLASSES
KERAS_PARAMS = (3 * 3 * 3 * 4 + 4) + (8 * 8 * 4 * CLASSES + CLASSES)
