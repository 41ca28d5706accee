"""The edgetpu target from a .tflite source compiles the file as it is, so it takes only a full-integer
model: a float or dynamic-range .tflite used to be written as "<stem>_int8.tflite" (and verified as
float32 under that name); now it is refused in one sentence. No calibration note when nothing was calibrated."""
from __future__ import annotations

import json

import pytest

from edgewizard.core.calibrate import CalibrationSpec
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.convert.run import convert
from edgewizard.core.errors import UserError
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.samples import sample_model_path

SYNTHETIC = ConvertOptions(calibration=CalibrationSpec(sources=((None, "synthetic"),)))


@pytest.fixture(scope="module")
def tflites(tmp_path_factory):
    out = tmp_path_factory.mktemp("tflites")
    convert(str(sample_model_path()), LoadOptions(), Selection(), ["tflite-float", "tflite-dynamic", "tflite-int8"],
            str(out), SYNTHETIC)
    return out


@pytest.mark.parametrize("name", ["digits_cnn_float.tflite", "digits_cnn_dynamic.tflite"])
def test_a_float_or_dynamic_range_tflite_is_refused(tflites, tmp_path, name):
    with pytest.raises(UserError) as caught:
        convert(str(tflites / name), LoadOptions(), Selection(), ["edgetpu"], str(tmp_path / "out"), SYNTHETIC)
    e = caught.value
    assert e.message_id == "convert.tflite_not_full_integer" and "\n" not in e.message
    assert e.message.startswith(f"{name} is not a full-integer model (") and "CONV_2D" in e.message
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*_int8.tflite"))


def test_a_full_integer_tflite_goes_to_the_compiler_as_it_is(tflites, tmp_path):
    source = tflites / "digits_cnn_int8.tflite"
    manifest = convert(str(source), LoadOptions(), Selection(), ["edgetpu"], str(tmp_path / "out"), SYNTHETIC)
    artifact, = manifest.artifacts
    written = tmp_path / "out" / artifact.files[0].name
    assert written.read_bytes() == source.read_bytes()
    # Nothing was calibrated here, so no note says it was calibrated on synthetic data.
    assert not any("synthetic" in n for n in artifact.notes), artifact.notes
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["artifacts"][0]["status"] in ("compiled", "not_compiled")


def test_a_device_that_needs_tflite_names_an_onnx_source_in_words(tmp_path):
    from edgewizard.core.validate.run import validate
    from tests.models.bench_models import inner_dynamic_onnx

    reports = validate(str(inner_dynamic_onnx(tmp_path / "m.onnx")), LoadOptions(), Selection(), ["edgetpu", "tflite:CPU"])
    assert [r.status for r in reports] == ["not_checked", "not_checked"]
    assert all("EdgeWizard cannot make one from an ONNX model; open the original" in r.reason for r in reports)
