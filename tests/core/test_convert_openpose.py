"""The reference cut of issue 3: the OpenPose-shaped training model (three inputs, two of them loss
masks) converted from `input_1` to its two stage-2 outputs gives, for every target that runs here,
a model with exactly one input of the chosen static shape and exactly those two outputs."""
from __future__ import annotations

import numpy as np
import pytest

from edgewizard.core.calibrate import CalibrationSpec
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.convert.run import convert
from edgewizard.core.plan import LoadOptions, Selection
from tests.models.openpose import make_openpose
from tests.core import OPENVINO_EXACT

TARGETS = ["tflite-float", "tflite-fp16", "tflite-dynamic", "tflite-int8", "edgetpu", "openvino-fp32", "openvino-fp16"]
OUTPUTS = ("Mconv7_stage2_L1", "Mconv7_stage2_L2")
SHAPE = (1, 48, 40, 3)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("openpose")
    model = make_openpose(folder / "openpose model.h5", fmt="h5")
    selection = Selection(inputs=("input_1",), outputs=OUTPUTS, shapes=(("input_1", SHAPE),))
    options = ConvertOptions(calibration=CalibrationSpec(sources=((None, "synthetic"),), samples=8))
    out = folder / "out"
    manifest = convert(str(model), LoadOptions(), selection, TARGETS, str(out), options)
    return model, out, manifest


def test_the_cut_keeps_one_input_and_the_two_outputs(result):
    _, _, manifest = result
    cut = manifest.cut
    assert [i.name for i in cut.inputs] == ["input_1"]
    assert list(cut.inputs[0].shape) == list(SHAPE)
    assert [o.name for o in cut.outputs] == list(OUTPUTS)
    assert list(cut.removed_inputs) == ["input_2", "input_3"]
    int8 = manifest.artifact("tflite-int8")
    assert "synthetic random data" in int8.notes[0]


@pytest.mark.parametrize("name", ["float", "fp16", "dynamic", "int8"])
def test_tflite_models_have_one_input_and_two_outputs(result, name):
    from ai_edge_litert.interpreter import Interpreter

    _, out, _ = result
    it = Interpreter(model_path=str(out / f"openpose model_{name}.tflite"))
    ins, outs = it.get_input_details(), it.get_output_details()
    assert len(ins) == 1 and ins[0]["shape"].tolist() == list(SHAPE)
    assert sorted(o["name"] for o in outs) == sorted(OUTPUTS)
    if name == "int8":
        assert ins[0]["dtype"] == np.uint8 and all(o["dtype"] == np.uint8 for o in outs)


@pytest.mark.parametrize("name", ["fp32", "fp16"])
def test_openvino_models_have_one_input_and_two_outputs(result, name):
    import keras
    import openvino as ov

    model_path, out, _ = result
    compiled = ov.Core().compile_model(str(out / f"openpose model_{name}.xml"), "CPU", OPENVINO_EXACT)
    assert len(compiled.inputs) == 1 and list(compiled.inputs[0].get_shape()) == list(SHAPE)
    assert len(compiled.outputs) == 2
    assert all(any(n in o.get_names() for n in OUTPUTS) for o in compiled.outputs)
    # Same numbers as the Keras layers themselves on the same input.
    model = keras.models.load_model(model_path, compile=False)
    probe = keras.Model(model.get_layer("input_1").output, [model.get_layer(n).output for n in OUTPUTS])
    x = np.random.default_rng(1).uniform(0, 1, SHAPE).astype(np.float32)
    want = probe.predict(x, verbose=0)
    got = compiled(x)
    for n, w in zip(OUTPUTS, want):
        port = next(o for o in compiled.outputs if n in o.get_names())
        assert np.allclose(got[port], w, atol=1e-4 if name == "fp32" else 2e-2 * max(1.0, np.abs(w).max()))
