"""Regenerate the bundled sample model: a small CNN for scikit-learn's handwritten digits.

Run from the repository root with the project's interpreter: `.venv/bin/python resources/samples/make_sample.py`.
It writes digits_cnn.keras, digits_test.npz, digits_calib.npz and sample.json next to itself."""
from __future__ import annotations

import datetime
import json
import os
import sys
from pathlib import Path

SEED = 20240611
SIZE = 32  # the 8x8 digits are upscaled so the model looks like a (tiny) image model
TEST_FRACTION = 0.2
CALIB_SAMPLES = 100
EPOCHS = 40
MIN_ACCURACY = 0.97
HERE = Path(__file__).resolve().parent


def load_images():
    """The digits as float32 [N, 32, 32, 1] in [0, 1] and their int64 labels."""
    import numpy as np
    import tensorflow as tf
    from sklearn.datasets import load_digits

    digits = load_digits()  # bundled with scikit-learn: no download
    small = (digits.images.astype(np.float32) / 16.0)[..., None]
    big = tf.image.resize(small, (SIZE, SIZE), method="bilinear").numpy()
    return np.clip(big, 0.0, 1.0).astype(np.float32), digits.target.astype(np.int64)


def build_model():
    import keras
    from keras import layers

    image = keras.Input(shape=(SIZE, SIZE, 1), name="image")  # batch stays None, as in most people's models
    x = image
    for i, filters in enumerate((16, 32, 32), start=1):
        x = layers.Conv2D(filters, 3, padding="same", name=f"conv{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(32, activation="relu", name="dense")(x)
    out = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(image, out, name="digits_cnn")


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
    import keras
    import numpy as np
    import sklearn
    import tensorflow as tf
    from sklearn.model_selection import train_test_split

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    x, y = load_images()
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_FRACTION, stratify=y, random_state=SEED
    )

    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=EPOCHS, shuffle=True, verbose=2)
    accuracy = float(np.mean(np.argmax(model.predict(x_test, verbose=0), axis=1) == y_test))
    print(f"test accuracy: {accuracy:.4f} on {len(y_test)} held-back digits")
    if accuracy < MIN_ACCURACY:
        print(f"accuracy below {MIN_ACCURACY}; nothing written", file=sys.stderr)
        return 1

    # Save a copy without the optimizer: Adam's slots would triple the file for nothing a user needs.
    clean = keras.Model.from_config(model.get_config())
    clean.set_weights(model.get_weights())
    clean.save(HERE / "digits_cnn.keras")

    np.savez_compressed(HERE / "digits_test.npz", x=x_test.astype(np.float32), y=y_test.astype(np.int64))
    pick = np.random.default_rng(SEED).choice(len(x_train), size=CALIB_SAMPLES, replace=False)
    np.savez_compressed(HERE / "digits_calib.npz", x=x_train[np.sort(pick)].astype(np.float32))

    meta = {
        "model": "digits_cnn.keras",
        "description": "Small CNN classifying scikit-learn's 8x8 handwritten digits, upscaled to 32x32.",
        "input": {"name": "image", "shape": [None, SIZE, SIZE, 1], "dtype": "float32"},
        "output": {"name": "probabilities", "shape": [None, 10], "dtype": "float32"},
        "preprocessing": "pixels scaled to [0,1]",
        "classes": [str(i) for i in range(10)],
        "test_accuracy": round(accuracy, 4),
        "test_samples": int(len(y_test)),
        "test_file": "digits_test.npz",
        "calibration_samples": CALIB_SAMPLES,
        "calibration_file": "digits_calib.npz",
        "split": {"test_fraction": TEST_FRACTION, "stratified": True, "random_state": SEED},
        "seed": SEED,
        "epochs": EPOCHS,
        "param_count": int(clean.count_params()),
        "versions": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "python": sys.version.split()[0],
        },
        "date": datetime.date.today().isoformat(),
    }
    (HERE / "sample.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    for name in ("digits_cnn.keras", "digits_test.npz", "digits_calib.npz", "sample.json"):
        print(f"wrote {HERE / name} ({(HERE / name).stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
