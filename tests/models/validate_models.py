"""Small models for the validation tests, each built to break exactly one device rule (or to be a
known-good case). Written on demand; all are a few KB except the memory and MobileNet ones.

Rule models are TF1-style frozen graphs (input "input", output "output") so that a single op can be
placed exactly; the TFLite converter turns each into the op the rule is about."""
from __future__ import annotations

from pathlib import Path

import numpy as np

INPUT, OUTPUT = "input", "output"


def frozen_graph(path: Path, build, shape) -> Path:
    """Write the graph `build(x)` of one float placeholder of `shape` as a frozen .pb."""
    import tensorflow as tf

    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, shape, name=INPUT)
        tf.identity(build(tf, x), name=OUTPUT)
    Path(path).write_bytes(g.as_graph_def().SerializeToString())
    return Path(path)


def _w(tf, *shape, seed=0):
    return tf.constant((np.random.default_rng(seed).standard_normal(shape) * 0.2).astype(np.float32))


def _conv(tf, x, cout, k=1, seed=0):
    return tf.nn.conv2d(x, _w(tf, k, k, x.shape[-1], cout, seed=seed), 1, "SAME")


# name -> (build(tf, x), input shape). One rule each; the name says which.
RULE_GRAPHS = {
    "avgpool_fused_relu": (lambda tf, x: tf.nn.relu(tf.nn.avg_pool2d(_conv(tf, x, 4, 3), 2, 2, "VALID")), (1, 8, 8, 3)),
    "maxpool_fused_relu": (lambda tf, x: tf.nn.relu(tf.nn.max_pool2d(_conv(tf, x, 4, 3), 2, 2, "VALID")), (1, 8, 8, 3)),
    "maxpool_plain": (lambda tf, x: tf.nn.max_pool2d(_conv(tf, x, 4, 3), 2, 2, "VALID"), (1, 8, 8, 3)),
    "concat_zeros": (lambda tf, x: tf.concat([_conv(tf, x, 4), tf.zeros((1, 8, 8, 2))], -1), (1, 8, 8, 3)),
    "concat_ones": (lambda tf, x: tf.concat([_conv(tf, x, 4), tf.ones((1, 8, 8, 2))], -1), (1, 8, 8, 3)),
    "concat3_zeros": (lambda tf, x: tf.concat([_conv(tf, x, 4), _conv(tf, x, 4, seed=1), tf.zeros((1, 8, 8, 2))], -1),
                      (1, 8, 8, 3)),
    "softmax_1000": (lambda tf, x: tf.nn.softmax(x), (1, 1000)),
    "softmax_20000": (lambda tf, x: tf.nn.softmax(x), (1, 20000)),
    "softmax_2d": (lambda tf, x: tf.nn.softmax(x), (1, 4, 8)),
    "strided_slice_2": (lambda tf, x: _conv(tf, x, 4)[:, ::2, :, :], (1, 8, 8, 3)),
    "pad_channels": (lambda tf, x: tf.pad(_conv(tf, x, 4), [[0, 0], [1, 1], [0, 0], [0, 2]]), (1, 8, 8, 3)),
    "pad_batch": (lambda tf, x: tf.pad(_conv(tf, x, 4), [[1, 0], [0, 0], [0, 0], [0, 0]]), (1, 8, 8, 3)),
    "mean_xy": (lambda tf, x: tf.reduce_mean(_conv(tf, x, 6), axis=[1, 2]), (1, 8, 8, 3)),
    "mean_z6": (lambda tf, x: tf.reduce_mean(_conv(tf, x, 6), axis=-1, keepdims=True), (1, 8, 8, 3)),
    "mean_z8": (lambda tf, x: tf.reduce_mean(_conv(tf, x, 8), axis=-1, keepdims=True), (1, 8, 8, 3)),
    "fully_connected_3d": (lambda tf, x: tf.matmul(x, _w(tf, 8, 16)), (1, 4, 8)),
    "rank5_relu": (lambda tf, x: tf.reshape(tf.nn.relu(tf.reshape(x, (1, 2, 4, 4, 3)) - 0.5), (1, 8, 4, 3)),
                   (1, 8, 4, 3)),
    "hard_swish": (lambda tf, x: (lambda y: y * tf.nn.relu6(y + 3) / 6)(_conv(tf, x, 4, 3)), (1, 8, 8, 3)),
    "hard_swish_then_conv": (lambda tf, x: _conv(tf, (lambda y: y * tf.nn.relu6(y + 3) / 6)(_conv(tf, x, 4, 3)), 4, 1, 2),
                             (1, 8, 8, 3)),
    "leaky_relu": (lambda tf, x: tf.nn.leaky_relu(_conv(tf, x, 4)), (1, 8, 8, 3)),
    "transpose": (lambda tf, x: tf.transpose(_conv(tf, x, 4), [0, 2, 1, 3]), (1, 8, 6, 3)),
    "conv_then_big_softmax": (lambda tf, x: tf.nn.softmax(tf.reshape(_conv(tf, x, 8), (1, -1)) * 1.0), (1, 50, 50, 3)),
    # 4096 x 2100 int8 weights: about 8.2 MiB, more than the Edge TPU's ~8 MiB on-chip cache.
    "dense_9mb": (lambda tf, x: tf.matmul(x, _w(tf, 4096, 2100)), (1, 4096)),
    # Ops TFLite has no builtin for: Cumprod has a TensorFlow kernel (Flex); Erfinv has none at all.
    "cumprod_flex": (lambda tf, x: tf.nn.relu(tf.math.cumprod(x, axis=-1)), (1, 4)),
    "erfinv_custom": (lambda tf, x: tf.nn.relu(tf.math.erfinv(x)), (1, 4)),
}


def rule_graph(folder: Path, name: str) -> Path:
    build, shape = RULE_GRAPHS[name]
    path = Path(folder) / f"{name}.pb"
    return path if path.exists() else frozen_graph(path, build, shape)


def dynamic_batch_int8_tflite(path: Path) -> Path:
    """A full-int8 .tflite whose batch is dynamic (None): conv, then a flatten written with the
    runtime batch (SHAPE / STRIDED_SLICE / PACK / RESHAPE), then a dense layer."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    w = tf.constant((rng.standard_normal((3, 3, 3, 4)) * 0.2).astype(np.float32))
    d = tf.constant((rng.standard_normal((64, 5)) * 0.2).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec((None, 8, 8, 3), tf.float32, name="image")])
    def f(x):
        y = tf.nn.relu(tf.nn.conv2d(x, w, 2, "SAME"))
        return tf.matmul(tf.reshape(y, (tf.shape(y)[0], -1)), d)

    conv = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rng.uniform(0, 1, (1, 8, 8, 3)).astype(np.float32)] for _ in range(4))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.uint8
    Path(path).write_bytes(conv.convert())
    return Path(path)


def float_tflite(path: Path) -> Path:
    """A float (not quantized) .tflite: conv + relu + dense."""
    import tensorflow as tf

    pb = frozen_graph(Path(path).with_suffix(".pb"), lambda tf_, x: tf_.nn.relu(_conv(tf_, x, 4, 3)), (1, 8, 8, 3))
    conv = tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(str(pb), [INPUT], [OUTPUT], {INPUT: [1, 8, 8, 3]})
    Path(path).write_bytes(conv.convert())
    return Path(path)


def _save_keras(model, path: Path) -> Path:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(str(path))
    return Path(path)


def mobilenet_v2_small(path: Path) -> Path:
    """Keras MobileNetV2, alpha 0.35, 96x96, random weights, dynamic batch (as Keras makes it)."""
    import keras

    return _save_keras(keras.applications.MobileNetV2(alpha=0.35, input_shape=(96, 96, 3), weights=None), path)


def mobilenet_v3_small(path: Path) -> Path:
    """Keras MobileNetV3Small, alpha 0.75, 96x96, random weights, no preprocessing layers."""
    import keras

    model = keras.applications.MobileNetV3Small(alpha=0.75, input_shape=(96, 96, 3), weights=None,
                                                include_preprocessing=False)
    return _save_keras(model, path)


def conv3d(path: Path) -> Path:
    """A Keras 3-D convolution over a (4, 8, 8, 2) volume, pooled, then a dense softmax."""
    import keras
    from keras import layers

    x = keras.Input((4, 8, 8, 2), name="volume")
    y = layers.Conv3D(4, 3, padding="same", name="conv3d")(x)
    y = layers.GlobalAveragePooling3D(name="pool")(y)
    y = layers.Dense(3, activation="softmax", name="probs")(y)
    return _save_keras(keras.Model(x, y, name="conv3d_net"), path)
