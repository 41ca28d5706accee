"""Small Keras models for the loader and cut tests, written to disk on demand (a few KB each)."""
from __future__ import annotations

import importlib.util
import textwrap
import warnings
from pathlib import Path

CUSTOM_OBJECTS_SOURCE = textwrap.dedent(
    '''
    """Custom objects for the test model: a layer that multiplies by a trainable scale."""
    import keras


    class ScaleLayer(keras.layers.Layer):
        def __init__(self, initial=2.0, **kwargs):
            super().__init__(**kwargs)
            self.initial = initial

        def build(self, input_shape):
            self.scale = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.initial), name="scale")

        def call(self, x):
            return x * self.scale

        def get_config(self):
            return {**super().get_config(), "initial": self.initial}
    '''
)


def _save(model, path: Path) -> Path:
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras calls HDF5 "legacy"
        model.save(str(path))
    return path


def sequential_cnn(path: Path) -> Path:
    """Input 16x16x1 -> Conv2D -> MaxPool -> Flatten -> Dense(3): 4 layers plus the InputLayer."""
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input((16, 16, 1), name="image"),
            layers.Conv2D(4, 3, activation="relu", name="conv"),
            layers.MaxPooling2D(name="pool"),
            layers.Flatten(name="flat"),
            layers.Dense(3, name="logits"),
        ],
        name="seq_cnn",
    )
    return _save(model, path)


def two_input(path: Path) -> Path:
    """Inputs "a" (8,) and "b" (4,): two Dense branches, concatenated, one Dense output "out"."""
    import keras
    from keras import layers

    a = keras.Input((8,), name="a")
    b = keras.Input((4,), name="b")
    x = layers.Dense(5, activation="relu", name="dense_a")(a)
    y = layers.Dense(3, activation="relu", name="dense_b")(b)
    z = layers.Concatenate(name="join")([x, y])
    out = layers.Dense(2, name="out")(z)
    return _save(keras.Model([a, b], out, name="two_in"), path)


def with_lambda(path: Path) -> Path:
    """A Lambda layer named "double" between two Dense layers (.keras or .h5 by suffix)."""
    import keras
    from keras import layers

    x = keras.Input((4,), name="x")
    y = layers.Dense(3, name="d1")(x)
    y = layers.Lambda(lambda t: t * 2.0, name="double")(y)
    y = layers.Dense(2, name="d2")(y)
    return _save(keras.Model(x, y, name="with_lambda"), path)


def weights_only(path: Path) -> Path:
    """A Keras 3 weights file (`path` must end in .weights.h5): no model config inside."""
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save_weights(str(path))
    return Path(path)


def with_custom_layer(path: Path, objects_file: Path) -> Path:
    """A model using ScaleLayer ("scale") from a custom-objects file written next to it.

    The file is executed without registering its module, so Keras cannot find the class again
    by itself: loading needs the custom-objects file, as it would on another machine."""
    import keras
    from keras import layers

    objects_file = Path(objects_file)
    objects_file.write_text(CUSTOM_OBJECTS_SOURCE, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("_ew_test_custom_layers_gen", objects_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x = keras.Input((4,), name="x")
    y = layers.Dense(3, name="d1")(x)
    y = module.ScaleLayer(3.0, name="scale")(y)
    return _save(keras.Model(x, y, name="custom"), path)
