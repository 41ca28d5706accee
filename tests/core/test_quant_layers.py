"""The per-layer int8 error on a model made to break in int8 (tests/models/outlier.py): conv1 holds one
channel ~1000x the others and conv2 undoes it, so the float function is unchanged but int8 loses the
other channels between them. The analysis must point there, under the Keras layer names, for both runtimes."""
from __future__ import annotations

import json

import pytest

import edgewizard.core.convert.openvino_int8  # noqa: F401  (registers openvino-int8 until base.py loads it)
from edgewizard.core.calibrate import CalibrationSpec
from edgewizard.core.cli import main
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.convert.run import convert
from edgewizard.core.errors import UserError
from edgewizard.core.files import sha256_of
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.quant.layers import per_layer
from edgewizard.core.quant.results import layers_key
from edgewizard.core.samples import sample_calibration_path, sample_model_path, sample_test_path
from edgewizard.core.verify import VerifyData
from tests.models.outlier import make_outlier_model

CALIB = CalibrationSpec(sources=((None, str(sample_calibration_path())),))
TEST_SET = VerifyData.from_path(str(sample_test_path()), label="the sample's test split")
INT8 = {"tflite-int8": "_int8.tflite", "openvino-int8": "_int8.xml"}
BETWEEN = {"conv1", "relu1", "pool1", "conv2"}  # the layers around the outlier channel


@pytest.fixture(scope="module")
def outlier(tmp_path_factory):
    folder = tmp_path_factory.mktemp("outlier")
    model = make_outlier_model(folder)
    out = folder / "out"
    convert(str(model), LoadOptions(), Selection(), ["tflite-int8", "openvino-int8", "tflite-float"], str(out),
            ConvertOptions(calibration=CALIB))
    return model, out


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "out"
    convert(str(sample_model_path()), LoadOptions(), Selection(), list(INT8), str(out), ConvertOptions(calibration=CALIB))
    return out


def analyse(model, out, target, stem):
    return per_layer(str(model), LoadOptions(), Selection(), str(out / f"{stem}{INT8[target]}"), TEST_SET, samples=16)


@pytest.mark.parametrize("target", list(INT8))
def test_the_outlier_layer_is_ranked_first_and_the_sample_model_has_no_such_layer(outlier, sample, target):
    model, out = outlier
    report = analyse(model, out, target, "digits_outlier")
    top = report.rows[0]
    assert top.source_nodes and top.source_nodes[0] in BETWEEN, report.rows[:3]
    assert top.added > 0.3 and top.error > 0.3
    assert [r.added for r in report.rows] == sorted((r.added for r in report.rows), reverse=True)
    mapped = [r for r in report.rows if r.source_nodes]
    assert len(mapped) >= 0.75 * len(report.rows) and len(report.rows) >= 8
    assert report.samples == 16 and report.runtime == ("litert" if target == "tflite-int8" else "openvino")
    assert report.key == layers_key(sha256_of(out / report.file), report.data) and report.sha256
    if target == "tflite-int8":
        assert top.quantized and top.rmse_scale is not None and top.rmse_scale > 5

    healthy = analyse(sample_model_path(), sample, target, "digits_cnn")
    assert healthy.rows and max(r.added for r in healthy.rows) < top.added / 5
    assert max(r.error for r in healthy.rows) < 0.2


def test_a_float_model_and_an_edgetpu_model_are_refused_in_one_sentence(outlier, tmp_path, capsys):
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model, out = outlier
    assert main(["verify", str(model), str(out / "digits_outlier_float.tflite"), "--per-layer"]) == 2
    err = capsys.readouterr().err
    assert "nothing in it is int8" in err and err.count("\n") == 1

    # A stand-in for a compiled model: the int8 model with its first op renamed to the Edge TPU's custom op.
    tflite = schema.ModelT.InitFromPackedBuf((out / "digits_outlier_int8.tflite").read_bytes(), 0)
    code = tflite.operatorCodes[tflite.subgraphs[0].operators[0].opcodeIndex]
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = b"edgetpu-custom-op"
    builder = flatbuffers.Builder(1 << 16)
    builder.Finish(tflite.Pack(builder), file_identifier=b"TFL3")
    compiled = tmp_path / "digits_outlier_int8_edgetpu.tflite"
    compiled.write_bytes(bytes(builder.Output()))
    assert main(["verify", str(model), str(compiled), "--per-layer"]) == 2
    err = capsys.readouterr().err
    assert "compiled for the Edge TPU" in err and "int8 .tflite it was compiled from" in err

    other = tmp_path / "weights.onnx"
    other.write_bytes(b"not a model")
    with pytest.raises(UserError, match="int8 .tflite or an OpenVINO INT8 .xml"):
        per_layer(str(model), LoadOptions(), Selection(), str(other), TEST_SET)


def test_the_command_prints_the_report_as_json_and_the_table_worst_first(outlier, capsys):
    model, out = outlier
    args = ["verify", str(model), str(out / "digits_outlier_int8.xml"), "--per-layer", "--layer-samples", "8",
            "--data", str(sample_test_path())]
    assert main(args + ["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["runtime"] == "openvino" and data["samples"] == 8 and data["rows"]
    assert data["rows"][0]["source_nodes"][0] in BETWEEN
    assert main(args) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("layer "))
    assert lines[header + 1].split()[0].rstrip(",") in BETWEEN and "relative error" in text
