"""Verification of the sample converted to every target that runs here, each figure recomputed
independently in the test (Keras for the original, the runtimes driven directly, numpy for the sums)."""
from __future__ import annotations

import base64
import io
import json
import pickle

import numpy as np
import pytest
from PIL import Image

import edgewizard.core.convert.openvino_int8  # noqa: F401  (registers openvino-int8 until base.py loads it)
from edgewizard.core.calibrate import CalibrationSpec
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.convert.run import convert
from edgewizard.core.errors import UserError
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.samples import sample_calibration_path, sample_model_path, sample_test_path
from edgewizard.core.verify import Thresholds, VerifyData, VerifyReport, load_saved, save, verify
from tests.core import OPENVINO_EXACT

TARGETS = ["tflite-float", "tflite-fp16", "tflite-dynamic", "tflite-int8", "openvino-fp32", "openvino-fp16", "openvino-int8"]
FILES = {
    "tflite-float": "digits_cnn_float.tflite", "tflite-fp16": "digits_cnn_fp16.tflite",
    "tflite-dynamic": "digits_cnn_dynamic.tflite", "tflite-int8": "digits_cnn_int8.tflite",
    "openvino-fp32": "digits_cnn_fp32.xml", "openvino-fp16": "digits_cnn_fp16.xml", "openvino-int8": "digits_cnn_int8.xml",
}
PRECISION = {
    "tflite-float": "float32", "tflite-fp16": "float16", "tflite-dynamic": "dynamic-range int8", "tflite-int8": "int8",
    "openvino-fp32": "float32", "openvino-fp16": "float16", "openvino-int8": "int8",
}
CALIB = CalibrationSpec(sources=((None, str(sample_calibration_path())),))
TEST_SET = VerifyData.from_path(str(sample_test_path()), label="the sample's test split")


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("verify") / "out 出力"
    convert(str(sample_model_path()), LoadOptions(), Selection(), TARGETS, str(folder), ConvertOptions(calibration=CALIB))
    return folder


@pytest.fixture(scope="module")
def report(out):
    return verify(str(sample_model_path()), LoadOptions(), Selection(), [str(out / FILES[t]) for t in TARGETS], TEST_SET)


@pytest.fixture(scope="module")
def test_data():
    with np.load(sample_test_path()) as d:
        return d["x"], d["y"]


@pytest.fixture(scope="module")
def keras_reference(test_data):
    import keras

    return keras.models.load_model(sample_model_path(), compile=False).predict(test_data[0], verbose=0)


def cpu_precision_for(path):
    """What verify promises: FP32 and INT8 IR in f32; an FP16 IR in f16 where the CPU has FP16 arithmetic."""
    import openvino as ov

    if path.name.endswith("_fp16.xml") and "FP16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        return {"INFERENCE_PRECISION_HINT": "f16"}
    return OPENVINO_EXACT


def run_independently(path, x):
    """The artifact's outputs for `x`, computed here without EdgeWizard's runners."""
    if path.suffix == ".xml":
        import openvino as ov

        compiled = ov.Core().compile_model(str(path), "CPU", cpu_precision_for(path))
        return np.array([compiled(s[None])[0][0] for s in x])
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    outs = []
    for s in x:
        v = s[None]
        if i["dtype"] == np.uint8:
            scale, zero = i["quantization"]
            v = np.clip(np.round(v / scale + zero), 0, 255).astype(np.uint8)
        it.set_tensor(i["index"], v)
        it.invoke()
        r = it.get_tensor(o["index"])
        if o["dtype"] == np.uint8:
            scale, zero = o["quantization"]
            r = (r.astype(np.float32) - zero) * scale
        outs.append(r[0])
    return np.array(outs)


def by_file(report, name):
    return next(a for a in report.artifacts if a.file == name)


@pytest.mark.parametrize("target", TARGETS)
def test_figures_match_an_independent_computation(out, report, test_data, keras_reference, target):
    x, y = test_data
    got = run_independently(out / FILES[target], x)
    ref = keras_reference
    err = np.abs(got.astype(np.float64) - ref)
    cos = np.sum(got * ref, 1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1))
    a = by_file(report, FILES[target])
    o = a.outputs[0]
    assert a.precision == PRECISION[target] and a.targets == [target]
    if target.startswith("openvino"):  # the precision the CPU really computed in, read back from OpenVINO
        assert a.inference_precision == cpu_precision_for(out / FILES[target])["INFERENCE_PRECISION_HINT"]
        assert a.notes and f"in {a.inference_precision} on CPU" in a.notes[0]
    else:
        assert a.inference_precision == ""
    assert o.name == "probabilities" and o.shape == [10] and o.classifier
    # The original here is Keras, in EdgeWizard the frozen cut: they differ by float rounding (~1e-7).
    assert o.max_abs_error == pytest.approx(err.max(), abs=1e-5)
    assert o.mean_abs_error == pytest.approx(err.mean(), abs=1e-6)
    assert o.cosine == pytest.approx(cos.mean(), abs=1e-6)
    assert o.top1_agreement == pytest.approx(np.mean(got.argmax(1) == ref.argmax(1)), abs=1.5 / len(x))
    assert o.accuracy_original == pytest.approx(np.mean(ref.argmax(1) == y))
    assert o.accuracy_artifact == pytest.approx(np.mean(got.argmax(1) == y), abs=1.5 / len(x))
    assert o.accuracy_drop == pytest.approx(o.accuracy_original - o.accuracy_artifact)
    assert sum(o.histogram.counts) == err.size and len(o.histogram.edges) == len(o.histogram.counts) + 1
    # An exact match (an FP32 IR run in f32 can equal the frozen graph bit for bit) gets the range 0..1.
    assert o.histogram.edges[0] == 0 and o.histogram.edges[-1] == pytest.approx(o.max_abs_error or 1.0)


def test_the_sample_keeps_its_accuracy_everywhere(report):
    assert report.data.samples == 360 and report.data.labelled
    assert report.data.description == "the sample's test split, 360 samples with labels"
    assert not report.flagged, [f.message for a in report.artifacts for f in a.flags]
    for a in report.artifacts:
        o = a.outputs[0]
        assert a.status == "ok" and o.top1_agreement >= 0.98 and o.cosine >= 0.99
        assert o.accuracy_drop <= 0.01, a.file  # the goal: int8 loses at most 1 point
        if a.precision in ("float32", "float16"):
            assert o.max_abs_error < 5e-3 and o.top1_agreement == 1.0


def test_int8_inputs_are_fed_with_the_models_own_quantization(report):
    a = by_file(report, "digits_cnn_int8.tflite")
    (inp,) = a.inputs
    assert inp["dtype"] == "uint8" and inp["zero_point"] == 0 and inp["scale"] == pytest.approx(1 / 255, rel=1e-3)
    assert inp["range"] == pytest.approx([0.0, 1.0], abs=1e-3) and inp["clipped"] == 0.0
    assert by_file(report, "digits_cnn_int8.xml").inputs[0]["dtype"] == "float32"  # NNCF keeps float I/O


def test_worst_samples_put_disagreements_first_with_small_images(report):
    for a in report.artifacts:
        o = a.outputs[0]
        worst = o.worst
        assert len(worst) == 8
        differ = [w.original_top1 != w.artifact_top1 for w in worst]
        assert differ == sorted(differ, reverse=True) and sum(differ) == min(8, o.disagreements)
        same = [w.error for w, d in zip(worst, differ) if not d]
        assert same == sorted(same, reverse=True)
        for w in worst:
            assert w.label is not None and 0 <= w.original_top1 < 10
            assert w.image.startswith("data:image/png;base64,")
            png = Image.open(io.BytesIO(base64.b64decode(w.image.split(",", 1)[1])))
            assert png.size == (32, 32) and len(w.image) < 4000


def break_input_scale(src, dst, factor=8):
    """Write an int8 model whose input scale is `factor` times too small (as if calibrated on inputs
    scaled to [0, 1/factor]): real inputs saturate. Made by editing the flatbuffer's quantization."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(src.read_bytes(), 0)
    sub = model.subgraphs[0]
    q = sub.tensors[sub.inputs[0]].quantization
    q.scale = np.asarray(q.scale) / factor
    builder = flatbuffers.Builder(1 << 16)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    dst.write_bytes(bytes(builder.Output()))
    return dst


def test_a_broken_int8_input_scale_is_caught(out, tmp_path):
    broken = break_input_scale(out / "digits_cnn_int8.tflite", tmp_path / "broken_int8.tflite")
    r = verify(str(sample_model_path()), LoadOptions(), Selection(), [str(broken), str(out / FILES["tflite-int8"])], TEST_SET,
               Thresholds(max_accuracy_drop=0.01))
    bad, good = r.artifacts
    assert r.flagged and bad.status == "flagged" and good.status == "ok"
    kinds = {f.kind for f in bad.flags}
    assert kinds == {"input_clipped", "top1_agreement", "cosine", "accuracy_drop"}
    drop = next(f for f in bad.flags if f.kind == "accuracy_drop")
    assert drop.message.startswith("Accuracy falls from 98.1% to ") and "at most 1 allowed" in drop.message
    clipped = next(f for f in bad.flags if f.kind == "input_clipped")
    assert "outside the range its int8 quantization can hold" in clipped.message and "0.125" in clipped.message
    assert any("preprocessed exactly like the inputs" in m for m in clipped.remedies)
    assert any("Quantization-aware training" in m for m in clipped.remedies)
    assert bad.outputs[0].top1_agreement < 0.9 and bad.outputs[0].accuracy_drop > 0.2


def test_thresholds_are_the_users(out):
    strict = Thresholds(min_top1_agreement=0.999, min_cosine=0.9999999)
    r = verify(str(sample_model_path()), LoadOptions(), Selection(), [str(out / FILES["tflite-int8"])], TEST_SET, strict)
    flags = {f.kind: f for f in r.artifacts[0].flags}
    assert set(flags) == {"top1_agreement", "cosine"}
    assert flags["top1_agreement"].message == (
        "Output 'probabilities' picks the same top class as the original for only 99.7% of the samples "
        "(1 differ; the threshold is 100%).")
    assert flags["top1_agreement"].threshold == 0.999 and flags["cosine"].value < 0.9999999


def test_random_data_says_so_and_still_compares(out):
    r = verify(str(sample_model_path()), LoadOptions(), Selection(), [str(out / FILES["openvino-fp16"])], VerifyData(random_samples=16))
    assert r.data.kind == "random" and r.data.samples == 16 and not r.data.labelled
    assert "Random inputs" in r.data.note
    o = r.artifacts[0].outputs[0]
    assert o.accuracy_original is None and o.top1_agreement is not None


def test_a_labelled_image_folder(out, tmp_path, test_data):
    x, y = test_data
    root = tmp_path / "digits 图片"
    for i in range(40):
        folder = root / str(int(y[i]))
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((x[i, :, :, 0] * 255).round().astype(np.uint8)).save(folder / f"{i}.png")
    r = verify(str(sample_model_path()), LoadOptions(), Selection(), [str(out / FILES["tflite-float"])], VerifyData.from_path(str(root)))
    assert r.data.labelled and r.data.samples == 40 and r.data.class_names[:3] == ["0", "1", "2"]
    o = r.artifacts[0].outputs[0]
    assert o.accuracy_original >= 0.9 and o.top1_agreement == 1.0


def test_a_tflite_original_and_npz_errors(out, tmp_path, test_data):
    r = verify(str(out / FILES["tflite-float"]), LoadOptions(), Selection(), [str(out / FILES["tflite-int8"])], TEST_SET)
    assert r.source["format"] == "tflite" and r.artifacts[0].outputs[0].top1_agreement >= 0.98
    bad = tmp_path / "bad.npz"
    np.savez(bad, pixels=test_data[0][:4], other=test_data[0][:4])
    with pytest.raises(UserError, match="holds arrays pixels, other; name one after input 'image' or call it 'x'"):
        verify(str(sample_model_path()), LoadOptions(), Selection(), [str(out / FILES["tflite-float"])], VerifyData.from_path(str(bad)))
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x=np.zeros((3, 16, 16, 1), np.float32))
    with pytest.raises(UserError, match=r"shape \(3, 16, 16, 1\).*samples of shape \(32, 32, 1\)"):
        verify(str(sample_model_path()), LoadOptions(), Selection(), [str(out / FILES["tflite-float"])], VerifyData.from_path(str(wrong)))
    with pytest.raises(UserError, match="does not exist"):
        verify(str(sample_model_path()), LoadOptions(), Selection(), [str(tmp_path / "nope.tflite")])
    damaged = tmp_path / "damaged.npz"
    np.savez(damaged, x=test_data[0][:4])
    raw = bytearray(damaged.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte in the array's data: the zip's CRC check fails
    damaged.write_bytes(bytes(raw))
    with pytest.raises(UserError, match=r"damaged.npz: array 'x' is damaged\.$"):
        verify(str(sample_model_path()), LoadOptions(), Selection(), [str(out / FILES["tflite-float"])], VerifyData.from_path(str(damaged)))


def test_an_artifact_of_another_model_is_refused(tmp_path):
    from tests.models.keras_models import sequential_cnn

    other = sequential_cnn(tmp_path / "other.keras")
    convert(str(other), LoadOptions(), Selection(), ["tflite-float"], str(tmp_path / "o"))
    with pytest.raises(UserError, match="other_float.tflite does not take the original model's inputs"):
        verify(str(sample_model_path()), LoadOptions(), Selection(), [str(tmp_path / "o" / "other_float.tflite")], VerifyData(random_samples=2))


def test_a_compiled_edgetpu_model_is_skipped_with_the_reason(out, tmp_path):
    """A stand-in for a compiled model: the int8 model with its first op renamed to the Edge TPU's
    custom op (made here by editing the flatbuffer; no compiler is involved)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf((out / "digits_cnn_int8.tflite").read_bytes(), 0)
    code = model.operatorCodes[model.subgraphs[0].operators[0].opcodeIndex]
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = b"edgetpu-custom-op"
    builder = flatbuffers.Builder(1 << 16)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    compiled = tmp_path / "digits_cnn_int8_edgetpu.tflite"
    compiled.write_bytes(bytes(builder.Output()))
    r = verify(str(sample_model_path()), LoadOptions(), Selection(), [str(compiled)], VerifyData(random_samples=2))
    (a,) = r.artifacts
    assert a.status == "skipped" and not r.flagged and "runs only with the Edge TPU attached" in a.notes[0]


def test_report_round_trips_through_json_and_pickle(report):
    d = report.to_dict()
    text = json.dumps(d)
    assert VerifyReport.from_dict(json.loads(text)) == report
    assert pickle.loads(pickle.dumps(report)) == report
    o = d["artifacts"][0]["outputs"][0]
    assert {"max_abs_error", "mean_abs_error", "cosine", "top1_agreement", "accuracy_original", "accuracy_artifact"} <= set(o)


def test_save_merges_results_on_the_same_data_and_replaces_others(report, tmp_path):
    from dataclasses import replace

    first, second = report.artifacts[:2]
    save(replace(report, artifacts=[first]), tmp_path)
    save(replace(report, artifacts=[second]), tmp_path)
    assert [a.file for a in load_saved(tmp_path).artifacts] == [first.file, second.file]
    save(replace(report, artifacts=[first]), tmp_path)  # measured again: replaced, not doubled
    assert [a.file for a in load_saved(tmp_path).artifacts] == [second.file, first.file]
    other_data = replace(report, artifacts=[second], data=replace(report.data, description="other inputs"))
    save(other_data, tmp_path)
    assert [a.file for a in load_saved(tmp_path).artifacts] == [second.file]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["verify.json"]


def test_a_two_input_model_fed_by_input_name(tmp_path):
    from tests.models.keras_models import two_input

    model = two_input(tmp_path / "two.keras")
    convert(str(model), LoadOptions(), Selection(), ["tflite-float", "openvino-fp16"], str(tmp_path / "o"))
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((50, 8)).astype(np.float32), rng.standard_normal((50, 4)).astype(np.float32)
    np.savez(tmp_path / "data.npz", b=b, a=a, y=rng.integers(0, 2, 50))
    r = verify(str(model), LoadOptions(), Selection(), [str(tmp_path / "o" / "two_float.tflite"), str(tmp_path / "o" / "two_fp16.xml")],
               VerifyData.from_path(str(tmp_path / "data.npz")))
    import keras

    want = keras.models.load_model(model, compile=False).predict([a, b], verbose=0)
    for art in r.artifacts:
        o = art.outputs[0]
        assert o.name == "out" and o.classifier and o.accuracy_original == pytest.approx(np.mean(want.argmax(1) == np.load(tmp_path / "data.npz")["y"]))
        assert o.max_abs_error < 2e-2 and o.top1_agreement >= 0.96
    assert r.data.input_ranges["a"] == pytest.approx([float(a.min()), float(a.max())])


def test_a_cut_with_batch_4_is_fed_four_samples_at_a_time(tmp_path, test_data, keras_reference):
    sel = Selection(shapes=(("image", (4, 32, 32, 1)),))
    convert(str(sample_model_path()), LoadOptions(), sel, ["openvino-fp32"], str(tmp_path))
    r = verify(str(sample_model_path()), LoadOptions(), sel, [str(tmp_path / "digits_cnn_fp32.xml")], TEST_SET)
    o = r.artifacts[0].outputs[0]
    assert r.cut["inputs"][0]["shape"] == [4, 32, 32, 1] and r.data.samples == 360
    assert o.top1_agreement == 1.0 and o.accuracy_original == pytest.approx(np.mean(keras_reference.argmax(1) == test_data[1]))


@pytest.fixture
def cpu_default_bf16():
    """This process's OpenVINO CPU made to default to bf16, as it does by itself on CPUs with AMX or
    AVX512-BF16: the situation in which an unpinned FP32 check is 1e-2 off. Restored afterwards."""
    from edgewizard.core.loaders.openvino_loader import core

    ov_core = core()
    before = ov_core.get_property("CPU", "INFERENCE_PRECISION_HINT")
    ov_core.set_property("CPU", {"INFERENCE_PRECISION_HINT": "bf16"})
    yield ov_core
    ov_core.set_property("CPU", {"INFERENCE_PRECISION_HINT": before})


def test_an_fp32_ir_is_checked_in_f32_whatever_the_cpus_default(out, test_data, cpu_default_bf16):
    path = out / FILES["openvino-fp32"]
    if "BF16" in cpu_default_bf16.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        # The failure this guards against is real on this CPU: left to its default, the IR runs in bf16.
        unpinned = cpu_default_bf16.compile_model(str(path), "CPU")
        assert unpinned.get_property("INFERENCE_PRECISION_HINT").get_type_name() == "bf16"
        x = test_data[0][:64]
        exact = run_independently(path, x)
        loose = np.array([unpinned(s[None])[0][0] for s in x])
        assert np.abs(loose - exact).max() > 1e-5  # beyond what an exact check allows
    report = verify(str(sample_model_path()), LoadOptions(), Selection(), [str(path)], TEST_SET)
    a = report.artifacts[0]
    assert a.inference_precision == "f32" and a.status == "ok"
    assert a.outputs[0].max_abs_error < 1e-5
    assert a.notes == ["OpenVINO ran this model in f32 on CPU for an exact check (left to itself this CPU computes in bf16)."]


def test_a_shape_mismatch_is_said_in_plain_numbers():
    from edgewizard.core.verify.runners import _check_shape

    with pytest.raises(UserError, match=r"its input 'x' has shape \[1, 16\], the original's \[1, 8\];"):
        _check_shape("m.tflite", "x", list(np.array([1, 16], np.int32)), list(np.array([1, 8], np.int64)))
