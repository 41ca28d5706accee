"""Tiny TensorFlow graph models in the three graph formats: TF1 frozen .pb, TF1 .meta checkpoint, TF2 SavedModel.

Weights come from a seeded numpy generator, so the frozen and the checkpoint versions of the same
graph hold the same numbers and can be compared. Run as a script to write all of them:
python -m tests.models.tf_graphs OUT_DIR"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

# What the TF1 classifier looks like from outside, for the tests.
CLASSIFIER_INPUT = "input"
CLASSIFIER_OUTPUT = "output"
CLASSES = 5
# The OpenPose-like graph: the image and two loss masks; the masks only feed the loss.
OPENPOSE_INPUTS = ("image", "paf_mask", "heat_mask")
OPENPOSE_CUT_OUTPUTS = ("Mconv7_stage2_L1/BiasAdd", "Mconv7_stage2_L2/BiasAdd")
PAF, HEAT = 4, 2


def _weights(seed: int):
    rng = np.random.default_rng(seed)

    def make(*shape):
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)

    return make


def _conv(tf, x, scope, cin, cout, make, stride=1, relu=True):
    """A TF1-style conv: variables and ops under one scope, ops named ".../Conv2D", ".../BiasAdd"."""
    v1 = tf.compat.v1
    with v1.variable_scope(scope):
        # Ref variables (VariableV2 + ".../read"), as real TF1 checkpoints have them.
        w = v1.get_variable("weights", initializer=make(3, 3, cin, cout), use_resource=False)
        b = v1.get_variable("biases", initializer=make(cout), use_resource=False)
        y = tf.nn.conv2d(x, w, strides=[1, stride, stride, 1], padding="SAME", name="Conv2D")
        y = tf.nn.bias_add(y, b, name="BiasAdd")
        return tf.nn.relu(y, name="Relu") if relu else y


def _build_classifier(tf):
    """Builds the classifier into the current default graph."""
    v1 = tf.compat.v1
    make = _weights(0)
    x = v1.placeholder(tf.float32, (None, 32, 32, 3), name=CLASSIFIER_INPUT)
    y = _conv(tf, x, "conv1", 3, 8, make)
    y = _conv(tf, y, "conv2", 8, 8, make, stride=2)
    pooled = tf.reduce_mean(y, axis=[1, 2], name="global_pool")
    with v1.variable_scope("logits"):
        w = v1.get_variable("weights", initializer=make(8, CLASSES), use_resource=False)
        b = v1.get_variable("biases", initializer=make(CLASSES), use_resource=False)
        logits = tf.nn.bias_add(tf.matmul(pooled, w, name="MatMul"), b, name="BiasAdd")
    return tf.nn.softmax(logits, name=CLASSIFIER_OUTPUT)


def _build_openpose(tf):
    """Two OpenPose stages whose last convs feed a loss weighted by two mask placeholders."""
    v1 = tf.compat.v1
    make = _weights(1)
    image = v1.placeholder(tf.float32, (None, None, None, 3), name="image")
    paf_mask = v1.placeholder(tf.float32, (None, None, None, PAF), name="paf_mask")
    heat_mask = v1.placeholder(tf.float32, (None, None, None, HEAT), name="heat_mask")
    x = _conv(tf, image, "conv1_1", 3, 8, make)
    x = tf.nn.max_pool2d(x, 2, 2, "VALID", name="pool1_stage1")
    stem = _conv(tf, x, "conv4_4_CPM", 8, 8, make)
    l1 = _conv(tf, stem, "Mconv7_stage1_L1", 8, PAF, make, relu=False)
    l2 = _conv(tf, stem, "Mconv7_stage1_L2", 8, HEAT, make, relu=False)
    x = tf.concat([l1, l2, stem], axis=3, name="concat_stage2")
    x = _conv(tf, x, "Mconv1_stage2_L1_pre", PAF + HEAT + 8, 8, make)
    l1 = _conv(tf, x, "Mconv7_stage2_L1", 8, PAF, make, relu=False)
    l2 = _conv(tf, x, "Mconv7_stage2_L2", 8, HEAT, make, relu=False)
    with tf.name_scope("loss_terms"):
        e1 = tf.reduce_sum(tf.square(l1 * paf_mask)) / 2.0
        e2 = tf.reduce_sum(tf.square(l2 * heat_mask)) / 2.0
    return tf.add(e1, e2, name="loss")


def _freeze(tf, sess, output_names):
    v1 = tf.compat.v1
    sess.run(v1.global_variables_initializer())
    return v1.graph_util.convert_variables_to_constants(sess, sess.graph.as_graph_def(), list(output_names))


def _write_frozen(path, build, output_name) -> Path:
    import tensorflow as tf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.Graph().as_default() as g:
        build(tf)
        with tf.compat.v1.Session(graph=g) as sess:
            gd = _freeze(tf, sess, [output_name])
    path.write_bytes(gd.SerializeToString())
    return path


def make_frozen_pb(path) -> Path:
    """The TF1 classifier, frozen: input "input" (None,32,32,3) -> softmax "output" (None,5)."""
    return _write_frozen(path, _build_classifier, CLASSIFIER_OUTPUT)


def make_openpose_pb(path) -> Path:
    """The OpenPose-like training graph, frozen at "loss": three placeholders, one output."""
    return _write_frozen(path, _build_openpose, "loss")


def make_meta_checkpoint(directory) -> Path:
    """The TF1 classifier as model.ckpt.meta + .index + .data-*; returns the .meta path."""
    import tensorflow as tf

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with tf.Graph().as_default() as g:
        _build_classifier(tf)
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, str(directory / "model.ckpt"))
    return directory / "model.ckpt.meta"


def make_training_checkpoint(directory) -> Path:
    """A TF1 training graph as people checkpoint them mid-training: resource variables, a global
    step, Adam (with slot variables and gradients) and two Savers. Model: x (None,4) -> relu "y";
    "loss" sums it. Returns the .meta path."""
    import tensorflow as tf

    v1 = tf.compat.v1
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with tf.Graph().as_default() as g:
        x = v1.placeholder(tf.float32, (None, 4), name="x")
        w = v1.get_variable("dense/w", initializer=_weights(5)(4, 3), use_resource=True)
        step = v1.train.get_or_create_global_step()
        y = tf.nn.relu(tf.matmul(x, w), name="y")
        loss = tf.reduce_sum(tf.square(y), name="loss")
        v1.train.AdamOptimizer(0.01).minimize(loss, global_step=step)
        v1.train.Saver()  # an earlier saver: its ops stay in the graph under "save/"
        saver = v1.train.Saver()
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            saver.save(sess, str(directory / "model.ckpt"))
    return directory / "model.ckpt.meta"


def make_savedmodel(directory, default: bool = True) -> Path:
    """A TF2 SavedModel of a tf.Module with two signatures: "serving_default" (image -> probs) and
    "features" (image -> pooled). With default=False the first is called "classify" instead."""
    import tensorflow as tf

    make = _weights(2)

    class Classifier(tf.Module):
        def __init__(self):
            super().__init__()
            self.kernel = tf.Variable(make(3, 3, 3, 8), name="conv/kernel")
            self.bias = tf.Variable(make(8), name="conv/bias")
            self.dense = tf.Variable(make(8, CLASSES), name="dense/kernel")

        def _features(self, image):
            y = tf.nn.conv2d(image, self.kernel, 1, "SAME", name="conv")
            y = tf.nn.relu(tf.nn.bias_add(y, self.bias, name="conv_bias"), name="conv_relu")
            return tf.reduce_mean(y, axis=[1, 2], name="pool")

        @tf.function(input_signature=[tf.TensorSpec([None, 32, 32, 3], tf.float32, name="image")])
        def classify(self, image):
            logits = tf.matmul(self._features(image), self.dense, name="logits")
            return {"probs": tf.nn.softmax(logits, name="probs")}

        @tf.function(input_signature=[tf.TensorSpec([None, 32, 32, 3], tf.float32, name="image")])
        def features(self, image):
            return {"pooled": self._features(image)}

    module = Classifier()
    directory = Path(directory)
    signatures = {"serving_default" if default else "classify": module.classify, "features": module.features}
    tf.saved_model.save(module, str(directory), signatures=signatures)
    return directory


def make_keras_export(directory) -> Path:
    """A Keras 3 functional model exported as a SavedModel (model.export), as Keras users make them:
    its ops sit under "StatefulPartitionedCall/<model>/<layer>_1/"."""
    import keras

    keras.utils.set_random_seed(4)
    image = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="stem")(image)
    x = keras.layers.Conv2D(2, 1, name="head")(x)
    probs = keras.layers.Softmax(name="probs")(keras.layers.GlobalAveragePooling2D(name="pool")(x))
    model = keras.Model(image, probs, name="tiny")
    directory = Path(directory)
    model.export(str(directory), verbose=False)
    return directory


def run_frozen(path, feeds: dict, fetches) -> list:
    """Runs a frozen .pb in a TF1 session: feeds {tensor name: array}, fetches tensor names."""
    import tensorflow as tf

    gd = tf.compat.v1.GraphDef.FromString(Path(path).read_bytes())
    with tf.Graph().as_default() as g:
        tf.compat.v1.import_graph_def(gd, name="")
        with tf.compat.v1.Session(graph=g) as sess:
            return sess.run(list(fetches), feed_dict=feeds)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "tf_graphs")
    print(make_frozen_pb(out / "classifier.pb"))
    print(make_openpose_pb(out / "openpose.pb"))
    print(make_meta_checkpoint(out / "meta"))
    print(make_savedmodel(out / "savedmodel"))
