"""Keeping layers in float, and the accuracy-budget search, on a trained model that int8 breaks.

The model (tests/models/outlier.py) is the bundled digits CNN with one channel of conv1 scaled up 2000x and
conv2's weights for it scaled down: the float model is unchanged, full int8 falls to about chance. Accuracy
here is recomputed in the test from the runtimes' outputs and the labels, not taken from our reports."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import edgewizard.core.convert.openvino_int8  # noqa: F401  (registers openvino-int8)
from edgewizard.core.calibrate import CalibrationSpec
from edgewizard.core.convert.run import convert
from edgewizard.core.errors import UserError
from edgewizard.core.plan import ConvertOptions, LoadOptions, Plan, Selection, conversion_key, validation_key
from edgewizard.core.quant.budget import search
from edgewizard.core.quant.keep_float import Op, plan_keep
from edgewizard.core.samples import sample_calibration_path, sample_test_path
from edgewizard.core.verify import VerifyData
from tests.core import OPENVINO_EXACT
from tests.models.outlier import make_outlier_model

EXE = str(Path(sys.executable).with_name("edgewizard"))
CALIB = ConvertOptions(calibration=CalibrationSpec(sources=((None, str(sample_calibration_path())),)))
TARGETS = ["tflite-int8", "openvino-int8"]


def ew(*args):
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return make_outlier_model(tmp_path_factory.mktemp("outlier"))


@pytest.fixture(scope="module")
def test_set():
    with np.load(sample_test_path()) as d:
        return d["x"], d["y"]


def accuracy(path: Path, test_set) -> float:
    """Top-1 accuracy of a converted file, run here with the runtime itself."""
    x, y = test_set
    if path.suffix == ".tflite":
        from ai_edge_litert.interpreter import Interpreter

        it = Interpreter(model_path=str(path))
        it.allocate_tensors()
        d, o = it.get_input_details()[0], it.get_output_details()[0]
        hits = 0
        for i in range(len(x)):
            xi = x[i:i + 1]
            scale, zero = d["quantization"]
            if d["dtype"] != np.float32:
                xi = np.clip(np.round(xi / scale + zero), 0, 255).astype(d["dtype"])
            it.set_tensor(d["index"], xi)
            it.invoke()
            hits += int(it.get_tensor(o["index"]).argmax() == y[i])
        return hits / len(x)
    import openvino as ov

    compiled = ov.Core().compile_model(str(path), "CPU", OPENVINO_EXACT)
    out = np.concatenate([compiled(x[i:i + 1])[0] for i in range(len(x))])
    return float((out.argmax(1) == y).mean())


def float_accuracy(model, test_set) -> float:
    import keras

    return float((keras.models.load_model(model).predict(test_set[0], verbose=0).argmax(1) == test_set[1]).mean())


@pytest.fixture(scope="module")
def full_int8(model, tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    convert(str(model), LoadOptions(), Selection(), TARGETS, str(out), CALIB)
    return out


@pytest.fixture(scope="module")
def kept(model, tmp_path_factory):
    out = tmp_path_factory.mktemp("kept")
    manifest = convert(str(model), LoadOptions(), Selection(), TARGETS, str(out), replace(CALIB, keep_float=("conv2",)))
    return out, manifest


def test_full_int8_loses_most_accuracy_and_keeping_conv2_in_float_restores_it(model, full_int8, kept, test_set):
    reference = float_accuracy(model, test_set)
    assert reference > 0.95
    out, manifest = kept
    for name in ("digits_outlier_int8.tflite", "digits_outlier_int8.xml"):
        assert accuracy(full_int8 / name, test_set) < reference - 0.5, name  # most of the accuracy gone
        assert accuracy(out / name, test_set) >= reference - 0.01, name  # within one point of float
    for a in manifest.artifacts:
        record = a.details["keep_float"]
        assert record["asked"] == ["conv2"] and record["why"] == "chosen by hand"
        # conv2 reads conv1's output through pool1: they stay float with it, so its input is float
        assert {"conv2", "conv1", "pool1"} <= set(record["kept"]) and record["ops"]
        assert any("Kept in float: conv2" in n for n in a.notes)
    saved = json.loads((out / "manifest.json").read_text())
    assert saved["options"]["keep_float"] == ["conv2"]


def test_kept_tflite_ops_are_float_and_the_rest_int8(kept):
    from edgewizard.core.loaders.tflite_loader import parse

    graph, *_ = parse((kept[0] / "digits_outlier_int8.tflite").read_bytes(), "x")
    convs = [n for n in graph.nodes if n.op == "CONV_2D"]
    assert [c.outputs[0].dtype for c in convs] == ["float32", "float32", "int8"]  # conv1, conv2 float; conv3 int8


def test_the_plan_keys_follow_the_layers_not_why_or_order():
    a = Plan(options=replace(CALIB, keep_float=("conv2", "conv1")))
    b = Plan(options=replace(CALIB, keep_float=("conv1", "conv2", "conv1"), keep_float_why="accuracy budget search"))
    assert a.options.keep_float == ("conv1", "conv2")
    assert conversion_key(a) == conversion_key(b) and validation_key(a) == validation_key(b)
    c = Plan(options=CALIB)
    assert conversion_key(a) != conversion_key(c) and validation_key(a) != validation_key(c)


def test_walking_back_stops_at_the_first_layer_that_computes():
    ops = [Op("c1", "CONV_2D", ("in", "w1"), ("t1",)), Op("p1", "MAX_POOL_2D", ("t1",), ("t2",)),
           Op("c2", "CONV_2D", ("t2", "w2"), ("t3",)), Op("c3", "CONV_2D", ("t3", "w3"), ("t4",))]
    sources = {"c1": ("conv1",), "p1": ("pool1",), "c2": ("conv2",), "c3": ("conv3",)}
    plan = plan_keep(ops, ["conv3"], lambda n: sources[n])
    assert plan.ops == ("c3", "c2") and plan.kept == ("conv3", "conv2")  # conv2 computes: the walk stops there
    plan = plan_keep(ops, ["conv2"], lambda n: sources[n])
    assert plan.ops == ("c2", "p1", "c1")  # through the pooling to conv1
    with pytest.raises(UserError, match="no layer named conv9"):
        plan_keep(ops, ["conv9"], lambda n: sources[n], known={"conv1", "pool1", "conv2", "conv3"})
    with pytest.raises(UserError, match="not part of the converted model"):
        plan_keep(ops, ["dense"], lambda n: sources[n], known={"conv1", "dense"})


def test_edgetpu_validation_shows_the_float_layers_leave_the_tpu(model):
    from edgewizard.core.validate.run import validate

    full = validate(str(model), LoadOptions(), Selection(), ["edgetpu"], CALIB, run_compiler=False)[0]
    kept = validate(str(model), LoadOptions(), Selection(), ["edgetpu"], replace(CALIB, keep_float=("conv2",)),
                    run_compiler=False)[0]
    assert kept.totals["device"] < full.totals["device"]
    assert kept.partition_point is not None and full.partition_point != kept.partition_point
    # the float layers are the person's choice: said in a note, and "quantize fully" is not suggested against it
    assert any(n.startswith("Kept in float: conv2") for n in kept.notes)
    assert not [x for x in kept.suggestions if x.kind == "quantize_fully"]


def test_cli_keep_float_unknown_layer_is_one_sentence(model, tmp_path):
    r = ew("convert", model, "-t", "tflite-int8", "--calib", sample_calibration_path(), "--keep-float", "conv9",
           "-o", tmp_path / "o")
    assert r.returncode == 2, r.stderr
    assert "no layer named conv9" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()  # nothing half-written


@pytest.mark.parametrize("target", TARGETS)
def test_budget_search_finds_a_candidate_within_one_point(model, target, tmp_path, test_set):
    data = VerifyData.from_path(str(sample_test_path()))
    result = search(str(model), LoadOptions(), Selection(), target, CALIB, data, 1.0, str(tmp_path / "work"))
    first, chosen = result.candidates[0], result.candidates[result.chosen]
    assert first.keep_float == () and first.drop > 50 and not first.fits
    assert result.fits and chosen.fits and chosen.drop <= 1.0 and chosen.keep_float
    assert set(chosen.keep_float) & {"conv1", "relu1", "pool1", "conv2", "relu2"}
    assert chosen.accelerator_ops < first.accelerator_ops == first.total_ops
    assert chosen.latency_ms > 0 and chosen.size_bytes > 0
    # the figures are the file's own: recompute the chosen candidate's accuracy here
    assert abs(accuracy(Path(chosen.files[0]), test_set) - chosen.accuracy) < 1e-9
    assert "within 1 point" in result.message


def test_cli_max_drop_writes_the_chosen_candidate_and_the_table(model, tmp_path, test_set):
    out = tmp_path / "o"
    r = ew("convert", model, "-t", "tflite-int8", "--calib", sample_calibration_path(), "--max-drop", "1",
           "--data", sample_test_path(), "-o", out)
    assert r.returncode == 0, r.stderr
    assert "full int8" in r.stdout and "in float" in r.stdout
    budget = json.loads((out / "budget.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    record = manifest["artifacts"][0]["details"]["keep_float"]
    assert record["asked"] == list(budget["candidates"][budget["chosen"]]["keep_float"])
    assert record["why"].startswith("accuracy budget search")
    assert accuracy(out / "digits_outlier_int8.tflite", test_set) >= budget["float_accuracy"] - 0.01


def test_cli_max_drop_that_nothing_meets_exits_0_with_the_closest(model, tmp_path):
    out = tmp_path / "o"
    r = ew("convert", model, "-t", "tflite-int8", "--calib", sample_calibration_path(), "--max-drop", "1",
           "--max-candidates", "1", "--data", sample_test_path(), "-o", out)
    assert r.returncode == 0, r.stderr
    assert "No candidate kept the accuracy within 1 point" in r.stdout
    assert (out / "digits_outlier_int8.tflite").is_file()


def test_cli_max_drop_needs_labels(model, tmp_path):
    unlabelled = tmp_path / "x.npz"
    with np.load(sample_test_path()) as d:
        np.savez(unlabelled, x=d["x"][:20])
    r = ew("convert", model, "-t", "tflite-int8", "--calib", sample_calibration_path(), "--max-drop", "1",
           "--data", unlabelled, "-o", tmp_path / "o")
    assert r.returncode == 2 and "labelled data" in r.stderr and "Traceback" not in r.stderr


def test_a_healthy_model_is_not_painted_red():
    from edgewizard.core.quant.results import HEAT_FLOOR, LayerError, LayerReport

    healthy = LayerReport("m.tflite", "m.tflite", "0", "litert", "d", 8,
                          rows=(LayerError("a", "CONV_2D", ("conv1",), 0.007, 0.007),
                                LayerError("b", "CONV_2D", ("conv2",), 0.009, 0.002)))
    assert healthy.heat_top() == HEAT_FLOOR and max(healthy.heat().values()) < 0.1
    broken = replace(healthy, rows=(LayerError("a", "CONV_2D", ("conv2",), 1.2, 1.19), *healthy.rows))
    assert broken.heat()["conv2"] == 1.0 and broken.heat()["conv1"] < 0.01
    assert broken.worst_nodes(1) == ["conv2"]


def test_topological_order_survives_a_tf1_loop(tmp_path):
    """A TF1 while loop is a cycle in the GraphDef (Merge <- NextIteration <- Add <- Merge): each node comes once."""
    import tensorflow as tf

    from edgewizard.core.quant.ov_order import tf_order

    gd = tf.compat.v1.GraphDef()
    for name, op, inputs in (("x", "Placeholder", []), ("merge", "Merge", ["x", "next"]), ("add", "AddV2", ["merge", "x"]),
                             ("next", "NextIteration", ["add"]), ("out", "Identity", ["add"])):
        node = gd.node.add()
        node.name, node.op = name, op
        node.input.extend(inputs)
    path = tmp_path / "loop.pb"
    path.write_bytes(gd.SerializeToString())
    order = [n for n, _ in tf_order(str(path))]
    assert sorted(order) == ["add", "merge", "next", "out", "x"]
    assert order[0] == "x" and order.index("add") < order.index("out")  # a cycle has no order of its own
