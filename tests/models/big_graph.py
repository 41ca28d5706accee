"""A large generated Keras model (about 2,000 layers, 8 MB) for the graph view's figures.

Residual blocks of Conv2D / BatchNormalization / ReLU / Add with 8 channels, and every tenth block a
two-branch split joined by Concatenate, so the graph has width as well as length, like real models.
Run as a script to write one: python -m tests.models.big_graph out.keras [layers]"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

LAYERS_PER_BLOCK = 7


def build_big_graph(layers_wanted: int = 2000):
    import keras
    from keras import layers

    channels = 8
    x = inputs = keras.Input((32, 32, 3), name="image")
    x = layers.Conv2D(channels, 3, padding="same", name="stem")(x)
    block = 0
    while True:
        model_layers = 2 + block * LAYERS_PER_BLOCK  # input + stem so far
        if model_layers + LAYERS_PER_BLOCK + 3 > layers_wanted:
            break
        p = f"b{block:03d}"
        if block % 10 == 9:
            # A split: two short branches joined again (7 layers, like a residual block).
            a = layers.Conv2D(channels // 2, 1, name=f"{p}_left")(x)
            a = layers.ReLU(name=f"{p}_left_relu")(a)
            b = layers.Conv2D(channels // 2, 3, padding="same", name=f"{p}_right")(x)
            b = layers.ReLU(name=f"{p}_right_relu")(b)
            y = layers.Concatenate(name=f"{p}_concat")([a, b])
            y = layers.BatchNormalization(name=f"{p}_bn")(y)
            x = layers.ReLU(name=f"{p}_out")(y)
        else:
            y = layers.Conv2D(channels, 3, padding="same", name=f"{p}_conv1")(x)
            y = layers.BatchNormalization(name=f"{p}_bn1")(y)
            y = layers.ReLU(name=f"{p}_relu1")(y)
            y = layers.Conv2D(channels, 3, padding="same", name=f"{p}_conv2")(y)
            y = layers.BatchNormalization(name=f"{p}_bn2")(y)
            y = layers.Add(name=f"{p}_add")([x, y])
            x = layers.ReLU(name=f"{p}_out")(y)
        block += 1
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = layers.Dense(10, name="logits")(x)
    x = layers.Softmax(name="probabilities")(outputs)
    return keras.Model(inputs, x, name="big_graph")


def make_big_graph(path: Path, layers_wanted: int = 2000) -> Path:
    """Write the model to `path` (.keras). Returns the path."""
    path = Path(path)
    model = build_big_graph(layers_wanted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(str(path))
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "big_graph.keras")
    make_big_graph(out, int(sys.argv[2]) if len(sys.argv) > 2 else 2000)
    print(out)
