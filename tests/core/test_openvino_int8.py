"""The openvino-int8 target: NNCF post-training quantization of the cut, beside the float IR targets."""
from __future__ import annotations

import re

import numpy as np
import pytest

from edgewizard.core.calibrate import CalibrationSpec
import edgewizard.core.convert.openvino_int8  # noqa: F401  (registers openvino-int8 until base.py loads it)
from edgewizard.core.convert.base import ConvertOptions, get_target
from edgewizard.core.convert.run import convert
from edgewizard.core.errors import UserError
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.samples import sample_calibration_path, sample_model_path, sample_test_path
from tests.core import OPENVINO_EXACT

CALIB = CalibrationSpec(sources=((None, str(sample_calibration_path())),), samples=50)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    out = tmp_path_factory.mktemp("ovint8")
    # int8 first, then fp32 from the same shared converted model: quantizing must not change it.
    manifest = convert(str(sample_model_path()), LoadOptions(), Selection(), ["openvino-int8", "openvino-fp32"], str(out),
                       ConvertOptions(calibration=CALIB))
    return out, manifest


def test_registered_with_names_that_do_not_clash_with_tflite_int8():
    t = get_target("openvino-int8")
    assert t is get_target("OpenVINO-INT8") and t.needs_calibration
    assert t.output_names("m") == ["m_int8.xml", "m_int8.bin"]
    assert not set(t.output_names("m")) & set(get_target("tflite-int8").output_names("m"))


def test_the_ir_is_quantized_and_the_float_ir_is_untouched(converted):
    out, manifest = converted
    assert sorted(p.name for p in out.iterdir()) == [
        "digits_cnn_fp32.bin", "digits_cnn_fp32.xml", "digits_cnn_int8.bin", "digits_cnn_int8.xml", "manifest.json"]
    a = manifest.artifact("openvino-int8")
    assert a.op_counts_after["FakeQuantize"] >= 5  # activations of 3 convolutions and 2 dense layers
    assert "NNCF post-training quantization on 50 samples" in a.notes[0]
    xml = (out / "digits_cnn_int8.xml").read_text()
    assert re.search(r'type="Const"[^>]*>\s*<data[^>]*element_type="i8"', xml)  # int8 weights
    fp32 = manifest.artifact("openvino-fp32")
    assert "FakeQuantize" not in fp32.op_counts_after
    assert (out / "digits_cnn_int8.bin").stat().st_size < 0.4 * (out / "digits_cnn_fp32.bin").stat().st_size


def test_the_quantized_ir_runs_with_float_io_and_keeps_the_answers(converted):
    import openvino as ov

    out, _ = converted
    compiled = ov.Core().compile_model(str(out / "digits_cnn_int8.xml"), "CPU", OPENVINO_EXACT)
    assert [str(p.get_element_type()) for p in (*compiled.inputs, *compiled.outputs)] == ["<Type: 'float32'>"] * 2
    assert list(compiled.inputs[0].get_shape()) == [1, 32, 32, 1]
    with np.load(sample_test_path()) as d:
        x, y = d["x"][:120], d["y"][:120]
    got = np.array([compiled(s[None])[0][0] for s in x])
    assert np.mean(got.argmax(1) == y) >= 0.95


def test_refused_without_calibration_before_any_work(tmp_path):
    with pytest.raises(UserError, match="openvino-int8 needs calibration data"):
        convert(str(sample_model_path()), LoadOptions(), Selection(), ["openvino-int8"], str(tmp_path / "o"))
    assert not (tmp_path / "o").exists()


TELEMETRY_PROBE = """
import os, sys
from openvino_telemetry.utils.sender import TelemetrySender
from edgewizard.core.privacy import block_vendor_telemetry

class RecordingBackend:  # stands in for the analytics service: records instead of sending
    sent = []
    def send(self, message):
        self.sent.append(message)

def send(text):
    sender = TelemetrySender()
    sender.send(RecordingBackend(), text)
    sender.executor.shutdown(wait=True)

send("before")
block_vendor_telemetry()
send("after")
print(RecordingBackend.sent, os.environ.get("NNCF_CI"))
"""


def test_vendor_telemetry_is_blocked():
    """NNCF and the OpenVINO converter report usage to an analytics service unless blocked.
    Run in a fresh interpreter: the block is process-wide and this one has it already."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "NNCF_CI"}
    r = subprocess.run([sys.executable, "-c", TELEMETRY_PROBE], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['before'] 1"  # sent before the block, not after
