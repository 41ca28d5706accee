"""What the bench measures OpenVINO in: the device's default precision (bf16 on CPUs with AMX or
AVX512-BF16) or one asked for, always reported as read back from the compiled model; and models
whose inner shapes are dynamic behind fixed inputs run (a YOLO head), while dynamic inputs are refused."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edgewizard.core.bench.runner import BenchRequest, BenchRun, canonical_precision, probe
from edgewizard.core.errors import UserError
from tests.models.bench_models import inner_dynamic_onnx, tiny_ir, tiny_tflite


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("precision models")
    return {"ir": tiny_ir(folder / "tiny.xml"), "tflite": tiny_tflite(folder / "tiny.tflite"),
            "inner": inner_dynamic_onnx(folder / "yolo-like.onnx"),
            "dynamic": inner_dynamic_onnx(folder / "dynamic batch.onnx", batch="N")}


@pytest.fixture(scope="module")
def cpu():
    import openvino as ov

    c = ov.Core()
    return {"default": c.get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name(),
            "caps": c.get_property("CPU", "OPTIMIZATION_CAPABILITIES")}


def bench(model, **kw):
    run = BenchRun(BenchRequest(str(model), "openvino:CPU", count=20, warmup=1, **kw)).start()
    assert run.wait(120)
    return run.result()


def test_device_default_is_reported_as_the_device_used_it(models, cpu):
    r = bench(models["ir"])
    assert r.status == "finished" and r.precision_requested is None
    assert r.precision == r.default_precision == cpu["default"]
    assert r.precision_label == f"{cpu['default']} (this device's default)"
    assert r.to_dict()["precision"] == cpu["default"]


def test_an_asked_precision_is_used_and_said(models, cpu):
    r = bench(models["ir"], precision="fp32")  # the ways people write it are accepted
    assert (r.precision, r.precision_requested, r.default_precision) == ("f32", "f32", cpu["default"])
    default = f"; default {cpu['default']}" if cpu["default"] != "f32" else ""
    assert r.precision_label == f"f32 (asked for{default})"
    if "BF16" in cpu["caps"]:
        assert bench(models["ir"], precision="bf16").precision == "bf16"


def test_a_precision_is_refused_where_it_means_nothing(models):
    with pytest.raises(UserError, match="only for OpenVINO devices, not tflite:CPU"):
        BenchRequest(str(models["tflite"]), "tflite:CPU", precision="f16")
    with pytest.raises(UserError, match="Precision 'int4' is not one of default, f32, f16 or bf16"):
        canonical_precision("int4")
    assert canonical_precision("default") is None and canonical_precision("FLOAT16") == "f16"


def test_the_command_line_prints_and_records_the_precision(models, tmp_path):
    out = subprocess.run([sys.executable, "-m", "edgewizard.gui.launch", "bench", str(models["ir"]), "-n", "10",
                          "--precision", "f32", "--json"], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert (d["precision"], d["precision_requested"]) == ("f32", "f32")
    text = subprocess.run([sys.executable, "-m", "edgewizard.gui.launch", "bench", str(models["ir"]), "-n", "10"],
                          capture_output=True, text=True, timeout=180)
    assert text.returncode == 0 and "\nPrecision:   " in text.stdout and "(this device's default)" in text.stdout
    bad = subprocess.run([sys.executable, "-m", "edgewizard.gui.launch", "bench", str(models["tflite"]), "-n", "10",
                          "--precision", "f16"], capture_output=True, text=True, timeout=180)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "only for OpenVINO devices" in bad.stderr


def test_probe_tells_the_cpus_default_precision(cpu):
    found = probe()
    entry = next(d for d in found["devices"] if d["device"] == "openvino:CPU")
    assert entry["default_precision"] == cpu["default"]


def test_inner_dynamic_shapes_behind_fixed_inputs_are_benchmarked(models):
    import openvino as ov

    assert ov.Core().read_model(str(models["inner"])).is_dynamic()  # what the old check refused
    r = bench(models["inner"])
    assert r.status == "finished" and r.count == 20 and r.error is None


def test_a_dynamic_input_is_refused_in_one_sentence_naming_it(models):
    run = BenchRun(BenchRequest(str(models["dynamic"]), "openvino:CPU", count=5)).start()
    assert run.wait(120)
    assert run.result().status == "failed"
    assert isinstance(run.error, UserError)
    assert run.error.message == ("The model's input 'images' (shape [?,4]) is not fixed in size; convert it with "
                                 "fixed input shapes to benchmark it.")


def test_ready_names_the_inputs_as_the_model_does(models):
    run = BenchRun(BenchRequest(str(models["ir"]), "openvino:CPU", count=3)).start()
    assert run.wait(120)
    assert [i["name"] for i in run.ready["inputs"]] == ["input"] and run.ready["outputs"][0]["name"] == "output"
