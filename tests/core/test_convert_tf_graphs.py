"""TF1 frozen graphs, TF1 .meta checkpoints and SavedModels convert to every target that runs here,
and each result computes what the original graph computes."""
from __future__ import annotations

import numpy as np
import pytest

from edgewizard.core.calibrate import CalibrationSpec
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.convert.run import convert
from edgewizard.core.plan import LoadOptions, Selection
from tests.models import tf_graphs as g
from tests.core import OPENVINO_EXACT

TARGETS = ["tflite-float", "tflite-int8", "openvino-fp32", "openvino-fp16"]
SYNTH = ConvertOptions(calibration=CalibrationSpec(sources=((None, "synthetic"),), samples=8))


def _run_tflite(path, x):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    i = it.get_input_details()[0]
    it.set_tensor(i["index"], x)
    it.invoke()
    return {o["name"]: it.get_tensor(o["index"]) for o in it.get_output_details()}, it


def _run_ov(path, x):
    import openvino as ov

    compiled = ov.Core().compile_model(str(path), "CPU", OPENVINO_EXACT)
    res = compiled(x)
    return {next(iter(sorted(o.get_names()))): res[o] for o in compiled.outputs}, compiled


@pytest.mark.parametrize("kind", ["frozen_pb", "meta", "savedmodel"])
def test_classifier_graph_to_every_target(tmp_path, kind):
    make = {"frozen_pb": lambda: g.make_frozen_pb(tmp_path / "tf1 model.pb"),
            "meta": lambda: g.make_meta_checkpoint(tmp_path / "ckpt"),
            "savedmodel": lambda: g.make_savedmodel(tmp_path / "saved")}[kind]
    model = make()
    out = tmp_path / "out"
    manifest = convert(str(model), LoadOptions(), Selection(), TARGETS, str(out), SYNTH)
    assert manifest.source.format == kind
    (inp,) = manifest.cut.inputs
    assert inp.shape[0] == 1 and None not in inp.shape
    x = np.random.default_rng(0).uniform(0, 1, inp.shape).astype(np.float32)
    stem = {"frozen_pb": "tf1 model", "meta": "model.ckpt", "savedmodel": "saved"}[kind]
    want, _ = _run_tflite(out / f"{stem}_float.tflite", x)
    assert len(want) == 1
    (ref,) = want.values()
    if kind != "savedmodel":  # the TF1 generators can run the original graph itself
        (orig,) = g.run_frozen(g.make_frozen_pb(tmp_path / "ref.pb"), {g.CLASSIFIER_INPUT + ":0": x}, [g.CLASSIFIER_OUTPUT + ":0"])
        assert np.allclose(ref, orig, atol=1e-5)
    for name, atol in (("fp32", 1e-5), ("fp16", 2e-2)):
        got, compiled = _run_ov(out / f"{stem}_{name}.xml", x)
        assert len(compiled.inputs) == 1 and len(compiled.outputs) == 1
        assert np.allclose(next(iter(got.values())), ref, atol=atol)
    int8, it = _run_tflite(out / f"{stem}_int8.tflite", _quantize(out / f"{stem}_int8.tflite", x))
    assert it.get_input_details()[0]["dtype"] == np.uint8
    scale, zero = it.get_output_details()[0]["quantization"]
    # Synthetic calibration on a random-weight graph: only a coarse closeness can be asked of int8.
    assert np.abs((next(iter(int8.values())).astype(np.float32) - zero) * scale - ref).max() < 0.25 * max(1.0, np.abs(ref).max())


def _quantize(path, x):
    from ai_edge_litert.interpreter import Interpreter

    scale, zero = Interpreter(model_path=str(path)).get_input_details()[0]["quantization"]
    return np.clip(np.round(x / scale + zero), 0, 255).astype(np.uint8)


def test_openpose_tf1_graph_cut_at_the_stage2_biasadds(tmp_path):
    model = g.make_openpose_pb(tmp_path / "openpose.pb")
    sel = Selection(inputs=("image",), outputs=g.OPENPOSE_CUT_OUTPUTS, shapes=(("image", (1, 32, 32, 3)),))
    out = tmp_path / "out"
    manifest = convert(str(model), LoadOptions(), sel, TARGETS + ["edgetpu"], str(out), SYNTH)
    assert list(manifest.cut.removed_inputs) == ["paf_mask", "heat_mask"]
    x = np.random.default_rng(0).uniform(0, 1, (1, 32, 32, 3)).astype(np.float32)
    orig = g.run_frozen(model, {"image:0": x, "paf_mask:0": np.ones((1, 32, 32, g.PAF), np.float32),
                                "heat_mask:0": np.ones((1, 32, 32, g.HEAT), np.float32)}, [o + ":0" for o in g.OPENPOSE_CUT_OUTPUTS])
    got, it = _run_tflite(out / "openpose_float.tflite", x)
    assert len(it.get_input_details()) == 1 and sorted(got) == sorted(g.OPENPOSE_CUT_OUTPUTS)
    for name, want in zip(g.OPENPOSE_CUT_OUTPUTS, orig):
        assert np.allclose(got[name], want, atol=1e-5)
    got, compiled = _run_ov(out / "openpose_fp32.xml", x)
    assert len(compiled.inputs) == 1 and len(compiled.outputs) == 2
