"""`edgewizard validate`: a report on stdout and exit 0 even when ops are unsupported; --json for
scripts; plain one-sentence errors for bad input."""
from __future__ import annotations

import json

import pytest

from edgewizard.core.cli import main
from tests.models import validate_models as vm


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return vm.rule_graph(tmp_path_factory.mktemp("validate cli 模型"), "hard_swish")


def test_human_report_summary_table_suggestions(model):
    # The text the command prints, made from reports computed here (the JSON test below runs the
    # whole command through its worker process).
    from edgewizard.core.cli.validate_cmd import report_text
    from edgewizard.core.plan import LoadOptions, Selection
    from edgewizard.core.validate.run import validate

    tpu, cpu = validate(str(model), LoadOptions(), Selection(), ["edgetpu", "openvino:CPU"], run_compiler=False)
    out = report_text(tpu)
    assert out.startswith("Coral Edge TPU: 2 of 4 ops on the Edge TPU; 1 the Edge TPU cannot run; "
                          "1 after the partition point run on the CPU\n")
    assert "partition point: #2 HARD_SWISH" in out
    assert "HARD_SWISH is not an Edge TPU op: MobileNetV3 variants for the Edge TPU replace it with ReLU." in out
    assert "suggestions:" in out and "Replace the hard-swish activations with ReLU" in out
    rows = [ln.split() for ln in out.splitlines() if ln.strip()[:2] in ("0 ", "1 ", "2 ", "3 ")]
    assert [(r[1], r[2]) for r in rows] == [("QUANTIZE", "Edge"), ("CONV_2D", "Edge"), ("HARD_SWISH", "cannot"),
                                           ("QUANTIZE", "CPU")]
    assert report_text(cpu).startswith("OpenVINO on the CPU: ") and "ops on the OpenVINO CPU" in report_text(cpu)


def test_the_command_exits_0_with_unsupported_ops_and_prints_json(model, capsys):
    code = main(["validate", str(model), "-d", "edgetpu", "-d", "openvino:GPU", "-d", "openvino:NPU", "--json",
                 "--no-compiler", "--calib", "synthetic"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["model"] == str(model)
    tpu = data["reports"][0]
    assert tpu["device"] == "edgetpu" and tpu["status"] == "checked"
    assert tpu["partition_point"]["op"] == "HARD_SWISH" and tpu["totals"] == {
        "device": 2, "cpu": 1, "unsupported": 1, "total": 4}
    assert [n["where"] for n in tpu["nodes"]] == ["device", "device", "unsupported", "cpu"]
    for other in data["reports"][1:]:  # no GPU or NPU here: a clear non-answer, not an error
        assert other["status"] in ("not_checked", "checked")
        if other["status"] == "not_checked":
            assert "cannot check this device without it" in other["reason"]


def test_unknown_device_is_a_user_error(model, capsys):
    assert main(["validate", str(model), "--device", "myriadd"]) == 2
    err = capsys.readouterr().err
    assert "Unknown device 'myriadd'" in err and "Did you mean myriad" in err


def test_list_devices(capsys):
    assert main(["validate", "--list-devices"]) == 0
    out = capsys.readouterr().out
    for name in ("edgetpu", "myriad", "openvino:CPU", "openvino:GPU", "openvino:NPU", "tflite:CPU"):
        assert f"  {name} " in out
