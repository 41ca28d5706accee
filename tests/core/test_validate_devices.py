"""Validation of known models on every device: MobileNetV2 maps entirely to the Edge TPU,
MobileNetV3Small falls off at its first hard-swish, a 3-D convolution is refused by the NCS2,
OpenVINO's query_model agrees with a real CPU compile, absent devices say so, and TFLite ops that
need Flex or a custom kernel are reported. MobileNets use alpha 0.35/0.75 at 96x96 to stay fast."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from edgewizard.core.calibrate import CalibrationSpec
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.cut import cut as cut_model
from edgewizard.core.loaders import load
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.validate.base import ValidationContext, get_validator
from edgewizard.core.validate.report import CPU, DEVICE, UNSUPPORTED
from edgewizard.core.validate.run import validate
from tests.models import validate_models as vm

ALL = ["edgetpu", "myriad", "openvino:CPU", "tflite:CPU"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("validate models")


@pytest.fixture(scope="module")
def mnv2(folder):  # about 10-25 s: builds, freezes and converts a Keras MobileNetV2 for four devices
    path = vm.mobilenet_v2_small(folder / "mobilenet_v2.keras")
    calib = folder / "calib.npy"
    np.save(calib, np.random.default_rng(0).uniform(0, 1, (4, 96, 96, 3)).astype("float32"))
    options = ConvertOptions(calibration=CalibrationSpec(sources=((None, str(calib)),)))
    reports = validate(str(path), LoadOptions(), Selection(), ALL, options, run_compiler=False)
    return path, {r.device: r for r in reports}


@pytest.fixture(scope="module")
def mnv3(folder):
    path = vm.mobilenet_v3_small(folder / "mobilenet_v3_small.keras")
    (report,) = validate(str(path), LoadOptions(), Selection(), ["edgetpu"], run_compiler=False)
    return path, report


@pytest.mark.slow
def test_mobilenet_v2_int8_batch_1_maps_entirely_to_the_edge_tpu(mnv2):
    path, reports = mnv2
    tpu = reports["edgetpu"]
    assert tpu.runs_entirely_on_device and tpu.partition_index is None
    ops = {v.op for v in tpu.nodes}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MEAN", "FULLY_CONNECTED", "SOFTMAX"} <= ops
    assert tpu.summary() == f"{len(tpu.nodes)} of {len(tpu.nodes)} ops on the Edge TPU"
    # Calibration data was given: no synthetic-data note. The Keras batch was None and is fixed.
    assert not any("synthetic" in n for n in tpu.notes)
    assert any("dynamic; EdgeWizard fixes it to 1" in n for n in tpu.notes)
    # Parameter memory: the Keras model's weights, as int8 (+ int32 biases), well inside the cache.
    import keras

    params = keras.models.load_model(path, compile=False).count_params()
    assert 0.9 * params <= tpu.memory.parameter_bytes <= 1.2 * params and tpu.memory.fits  # BN folds away


def test_verdicts_map_back_to_the_keras_layers(mnv2):
    _, reports = mnv2
    tpu = reports["edgetpu"]
    named = [v for v in tpu.nodes if v.source_nodes]
    assert len(named) >= 0.9 * len(tpu.nodes)
    first_conv = next(v for v in tpu.nodes if v.op == "CONV_2D")
    assert set(first_conv.source_nodes) == {"Conv1_relu", "bn_Conv1"}
    # The graph view colours every layer of the cut, the folded ones included ("Conv1" -> its BN).
    colours = tpu.source_verdicts
    assert colours["Conv1"] == DEVICE and colours["block_16_project"] == DEVICE
    assert set(colours.values()) == {DEVICE}


def test_mobilenet_v2_on_the_other_devices(mnv2):
    _, reports = mnv2
    for name in ("myriad", "openvino:CPU", "tflite:CPU"):
        r = reports[name]
        assert r.status == "checked" and r.runs_entirely_on_device, (name, [v.reason for v in r.nodes if v.where != DEVICE])
    assert reports["myriad"].source_of_truth == "table" and any("FP16" in n for n in reports["myriad"].notes)
    assert reports["openvino:CPU"].source_of_truth == "query_model"
    assert reports["tflite:CPU"].source_of_truth == "converter"
    # OpenVINO renames the convolutions it converts ("Convolution_17"); they still map back to the Keras layers
    for name in ("myriad", "openvino:CPU"):
        convs = [v for v in reports[name].nodes if v.op in ("Convolution", "GroupConvolution")]
        assert convs and sum(1 for v in convs if v.source_nodes) >= 0.9 * len(convs), name


@pytest.mark.slow
def test_mobilenet_v3_small_partition_at_its_first_hard_swish(mnv3):
    path, report = mnv3
    swishes = [v for v in report.nodes if v.op == "HARD_SWISH"]
    point = report.partition_point
    assert point is not None and point.index == swishes[0].index
    assert point.where == UNSUPPORTED and "MobileNetV3 variants for the Edge TPU replace it with ReLU" in point.reason
    assert all(v.where == DEVICE for v in report.nodes if v.index < point.index)
    after = [v for v in report.nodes if v.index > point.index]
    assert all(v.where == (UNSUPPORTED if v.op == "HARD_SWISH" else CPU) for v in after)
    assert f"{len(after) - len(swishes) + 1} after the partition point run on the CPU" in report.summary()
    original = load(path).info.graph
    assert original.node(point.source_node).op == "Activation"
    assert report.source_verdicts[point.source_node] == UNSUPPORTED
    assert any(s.kind == "replace_activation" and point.name in s.nodes for s in report.suggestions)
    assert any("synthetic data" in n for n in report.notes)


def test_a_3d_convolution_is_flagged_for_myriad_but_runs_on_the_openvino_cpu(folder):
    path = vm.conv3d(folder / "conv3d.keras")
    myriad, cpu = validate(str(path), LoadOptions(), Selection(), ["myriad", "openvino:CPU"])
    bad = [v for v in myriad.nodes if v.where == UNSUPPORTED]
    assert [(v.op, v.rule) for v in bad] == [("Convolution", "check:spatial_2d")]
    assert "3-D Convolution" in bad[0].reason and myriad.partition_index == bad[0].index
    assert any(s.kind == "replace_op" for s in myriad.suggestions)
    assert cpu.runs_entirely_on_device


def test_query_model_on_cpu_agrees_with_an_actual_cpu_compile(folder):
    from edgewizard.core.loaders.openvino_loader import core
    from edgewizard.core.validate.openvino_devices import ov_model

    path = vm.conv3d(folder / "conv3d_compile.keras")
    loaded = load(path)
    work = folder / "compile-work"
    cut = cut_model(loaded, Selection(), work)
    ctx = ValidationContext(cut=cut, original=loaded.info.graph, options=ConvertOptions(), workdir=work,
                            progress=lambda f, m: None)
    report = get_validator("openvino:CPU").validate(ctx)
    model = ov_model(ctx)  # the very model the report judged (shared in the context)
    compiled = core().compile_model(model, "CPU")
    executed = set()
    for op in compiled.get_runtime_model().get_ordered_ops():
        executed.update(n for n in op.get_rt_info()["originalLayersNames"].astype(str).split(",") if n)
    judged = {v.name for v in report.nodes}
    supported = {v.name for v in report.nodes if v.where == DEVICE}
    assert supported == judged  # query_model: all supported; the compile above succeeded
    compute = {v.name for v in report.nodes if v.op in ("Convolution", "MatMul", "Softmax", "ReduceMean")}
    assert compute and compute <= executed


def test_absent_devices_say_they_cannot_be_checked(folder):
    from edgewizard.core.loaders.openvino_loader import core

    absent = [d for d in ("GPU", "NPU") if not any(x.split(".")[0] == d for x in core().available_devices)]
    if not absent:
        pytest.skip("this machine has both an OpenVINO GPU and NPU, so neither is absent")
    path = vm.rule_graph(folder, "softmax_1000")
    reports = validate(str(path), LoadOptions(), Selection(), [f"openvino:{d}" for d in absent])
    for r in reports:
        assert r.status == "not_checked" and r.nodes == ()
        assert "cannot check this device without it" in r.reason and r.summary().endswith(r.reason)


def test_tflite_cpu_reports_flex_and_custom_ops(folder):
    flex, = validate(str(vm.rule_graph(folder, "cumprod_flex")), LoadOptions(), Selection(), ["tflite:CPU"])
    bad = [v for v in flex.nodes if v.where == UNSUPPORTED]
    assert [(v.op, v.rule) for v in bad] == [("FlexCumprod", "flex")]
    assert "Select TF ops" in bad[0].reason and bad[0].source_nodes == ("Cumprod",)
    assert [s.kind for s in flex.suggestions] == ["replace_op"]
    custom, = validate(str(vm.rule_graph(folder, "erfinv_custom")), LoadOptions(), Selection(), ["tflite:CPU"])
    assert [(v.op, v.rule) for v in custom.nodes if v.where == UNSUPPORTED] == [("Erfinv", "custom")]
    plain, = validate(str(vm.rule_graph(folder, "softmax_1000")), LoadOptions(), Selection(), ["tflite:CPU"])
    assert plain.runs_entirely_on_device


def test_a_model_a_device_format_cannot_hold_fails_only_that_device(folder):
    # Erfinv has no TFLite builtin, no int8 kernel and no TensorFlow (Flex) kernel, and OpenVINO's
    # TensorFlow frontend has no conversion for it: no model for the Edge TPU or OpenVINO can be
    # made, which is those devices' answer. TFLite on the CPU still judges it (a custom op).
    tpu, cpu, lite = validate(str(vm.rule_graph(folder, "erfinv_custom")), LoadOptions(), Selection(),
                              ["edgetpu", "openvino:CPU", "tflite:CPU"], run_compiler=False)
    assert tpu.status == "failed" and tpu.nodes == ()
    assert tpu.reason.startswith("TensorFlow Lite cannot convert this model at all") and "Erfinv" in tpu.reason
    assert tpu.summary() == f"Coral Edge TPU: {tpu.reason}"
    assert cpu.status == "failed" and cpu.reason.startswith("OpenVINO could not convert this model")
    assert lite.status == "checked" and [v.op for v in lite.nodes if v.where == UNSUPPORTED] == ["Erfinv"]


def test_reports_pickle_and_turn_into_json(mnv3):
    _, report = mnv3
    again = pickle.loads(pickle.dumps(report))
    assert again == report and again.summary() == report.summary()
    data = json.loads(json.dumps(report.to_dict()))
    assert data["device"] == "edgetpu" and data["summary"] == report.summary()
    assert data["partition_point"]["op"] == "HARD_SWISH"
    assert data["totals"]["total"] == len(report.nodes) == len(data["nodes"])
    assert set(data["nodes"][0]) >= {"index", "name", "op", "where", "reason", "source_nodes", "rule", "confirmed"}
    assert data["memory"]["fits"] is True and "coral-ops-2019" in data["table_sources"]
    assert Path(data["table_sources"]["coral-ops-2019"]["url"]).name  # provenance travels with the report
