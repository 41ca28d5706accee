"""Which model `edgewizard verify` compares with (issue 14, item 4): MODEL in any format EdgeWizard converts
from, else the source an output folder's manifest.json records, and the bundled sample only when nothing
names one, each said in the text and in --json. Once, `verify ORIGINAL.onnx OUTDIR` took the ONNX file for
an artifact and compared everything with the sample."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgewizard.core.cli import build_parser
from edgewizard.core.cli.verify_cmd import choose_original, resolve_all
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.convert.run import convert
from edgewizard.core.errors import UserError
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.samples import sample_model_path

EXE = str(Path(sys.executable).with_name("edgewizard"))


def ew(*args):
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, timeout=600)


def parse(*argv):
    return build_parser().parse_args(["verify", *map(str, argv)])


def tiny_onnx(path: Path, seed: int = 3) -> Path:
    """Conv -> Relu -> GlobalAveragePool -> Flatten -> MatMul -> Softmax, static input x [1, 3, 8, 8]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    weights = [numpy_helper.from_array((rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32), "w"),
               numpy_helper.from_array(np.zeros(4, np.float32), "b"),
               numpy_helper.from_array(rng.standard_normal((4, 6)).astype(np.float32), "fc_w")]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("GlobalAveragePool", ["r"], ["g"], name="gap"),
             helper.make_node("Flatten", ["g"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "fc_w"], ["m"], name="fc"),
             helper.make_node("Softmax", ["m"], ["y"], name="softmax")]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6])], initializer=weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def onnx_out(tmp_path_factory):
    """tiny.onnx and the output folder of its conversion to OpenVINO IR (FP32)."""
    root = tmp_path_factory.mktemp("onnx")
    model = tiny_onnx(root / "models" / "tiny.onnx")
    out = root / "out dir"
    convert(str(model), LoadOptions(), Selection(), ["openvino-fp32"], str(out), ConvertOptions())
    assert (out / "tiny_fp32.xml").is_file()
    return model, out


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "out"
    convert(str(sample_model_path()), LoadOptions(), Selection(), ["tflite-float"], str(out), ConvertOptions())
    return out


# --------------------------------------------------------------------------- the CLI, end to end


def test_model_onnx_then_its_output_folder_compares_with_the_onnx(onnx_out):
    model, out = onnx_out
    r = ew("verify", model, out, "--json", "--no-save")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["original"] == {"path": str(model.resolve()), "chosen_by": "MODEL", "notes": []}
    assert d["source"] == {"path": str(model.resolve()), "format": "onnx"}
    assert [t["shape"] for t in d["cut"]["inputs"]] == [[1, 3, 8, 8]]  # not the sample's [1, 32, 32, 1]
    [artifact] = d["artifacts"]
    assert artifact["file"] == "tiny_fp32.xml" and artifact["status"] == "ok"
    assert artifact["outputs"][0]["cosine"] > 0.9999
    assert "bundled sample" not in r.stderr


def test_an_output_folder_alone_compares_with_the_source_its_manifest_records(onnx_out):
    model, out = onnx_out
    r = ew("verify", out, "--json", "--no-save")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["original"] == {"path": str(model.resolve()), "chosen_by": "manifest", "notes": []}
    assert d["artifacts"][0]["status"] == "ok"
    r = ew("verify", out, "--no-save")
    assert r.returncode == 0, r.stderr
    assert f"Original: {model.resolve()}  (the source manifest.json records)" in r.stdout


def test_the_sample_only_when_nothing_names_an_original_and_it_says_so(sample_out, tmp_path):
    loose = shutil.copy(sample_out / "digits_cnn_float.tflite", tmp_path / "loose.tflite")
    r = ew("verify", loose, "--json", "--no-save")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["original"]["chosen_by"] == "sample" and d["original"]["path"] == str(sample_model_path().resolve())
    assert "comparing with the bundled sample model" in d["original"]["notes"][0]
    assert "comparing with the bundled sample model" in r.stderr
    r = ew("verify", loose, "--no-save")
    assert "(the bundled sample: nothing else names an original)" in r.stdout


def test_a_tflite_and_an_openvino_xml_work_as_model(onnx_out, tmp_path):
    """The formats that can be either: here outside any output folder, so first means MODEL."""
    _, out = onnx_out
    for suffix in (".xml", ".bin"):
        shutil.copy(out / f"tiny_fp32{suffix}", tmp_path / f"original{suffix}")
    r = ew("verify", tmp_path / "original.xml", out / "tiny_fp32.xml", "--json", "--no-save")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["original"]["chosen_by"] == "MODEL" and d["source"]["format"] == "openvino_ir"
    assert "records" in d["original"]["notes"][0] and "tiny.onnx" in d["original"]["notes"][0]
    assert d["artifacts"][0]["outputs"][0]["max_abs_error"] == 0.0


# --------------------------------------------------------------------------- the rules, without running


@pytest.fixture(scope="module")
def every_format(tmp_path_factory, onnx_out):
    """One model file of each format EdgeWizard converts from."""
    from tests.models import keras_models, other_formats, tf_graphs

    root = tmp_path_factory.mktemp("formats")
    return {
        "keras": Path(shutil.copy(sample_model_path(), root / "m.keras")),
        "h5": keras_models.sequential_cnn(root / "m.h5"),
        "savedmodel": tf_graphs.make_savedmodel(root / "saved model"),
        "frozen_pb": tf_graphs.make_frozen_pb(root / "m.pb"),
        "meta": tf_graphs.make_meta_checkpoint(root / "ckpt"),
        "tflite": other_formats.tflite_float(root, "m.tflite"),
        "openvino_ir": other_formats.openvino_ir(root, "m.xml"),
        "onnx": onnx_out[0],
    }


@pytest.mark.parametrize("fmt", ["keras", "h5", "savedmodel", "frozen_pb", "meta", "tflite", "openvino_ir", "onnx"])
def test_every_format_is_taken_as_model_when_first(every_format, onnx_out, fmt):
    from edgewizard.core.loaders import detect_format

    model, out = every_format[fmt], onnx_out[1]
    assert detect_format(model) == fmt
    original, artifacts = choose_original(parse(model, out))
    assert (original.path, original.chosen_by) == (str(model), "MODEL")
    assert artifacts == [str(out / "tiny_fp32.xml")]
    if fmt == "onnx":  # the very source: the manifest's cut is used, nothing to note
        assert original.notes == () and original.manifest is not None
    else:
        assert len(original.notes) == 1 and "records" in original.notes[0] and original.manifest is None


def test_model_and_manifest_disagree_model_wins_a_copy_counts_as_the_source(onnx_out, tmp_path):
    model, out = onnx_out
    other = tiny_onnx(tmp_path / "other.onnx", seed=9)
    original, selection, _, _ = resolve_all(parse(other, out))
    assert original.path == str(other) and original.manifest is None
    [note] = original.notes
    assert note == (f"The manifest.json in {out} records {model.resolve()} as the model it was converted from; comparing "
                    f"with {other} as asked, without the cut and calibration data recorded there.")
    assert selection == Selection()  # the whole model, as for convert without options

    copy = Path(shutil.copy(model, tmp_path / "copy of tiny.onnx"))
    original, selection, _, _ = resolve_all(parse(copy, out))
    assert original.notes == () and original.manifest is not None
    assert selection == Selection(inputs=("x",), outputs=("y",), shapes=(("x", (1, 3, 8, 8)),))

    original, _, artifacts, _ = resolve_all(parse("--model", other, out))
    assert original.chosen_by == "--model" and len(original.notes) == 1 and artifacts == [str(out / "tiny_fp32.xml")]


def test_a_tflite_first_is_an_artifact_when_its_manifest_lists_it(sample_out, tmp_path):
    listed = sample_out / "digits_cnn_float.tflite"
    loose = Path(shutil.copy(listed, tmp_path / "float.tflite"))
    original, artifacts = choose_original(parse(listed, loose))
    assert original.chosen_by == "manifest" and artifacts == [str(listed), str(loose)]
    assert Path(original.path) == sample_model_path().resolve()
    original, artifacts = choose_original(parse(loose, listed))
    assert (original.path, original.chosen_by) == (str(loose), "MODEL") and artifacts == [str(listed)]


def test_contradictions_are_one_sentence(onnx_out, sample_out):
    model, out = onnx_out
    with pytest.raises(UserError) as e:
        choose_original(parse(out, sample_out))
    assert e.value.message == (
        f"These converted models were made from different models ({', '.join(sorted([str(model.resolve()), str(sample_model_path().resolve())]))}); "
        "verify them one output folder at a time, or name the original with --model.")
    original, artifacts = choose_original(parse("--model", model, out, sample_out))
    assert original.chosen_by == "--model" and len(original.notes) == 1 and len(artifacts) == 2

    with pytest.raises(UserError, match=r"tiny.onnx is a model to convert from, not a converted one; name the converted"):
        choose_original(parse(model))
    with pytest.raises(UserError, match=r"tiny.onnx is a model to convert from, not a converted one; give it first"):
        choose_original(parse(out, model))
    with pytest.raises(UserError, match=r"verify compares one original \(.*tiny.onnx\) with converted models"):
        choose_original(parse(model, model))


def test_help_states_the_rules():
    r = ew("verify", "--help")
    text = " ".join(r.stdout.split())
    assert "else, only when nothing names one, the bundled sample (said so)" in text
    assert "A .tflite or .xml in the first place is MODEL unless the manifest.json beside it lists it" in text
    assert "When MODEL and the manifest name different files, MODEL wins" in text
