"""Converting the bundled sample to every target, and checking each result by loading it back."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgewizard.core.calibrate import CalibrationSpec
from edgewizard.core.codec import to_data
from edgewizard.core.convert.base import ConvertOptions, get_target, register, targets
from edgewizard.core.convert.run import STAGING_PREFIX, convert
from edgewizard.core.errors import UserError
from edgewizard.core.manifest import read_manifest
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.samples import sample_calibration_path, sample_model_path, sample_test_path
from tests.core import OPENVINO_EXACT

ALL = ["tflite-float", "tflite-fp16", "tflite-dynamic", "tflite-int8", "edgetpu", "openvino-fp32", "openvino-fp16"]
CALIB = CalibrationSpec(sources=((None, str(sample_calibration_path())),))


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "sample out 出力"
    manifest = convert(str(sample_model_path()), LoadOptions(), Selection(), ALL, str(out), ConvertOptions(calibration=CALIB))
    return out, manifest


@pytest.fixture(scope="module")
def test_data():
    with np.load(sample_test_path()) as d:
        return d["x"], d["y"]


@pytest.fixture(scope="module")
def reference(test_data):
    import keras

    model = keras.models.load_model(sample_model_path(), compile=False)
    return model.predict(test_data[0], verbose=0)


def run_tflite(path, x):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    outs = []
    for sample in x:
        v = sample[None]
        if i["dtype"] != np.float32:
            scale, zero = i["quantization"]
            v = np.clip(np.round(v / scale + zero), np.iinfo(i["dtype"]).min, np.iinfo(i["dtype"]).max).astype(i["dtype"])
        it.set_tensor(i["index"], v)
        it.invoke()
        r = it.get_tensor(o["index"]).astype(np.float32)
        if o["dtype"] != np.float32:
            scale, zero = o["quantization"]
            r = (r - zero) * scale
        outs.append(r[0])
    return np.array(outs), it


def run_openvino(xml, x):
    import openvino as ov

    compiled = ov.Core().compile_model(str(xml), "CPU", OPENVINO_EXACT)
    return np.array([compiled(s[None])[0][0] for s in x]), compiled


def test_every_target_writes_its_files_and_a_manifest(converted):
    out, manifest = converted
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([
        "digits_cnn_float.tflite", "digits_cnn_fp16.tflite", "digits_cnn_dynamic.tflite", "digits_cnn_int8.tflite",
        "digits_cnn_fp32.xml", "digits_cnn_fp32.bin", "digits_cnn_fp16.xml", "digits_cnn_fp16.bin", "manifest.json",
    ])
    on_disk = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == to_data(manifest) and read_manifest(out) == manifest
    assert [a.target for a in manifest.artifacts] == ALL
    assert manifest.source.format == "keras" and len(manifest.source.sha256) == 64
    assert [t.to_dict() for t in manifest.cut.inputs] == [{"name": "image", "shape": [1, 32, 32, 1], "dtype": "float32"}]
    assert manifest.tools["tensorflow"].startswith("2.21")
    for a in manifest.artifacts:
        for f in a.files:
            assert (out / f.name).stat().st_size == f.size_bytes > 0
        assert a.op_counts_before["Conv2D"] == 3 and a.op_counts_after
    assert not any(p.name.startswith(STAGING_PREFIX) for p in out.iterdir())


def test_no_file_is_world_writable(converted):
    out, _ = converted
    for p in out.iterdir():
        assert not os.stat(p).st_mode & 0o002, p


def test_edgetpu_says_the_compile_did_not_happen(converted):
    out, manifest = converted
    edgetpu = manifest.artifact("edgetpu")
    assert edgetpu.status == "not_compiled"
    assert [f.name for f in edgetpu.files] == ["digits_cnn_int8.tflite"]
    assert "NOT run" in edgetpu.notes[0] and "apt-get install edgetpu-compiler" in edgetpu.notes[0]
    assert not list(out.glob("*_edgetpu*"))
    assert "compiler_log" not in edgetpu.details


@pytest.mark.parametrize("name,atol", [("float", 1e-5), ("fp16", 2e-2), ("dynamic", 5e-2)])
def test_float_tflite_models_match_the_original(converted, test_data, reference, name, atol):
    out, _ = converted
    got, it = run_tflite(out / f"digits_cnn_{name}.tflite", test_data[0][:64])
    assert it.get_input_details()[0]["shape"].tolist() == [1, 32, 32, 1]
    assert it.get_input_details()[0]["dtype"] == np.float32
    assert np.max(np.abs(got - reference[:64])) < atol


def test_int8_model_is_integer_only_and_keeps_accuracy(converted, test_data, reference):
    out, _ = converted
    x, y = test_data
    got, it = run_tflite(out / "digits_cnn_int8.tflite", x)
    assert it.get_input_details()[0]["dtype"] == np.uint8 and it.get_output_details()[0]["dtype"] == np.uint8
    kinds = {d["dtype"] for d in it.get_tensor_details()}
    assert np.float32 not in kinds  # integer-only: no float tensor anywhere
    # Tolerance: outputs are probabilities quantized in steps of 1/256; calibration error adds a few
    # steps. What matters to a person is the class, so agreement and accuracy are checked.
    assert np.mean(np.abs(got - reference)) < 0.02
    agreement = np.mean(got.argmax(1) == reference.argmax(1))
    assert agreement >= 0.97
    float_acc, int8_acc = np.mean(reference.argmax(1) == y), np.mean(got.argmax(1) == y)
    assert float_acc - int8_acc <= 0.01  # the goal: at most 1 point lost


@pytest.mark.parametrize("name,atol", [("fp32", 1e-5), ("fp16", 1e-2)])
def test_openvino_ir_matches_and_fp16_has_half_precision_weights(converted, test_data, reference, name, atol):
    out, _ = converted
    got, compiled = run_openvino(out / f"digits_cnn_{name}.xml", test_data[0][:64])
    assert len(compiled.inputs) == 1 and len(compiled.outputs) == 1
    assert list(compiled.inputs[0].get_shape()) == [1, 32, 32, 1]
    assert np.max(np.abs(got - reference[:64])) < atol
    xml = (out / f"digits_cnn_{name}.xml").read_text()
    f16 = len(re.findall(r'<layer[^>]+type="Const"[^>]*>\s*<data[^>]*element_type="f16"', xml))
    assert (f16 > 0) == (name == "fp16")


def test_existing_outputs_are_kept_without_force(converted):
    out, manifest = converted
    before = (out / "digits_cnn_float.tflite").stat().st_mtime_ns
    with pytest.raises(UserError, match="already exists.*choose to replace it") as err:
        convert(str(sample_model_path()), LoadOptions(), Selection(), ["tflite-float"], str(out))
    assert "--" not in err.value.message and "--force" in err.value.cli_hint  # the option: command line only
    assert (out / "digits_cnn_float.tflite").stat().st_mtime_ns == before
    assert read_manifest(out) == manifest


def test_force_replaces_and_the_manifest_keeps_the_other_artifacts(tmp_path):
    src = str(sample_model_path())
    convert(src, LoadOptions(), Selection(), ["openvino-fp32"], str(tmp_path))
    m = convert(src, LoadOptions(), Selection(), ["tflite-float", "openvino-fp32"], str(tmp_path), force=True)
    assert [a.target for a in m.artifacts] == ["openvino-fp32", "tflite-float"]


def test_int8_without_calibration_is_refused_before_any_work(tmp_path):
    with pytest.raises(UserError, match="tflite-int8, edgetpu need calibration data"):
        convert(str(sample_model_path()), LoadOptions(), Selection(), ["tflite-int8", "edgetpu"], str(tmp_path / "o"))
    assert not (tmp_path / "o").exists()


def test_unknown_target(tmp_path):
    with pytest.raises(UserError, match="Unknown target 'tpu'; choose from"):
        get_target("tpu")


READ_ONLY_PROBE = """
import sys
from pathlib import Path
from edgewizard.core.convert.run import check_output_folder
from edgewizard.core.errors import UserError
from edgewizard.core.manifest import read_manifest
try:
    check_output_folder(Path(sys.argv[1]), ["m_float.tflite"], Path(sys.argv[2]), force=False)
except UserError as exc:
    print(exc.message)
"""


def test_a_read_only_output_folder_is_refused(tmp_path):
    """Root may write anywhere, so as root the check runs as the unprivileged user 'nobody'."""
    import subprocess
    import sys
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="ew-ro-"))  # pytest's tmp_path is private to root
    try:
        base.chmod(0o755)
        ro = base / "read only"
        ro.mkdir()
        ro.chmod(0o555)
        argv = [sys.executable, "-c", READ_ONLY_PROBE, str(ro), str(sample_model_path())]
        if os.geteuid() == 0:
            argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=base)
        assert r.returncode == 0, r.stderr
        assert f"The output folder {ro} is not writable" in r.stdout
        assert list(ro.iterdir()) == []
    finally:
        (base / "read only").chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)


def test_output_never_overwrites_the_input(tmp_path):
    src = tmp_path / "m_float.tflite"
    shutil.copy(sample_model_path(), tmp_path / "m.keras")
    src.write_bytes(b"precious")
    with pytest.raises(UserError):
        convert(str(tmp_path / "m.keras"), LoadOptions(), Selection(), ["tflite-float"], str(tmp_path), force=False)
    assert src.read_bytes() == b"precious"


def test_a_failing_target_leaves_no_partial_file_and_keeps_finished_ones(tmp_path):
    """A fault-injection target (a test double) fails after writing half a file."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class FaultInjectingTarget:
        name: str = "test-fault-half-written"
        title: str = "test double that fails mid-write"
        needs_calibration: bool = False

        def output_names(self, stem):
            return [f"{stem}_half.bin"]

        def convert(self, job):
            (job.staging / f"{job.stem}_half.bin").write_bytes(b"half")
            raise UserError("Injected failure.")

    if "test-fault-half-written" not in targets():
        register(FaultInjectingTarget())
    with pytest.raises(UserError, match="Injected failure"):
        convert(str(sample_model_path()), LoadOptions(), Selection(), ["tflite-float", "test-fault-half-written"], str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digits_cnn_float.tflite", "manifest.json"]
    assert [a.target for a in read_manifest(tmp_path).artifacts] == ["tflite-float"]


def test_edgetpu_target_with_a_compiler_records_its_log(tmp_path, monkeypatch):
    """With a compiler present (here the fake compiler test double from test_edgetpu_compiler),
    the target keeps the int8 model, adds the compiled model and log, and records the parsed log."""
    from tests.core.test_edgetpu_compiler import make_fake

    fake = make_fake(tmp_path, "mobilenet_v2_all_mapped.log")
    monkeypatch.setenv("EDGEWIZARD_EDGETPU_COMPILER", str(fake))
    out = tmp_path / "out"
    manifest = convert(str(sample_model_path()), LoadOptions(), Selection(), ["edgetpu"], str(out), ConvertOptions(calibration=CALIB))
    a = manifest.artifacts[0]
    assert a.status == "compiled"
    assert [f.name for f in a.files][:2] == ["digits_cnn_int8.tflite", "digits_cnn_int8_edgetpu.tflite"]
    assert a.details["compiler_log"]["model_compiled"] is True and a.details["compiler_log"]["ops_on_cpu"] in (0, None)
    assert a.details["compiler_argv"][0] == str(fake)
    assert (out / "digits_cnn_int8_edgetpu.tflite").is_file()
    assert not any(p.name.startswith(".") for p in out.iterdir())
