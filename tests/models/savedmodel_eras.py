"""SavedModels as older TensorFlow/Keras versions wrote them, for the loader's era tests.

- Keras 2 (tf_keras) with a compiled, trained legacy Adam (OptimizerV2, the only optimizer before TF 2.11):
  its slots are in the object graph, which TensorFlow revives with Optimizer.add_slot, so without tf_keras
  `tf.saved_model.load` fails with "'_UserObject' object has no attribute 'add_slot'".
- Keras 2 with the Adam of TF 2.11-2.15 (the experimental optimizer that became the default).
- TF1 `SavedModelBuilder` with two MetaGraphs ("train" and "serve"), which `tf.saved_model.load` refuses
  without tags.

Each maker writes the folder and, beside it, `<folder>.check.npz` with inputs `x` and the outputs `y` the model
itself computed for them, so a loader's frozen graph can be checked against the model and not only against
itself. Run as a script to write all of them: python -m tests.models.savedmodel_eras OUT_DIR"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

SHAPE = (12, 12, 3)
CLASSES = 4


def check_data(folder) -> tuple[np.ndarray, list[np.ndarray]]:
    """Inputs and the model's outputs for them, in the order of the signature's output keys (sorted)."""
    with np.load(f"{folder}.check.npz") as d:
        return d["x"], [d[f"y{i}"] for i in range(len(d.files) - 1)]


def _save_check(folder: Path, x: np.ndarray, ys) -> None:
    np.savez(f"{folder}.check.npz", x=x, **{f"y{i}": y for i, y in enumerate(ys)})


def _data(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (n, *SHAPE)).astype(np.float32)


def make_keras2_savedmodel(folder, optimizer: str = "legacy") -> Path:
    """A small Keras 2 CNN with two heads of the same shape ("probs", "scores"), compiled with Adam ("legacy":
    OptimizerV2; "v2.11": the TF 2.11-2.15 one), trained two steps so the optimizer has slots and an iteration
    count, saved with model.save(folder) (Keras 2's SavedModel format)."""
    import tf_keras as k

    k.utils.set_random_seed(7)
    layers = k.layers
    image = layers.Input(SHAPE, name="image")
    x = layers.Conv2D(6, 3, activation="relu", name="conv")(image)
    x = layers.Flatten(name="flat")(layers.MaxPooling2D(name="pool")(x))
    probs = layers.Dense(CLASSES, activation="softmax", name="probs")(x)
    scores = layers.Dense(CLASSES, activation="sigmoid", name="scores")(x)
    model = k.Model(image, [probs, scores], name="keras2_cnn")
    adam = k.optimizers.legacy.Adam(1e-2) if optimizer == "legacy" else k.optimizers.Adam(1e-2)
    model.compile(optimizer=adam, loss=["sparse_categorical_crossentropy", "binary_crossentropy"])
    labels = np.arange(8) % CLASSES
    model.fit(_data(8, seed=1), [labels, np.eye(CLASSES)[labels]], batch_size=4, epochs=1, verbose=0)
    folder = Path(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf_keras calls this format legacy
        model.save(str(folder), save_format="tf")
    x = _data(3, seed=2)
    _save_check(folder, x, model.predict(x, verbose=0))
    return folder


def make_tf1_savedmodel(folder) -> Path:
    """A TF1 SavedModel with a training MetaGraph (tag "train", Adam slots) and a serving one (tag "serve",
    signature "serving_default": image -> probs)."""
    import tensorflow as tf

    v1 = tf.compat.v1
    folder = Path(folder)
    x = _data(3, seed=3)
    with tf.Graph().as_default() as g:
        image = v1.placeholder(tf.float32, (None, *SHAPE), name="image")
        labels = v1.placeholder(tf.int32, (None,), name="labels")
        init = v1.random_normal_initializer(stddev=0.2, seed=5)
        kernel = v1.get_variable("conv/kernel", (3, 3, 3, 5), initializer=init)
        dense = v1.get_variable("dense/kernel", (5, CLASSES), initializer=init)
        y = tf.nn.relu(tf.nn.conv2d(image, kernel, 1, "VALID"), name="conv/relu")
        logits = tf.matmul(tf.reduce_mean(y, axis=[1, 2]), dense, name="logits")
        probs = tf.nn.softmax(logits, name="probs")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        train = v1.train.AdamOptimizer(0.01).minimize(loss)
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            sess.run(train, {image: _data(4, seed=4), labels: [0, 1, 2, 3]})
            builder = v1.saved_model.Builder(str(folder))
            builder.add_meta_graph_and_variables(sess, ["train"])
            sig = v1.saved_model.predict_signature_def({"image": image}, {"probs": probs})
            builder.add_meta_graph(["serve"], signature_def_map={"serving_default": sig})
            builder.save()
            _save_check(folder, x, [sess.run(probs, {image: x})])
    return folder


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "savedmodel_eras")
    print(make_keras2_savedmodel(out / "keras2_legacy_adam"))
    print(make_keras2_savedmodel(out / "keras2_adam", optimizer="v2.11"))
    print(make_tf1_savedmodel(out / "tf1_train_serve"))
