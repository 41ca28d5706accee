"""A trained model that int8 quantization breaks, while its float function is unchanged.

The bundled digits CNN with one output channel of `conv1` scaled by FACTOR and the weights `conv2` reads
that channel with scaled by 1/FACTOR. ReLU and max pooling between them commute with a positive scale, so
the float model computes the same function; but the tensor between them now holds one channel ~FACTOR
times the others, and one int8 scale for the whole tensor leaves the other channels a step or two:
accuracy falls. The quantization doctor should point at conv1/conv2 and keeping them in float should fix it."""
from __future__ import annotations

from pathlib import Path

FACTOR = 2000.0  # 1000 costs a quarter of the accuracy (98% -> 75%); 2000 leaves chance (10%)
CHANNELS = (3,)  # conv1's output channels scaled


def make_outlier_model(folder, factor: float = FACTOR, channels=CHANNELS) -> Path:
    import keras

    from edgewizard.core.samples import sample_model_path

    model = keras.models.load_model(sample_model_path())
    c1, c2 = model.get_layer("conv1"), model.get_layer("conv2")
    w1, b1 = c1.get_weights()
    w2, b2 = c2.get_weights()
    for k in channels:
        w1[..., k] *= factor
        b1[k] *= factor
        w2[:, :, k, :] /= factor
    c1.set_weights([w1, b1])
    c2.set_weights([w2, b2])
    path = Path(folder) / "digits_outlier.keras"
    model.save(path)
    return path
