"""`edgewizard verify` as a person runs it, and how it picks the original model and the data."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgewizard.core.calibrate import CalibrationSpec
from edgewizard.core.cli import build_parser
from edgewizard.core.cli.verify_cmd import resolve
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.convert.run import convert
from edgewizard.core.errors import UserError
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.samples import sample_calibration_path, sample_model_path, sample_test_path
from tests.core.test_verify import break_input_scale

EXE = str(Path(sys.executable).with_name("edgewizard"))


def ew(*args):
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli") / "out dir"
    calib = CalibrationSpec(sources=((None, str(sample_calibration_path())),))
    convert(str(sample_model_path()), LoadOptions(), Selection(), ["tflite-float", "tflite-int8"], str(folder),
            ConvertOptions(calibration=calib))
    return folder


def test_verify_a_folder_and_a_broken_file_as_json(out, tmp_path):
    broken = break_input_scale(out / "digits_cnn_int8.tflite", tmp_path / "broken_int8.tflite")
    r = ew("verify", out, broken, "--json")
    assert r.returncode == 0, r.stderr  # a flagged result is a result
    d = json.loads(r.stdout)
    assert d["data"]["description"] == "the sample's test split, 360 samples with labels"
    assert [a["file"] for a in d["artifacts"]] == ["digits_cnn_float.tflite", "digits_cnn_int8.tflite", "broken_int8.tflite"]
    assert [a["targets"] for a in d["artifacts"]] == [["tflite-float"], ["tflite-int8"], []]
    assert [a["status"] for a in d["artifacts"]] == ["ok", "ok", "flagged"] and d["flagged"] is True
    for a in d["artifacts"]:
        o = a["outputs"][0]
        assert {"max_abs_error", "mean_abs_error", "cosine", "top1_agreement", "accuracy_original", "accuracy_artifact"} <= set(o)
        assert o["accuracy_original"] == pytest.approx(0.9806, abs=1e-3)
    # Saved into the output folder, with only its own models; nothing written beside the loose file.
    saved = json.loads((out / "verify.json").read_text(encoding="utf-8"))
    assert saved["artifacts"] == d["artifacts"][:2] and saved["flagged"] is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken_int8.tflite"]


def test_fail_on_flag_exits_4_and_the_text_says_what_to_try(out, tmp_path):
    broken = break_input_scale(out / "digits_cnn_int8.tflite", tmp_path / "broken_int8.tflite")
    r = ew("verify", sample_model_path(), broken, "--data", sample_test_path(), "--fail-on-flag", "--min-agreement", "10")
    assert r.returncode == 4, r.stderr
    assert "broken_int8.tflite  [int8]  FLAGGED" in r.stdout
    assert "FLAG: 54% of the values fed to input 'image' fall outside the range" in r.stdout
    assert "picks the same top class" not in r.stdout  # 26% agreement is above the 10% asked for
    assert "What to try:" in r.stdout and "Some results are flagged" in r.stdout


def test_errors_are_one_sentence_exit_2(out, tmp_path):
    r = ew("verify", tmp_path / "missing.tflite")
    assert r.returncode == 2 and r.stderr.strip() == f"edgewizard: {tmp_path / 'missing.tflite'} does not exist."
    r = ew("verify", tmp_path)
    assert r.returncode == 2 and "is a folder without manifest.json" in r.stderr


def parse(*argv):
    return build_parser().parse_args(["verify", *map(str, argv)])


def test_model_artifacts_and_data_are_found_from_the_manifest(out):
    model, selection, artifacts, data, note = resolve(parse(out))
    assert Path(model) == sample_model_path().resolve() and note is None
    assert artifacts == [str(out / "digits_cnn_float.tflite"), str(out / "digits_cnn_int8.tflite")]
    assert selection == Selection(inputs=("image",), outputs=("probabilities",), shapes=(("image", (1, 32, 32, 1)),))
    assert data.kind == "path" and data.path == str(sample_test_path())

    model, _, artifacts, data, _ = resolve(parse(sample_model_path(), out / "digits_cnn_int8.tflite", "--data", "x.npz"))
    assert model == str(sample_model_path()) and artifacts == [str(out / "digits_cnn_int8.tflite")]
    assert data.path == "x.npz"


def test_other_models_use_their_calibration_data_or_random_data(tmp_path):
    model = tmp_path / "m.keras"
    shutil.copy(sample_model_path(), model)
    (tmp_path / "m_int8.tflite").write_bytes(b"")
    manifest = {
        "source": {"path": str(model)},
        "cut": {"inputs": [{"name": "image", "shape": [2, 32, 32, 1], "dtype": "float32"}],
                "outputs": [{"name": "probabilities", "shape": None, "dtype": "float32"}],
                "source_nodes": {"image": "image", "probabilities": "probabilities"}},
        "options": {"calibration": {"sources": [{"input": None, "source": "calib dir"}], "preset": "symmetric",
                                    "mean": None, "scale": None, "color": "BGR"}},
        "artifacts": [{"target": "tflite-int8", "files": [{"name": "m_int8.tflite"}]}],
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    got_model, selection, _, data, _ = resolve(parse(tmp_path))
    assert got_model == str(model) and selection.shapes == (("image", (2, 32, 32, 1)),)
    assert data.kind == "calibration" and data.calibration.sources == ((None, "calib dir"),)
    assert data.calibration.preset == "symmetric" and data.calibration.color == "BGR"

    manifest["options"]["calibration"] = None
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    _, _, _, data, _ = resolve(parse(tmp_path, "--random-samples", "5", "--shape", "1,32,32,1"))
    assert data.kind == "random" and data.random_samples == 5

    model.unlink()
    with pytest.raises(UserError, match="m.keras, is no longer there; give it with --model"):
        resolve(parse(tmp_path))


def test_without_a_manifest_the_sample_is_the_original(tmp_path):
    art = tmp_path / "loose.tflite"
    art.write_bytes(b"")
    model, _, _, data, note = resolve(parse(art))
    assert model == str(sample_model_path()) and "bundled sample" in note and data.path == str(sample_test_path())
