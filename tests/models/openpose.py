"""A tiny OpenPose-shaped *training* model, like the one in the classic Movidius/Coral tutorials.

Its three inputs are the image and two loss masks; the masks only feed the "weight_stage*" Multiply
layers that are the model's outputs, so converting it means cutting at input_1 and the two
Mconv7_stage2 convolutions. Run as a script to write one: python -m tests.models.openpose out.h5"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path


def _eucl_loss(y_true, y_pred):
    """The tutorials' custom loss; its name in the .h5 makes a compiling load fail."""
    from keras import ops

    return ops.sum(ops.square(y_true - y_pred)) / 2.0


def build_openpose(small: bool = True):
    import keras
    from keras import layers

    width = 8 if small else 64
    paf, heat = (6, 4) if small else (38, 19)

    def conv(x, filters, size, name, relu=True):
        # Separate ReLU layers, as in the original: the conv's own TF op is then ".../BiasAdd".
        x = layers.Conv2D(filters, size, padding="same", name=name)(x)
        return layers.ReLU(name=name + "_relu")(x) if relu else x

    image = keras.Input((None, None, 3), name="input_1")
    paf_mask = keras.Input((None, None, paf), name="input_2")
    heat_mask = keras.Input((None, None, heat), name="input_3")

    x = conv(image, width, 3, "conv1_1")
    x = layers.MaxPooling2D(2, 2, name="pool1_stage1")(x)
    x = conv(x, width, 3, "conv2_1")
    x = layers.MaxPooling2D(2, 2, name="pool2_stage1")(x)
    stem = conv(x, width, 3, "conv4_4_CPM")

    outputs = []
    previous = stem
    for stage in (1, 2):
        branches = []
        for branch, channels, mask in (("L1", paf, paf_mask), ("L2", heat, heat_mask)):
            y = conv(previous, width, 3, f"Mconv1_stage{stage}_{branch}")
            last = 5 if stage == 1 else 7
            y = conv(y, channels, 1, f"Mconv{last}_stage{stage}_{branch}", relu=False)
            branches.append(y)
            outputs.append(layers.Multiply(name=f"weight_stage{stage}_{branch}")([y, mask]))
        previous = layers.Concatenate(name=f"concat_stage{stage + 1}")(branches + [stem])

    return keras.Model([image, paf_mask, heat_mask], outputs, name="model")


def make_openpose(path: Path, fmt: str = "h5", small: bool = True) -> Path:
    """Write the model to `path` (.h5 via Keras' legacy HDF5 writer, compiled with `_eucl_loss`;
    or .keras). Returns the path."""
    path = Path(path)
    model = build_openpose(small)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras calls HDF5 "legacy"; that is the point here
        if fmt == "h5":
            model.compile(optimizer="sgd", loss=_eucl_loss)
            model.save(str(path))
        elif fmt == "keras":
            model.save(str(path))
        else:
            raise ValueError(f"fmt must be 'h5' or 'keras', not {fmt!r}")
    return path


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "openpose.h5")
    make_openpose(out, "keras" if out.suffix == ".keras" else "h5", small="--full" not in sys.argv)
    print(out)
