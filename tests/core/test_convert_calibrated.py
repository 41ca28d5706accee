"""int8 calibration of graphs with loops runs in a process of its own: TensorFlow 2.21's calibrator
crashes (SIGSEGV) on the loops Keras GRU layers become, which used to kill the worker with every
target of the run; now that is one sentence, exit 2, and the rest goes on. Loops it can calibrate
still convert."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from edgewizard.core.calibrate import CalibrationSpec
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.convert.run import convert
from edgewizard.core.convert.tflite_calibrated import LOOP_OPS
from edgewizard.core.plan import LoadOptions, Selection

SYNTHETIC = ConvertOptions(calibration=CalibrationSpec(sources=((None, "synthetic"),)))
CRASH = ("TensorFlow Lite's int8 calibrator crashed on this model (killed by SIGSEGV) while running its loops "
         "(recurrent layers such as GRU or LSTM); use tflite-dynamic or tflite-fp16 for it, or cut the model before "
         "the loop.")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "edgewizard.gui.launch", *args], capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def loop_savedmodel(tmp_path_factory):
    import tensorflow as tf

    class Loop(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32)])
        def __call__(self, x):
            _, y = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, tf.nn.relu(y * 0.5 + 1.0)), [0, x])
            return {"y": y}

    folder = tmp_path_factory.mktemp("loop") / "loop model"
    module = Loop()
    tf.saved_model.save(module, str(folder), signatures=module.__call__)
    return folder


@pytest.fixture(scope="module")
def gru_keras(tmp_path_factory):
    import keras

    path = tmp_path_factory.mktemp("gru") / "gru.keras"
    keras.Sequential([keras.Input((None, 6)), keras.layers.GRU(4, return_sequences=True),
                      keras.layers.Dense(3, activation="softmax")]).save(path)
    return path


@pytest.mark.slow
def test_a_loop_the_calibrator_can_run_converts_in_the_child(loop_savedmodel, tmp_path):
    said = []
    manifest = convert(str(loop_savedmodel), LoadOptions(), Selection(), ["tflite-int8"], str(tmp_path / "out"),
                       SYNTHETIC, progress=lambda f, m: said.append(m))
    assert any("separate process (the model has loops)" in m for m in said)
    assert LOOP_OPS & set(manifest.artifacts[0].op_counts_before)  # the cut holds a loop
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(tmp_path / "out" / "loop model_int8.tflite"))
    it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    assert i["dtype"] == np.uint8 and o["dtype"] == np.uint8  # full integer, as for any other model
    assert not (tmp_path / "out" / ".calibrated-child").exists()


@pytest.mark.slow
def test_a_calibrator_crash_is_one_sentence_and_the_rest_goes_on(gru_keras, tmp_path):
    out = tmp_path / "out"
    run = cli("convert", str(gru_keras), "-t", "tflite-float", "-t", "tflite-int8", "--shape", "1,10,6",
              "--calib", "synthetic", "-o", str(out))
    assert run.returncode == 2 and run.stderr.splitlines()[-1] == f"edgewizard: {CRASH}"
    assert (out / "gru_float.tflite").is_file() and not (out / "gru_int8.tflite").exists()
    # validate: the Edge TPU's judgement fails in that sentence; the worker lives on for the next device.
    checked = cli("validate", str(gru_keras), "-d", "edgetpu", "-d", "tflite:CPU", "--shape", "1,10,6", "--json")
    assert checked.returncode == 2, checked.stderr  # as for any model a device's format cannot be made from
    import json

    edgetpu, cpu = json.loads(checked.stdout)["reports"]
    assert edgetpu["status"] == "failed" and edgetpu["reason"] == CRASH and edgetpu["reason_id"] == "tflite.calibrator_crashed"
    assert cpu["status"] == "checked"
