"""Keras .keras / .h5 loading with real TensorFlow: graphs, safety checks and error messages."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgewizard.core.errors import UserError
from edgewizard.core.graph import resolve_node
from edgewizard.core.loaders import load as load_any
from edgewizard.core.loaders import keras_loader
from edgewizard.core.plan import LoadOptions
from tests.models import keras_models
from tests.models.openpose import make_openpose


def _no_progress(fraction, message=""):
    pass


def kload(path: Path, **options):
    fmt = "h5" if path.suffix == ".h5" else "keras"
    return keras_loader.load(path, fmt, LoadOptions(**options), _no_progress)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("keras_models")
    paths = {
        "openpose_h5": make_openpose(d / "openpose.h5", "h5"),
        "openpose_keras": make_openpose(d / "openpose.keras", "keras"),
        "seq": keras_models.sequential_cnn(d / "seq.keras"),
        "two": keras_models.two_input(d / "two.h5"),
        "lambda_keras": keras_models.with_lambda(d / "lam.keras"),
        "lambda_h5": keras_models.with_lambda(d / "lam.h5"),
        "weights": keras_models.weights_only(d / "only.weights.h5"),
        "custom": keras_models.with_custom_layer(d / "custom.keras", d / "custom_layers.py"),
    }
    paths["custom_objects"] = d / "custom_layers.py"
    return paths


def test_openpose_h5_with_custom_loss_loads_without_compiling(models):
    import h5py
    import keras

    path = models["openpose_h5"]
    with h5py.File(path, "r") as f:  # the file really names the custom loss ...
        assert "_eucl_loss" in f.attrs["training_config"]
    with pytest.raises(Exception):  # ... so a compiling load fails, as in the tutorials
        keras.saving.load_model(str(path), compile=True)

    loaded = kload(path)
    info, g = loaded.info, loaded.info.graph
    assert info.format == "h5"
    assert [t.name for t in g.inputs] == ["input_1", "input_2", "input_3"]
    assert g.inputs[0].shape == (None, None, None, 3) and g.inputs[0].dtype == "float32"
    assert [t.name for t in g.outputs] == ["weight_stage1_L1", "weight_stage1_L2", "weight_stage2_L1", "weight_stage2_L2"]
    conv = g.node("Mconv7_stage2_L1")
    assert conv.op == "Conv2D" and conv.inputs == ("Mconv1_stage2_L1_relu",)
    assert conv.outputs[0].name == "Mconv7_stage2_L1" and conv.outputs[0].shape == (None, None, None, 6)
    assert g.node("weight_stage2_L2").inputs == ("Mconv7_stage2_L2", "input_3")
    assert g.node("concat_stage2").inputs == ("Mconv5_stage1_L1", "Mconv5_stage1_L2", "conv4_4_CPM_relu")
    assert g.op_counts()["Conv2D"] == 11 and g.op_counts()["InputLayer"] == 3
    assert info.param_count == loaded.handle.count_params() > 0
    assert info.size_bytes == path.stat().st_size
    assert any("without compiling" in n for n in info.notes)
    assert isinstance(loaded.handle, keras.Model)


def test_openpose_keras_format_and_dispatch_through_detect_format(models):
    loaded = load_any(models["openpose_keras"])
    assert loaded.info.format == "keras"
    assert len(loaded.info.graph.nodes) == 28
    assert loaded.info.graph.node("input_2").outputs[0].shape == (None, None, None, 6)


def test_sequential_has_input_layer_and_a_chain(models):
    g = kload(models["seq"]).info.graph
    assert [(n.name, n.op) for n in g.nodes] == [
        ("image", "InputLayer"), ("conv", "Conv2D"), ("pool", "MaxPooling2D"), ("flat", "Flatten"), ("logits", "Dense")]
    for prev, node in zip(g.nodes, g.nodes[1:]):
        assert node.inputs == (prev.outputs[0].name,)
    assert g.inputs[0].shape == (None, 16, 16, 1)
    assert g.node("flat").outputs[0].shape == (None, 7 * 7 * 4)
    assert [t.name for t in g.outputs] == ["logits"] and g.outputs[0].shape == (None, 3)


def test_functional_two_inputs_h5(models):
    g = kload(models["two"]).info.graph
    assert [t.name for t in g.inputs] == ["a", "b"]
    assert g.node("join").inputs == ("dense_a", "dense_b")
    assert g.outputs[0].name == "out"


@pytest.mark.parametrize("key", ["lambda_keras", "lambda_h5"])
def test_lambda_refused_unless_allowed(models, key):
    path = models[key]
    with pytest.raises(UserError) as err:
        kload(path)
    msg = str(err.value)
    assert str(path) in msg and "'double'" in msg and "allow unsafe Lambda layers" in msg and "--" not in msg
    assert err.value.cli_hint == "--allow-unsafe"  # the command line's option, added by the command line only

    loaded = kload(path, allow_unsafe=True)
    assert loaded.info.graph.node("double").op == "Lambda"
    assert any("unsafe" in n for n in loaded.info.notes)
    import numpy as np

    model = loaded.handle
    x = np.ones((1, 4), "float32")
    d1 = model.get_layer("d1")(x)
    np.testing.assert_allclose(model(x), model.get_layer("d2")(d1 * 2.0), atol=1e-6)


def test_lambda_found_in_nested_config():
    config = {"class_name": "Functional", "config": {"layers": [
        {"class_name": "Dense", "config": {"name": "d"}},
        {"class_name": "Functional", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "inner"}}]}},
    ]}}
    assert keras_loader.lambda_layers(config) == ["inner"]
    assert keras_loader.lambda_layers({"class_name": "Sequential", "config": {"layers": []}}) == []


def test_weights_only_h5_is_refused(models):
    path = models["weights"]
    with pytest.raises(UserError, match="only weights") as err:
        kload(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("key", ["openpose_keras", "openpose_h5"])
def test_truncated_file_is_a_user_error(models, key, tmp_path):
    src = models[key]
    cut = tmp_path / ("half" + src.suffix)
    data = src.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="not a readable Keras model") as err:
        kload(cut)
    assert str(cut) in str(err.value)


def test_keras_zip_without_config_or_bad_json(tmp_path):
    import zipfile

    empty = tmp_path / "empty.keras"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("metadata.json", "{}")
    with pytest.raises(UserError, match="no config.json"):
        kload(empty)
    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("config.json", "{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        kload(bad)


def test_custom_layer_needs_its_objects_file(models):
    with pytest.raises(UserError) as err:
        kload(models["custom"])
    msg = str(err.value)
    assert "'ScaleLayer'" in msg and "custom objects file" in msg and str(models["custom"]) in msg
    assert "--" not in msg and "--custom-objects" in err.value.cli_hint  # the option only on the command line

    loaded = kload(models["custom"], custom_objects=str(models["custom_objects"]))
    assert loaded.info.graph.node("scale").op == "ScaleLayer"
    assert float(loaded.handle.get_layer("scale").scale.numpy()) == pytest.approx(3.0)


def test_custom_objects_dict_and_broken_file(models, tmp_path):
    explicit = tmp_path / "explicit.py"
    explicit.write_text(
        keras_models.CUSTOM_OBJECTS_SOURCE + "\ncustom_objects = {'ScaleLayer': ScaleLayer}\n", encoding="utf-8")
    assert kload(models["custom"], custom_objects=str(explicit)).info.graph.node("scale").op == "ScaleLayer"

    unrelated = tmp_path / "unrelated.py"
    unrelated.write_text("def helper(x):\n    return x\n", encoding="utf-8")
    with pytest.raises(UserError, match="ScaleLayer.*does not define it"):
        kload(models["custom"], custom_objects=str(unrelated))

    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    with pytest.raises(UserError, match="failed to run: RuntimeError: boom"):
        kload(models["custom"], custom_objects=str(broken))
    with pytest.raises(UserError, match="does not exist"):
        kload(models["custom"], custom_objects=str(tmp_path / "missing.py"))


def test_path_with_spaces_and_non_ascii(tmp_path):
    folder = tmp_path / "模型 dir"
    folder.mkdir()
    path = make_openpose(folder / "my model.h5", "h5")
    loaded = load_any(path)
    assert loaded.info.path == str(path)
    assert len(loaded.info.graph.inputs) == 3


def test_name_resolution(models):
    g = kload(models["openpose_h5"]).info.graph
    assert resolve_node(g, "Mconv7_stage2_L1").name == "Mconv7_stage2_L1"
    assert resolve_node(g, "model/Mconv7_stage2_L1/BiasAdd").name == "Mconv7_stage2_L1"
    assert resolve_node(g, "Mconv7_stage2_L2:0").name == "Mconv7_stage2_L2"
    with pytest.raises(UserError) as err:
        resolve_node(g, "Mconv7_stage2_L3", "output")
    assert "'Mconv7_stage2_L3'" in str(err.value) and "Did you mean" in str(err.value)
    assert "'Mconv7_stage2_L1'" in str(err.value)


def test_config_read_does_not_need_keras(models):
    config = keras_loader.read_config(models["openpose_h5"], "h5")
    assert json.dumps(config).count('"Conv2D"') == 11
    assert keras_loader.read_config(models["seq"], "keras")["class_name"] == "Sequential"
