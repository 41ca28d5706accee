"""Loading TensorFlow graph formats: frozen .pb/.pbtxt, .meta checkpoints and SavedModels, and their bad copies."""
from __future__ import annotations

import shutil

import pytest

from edgewizard.core.errors import UserError
from edgewizard.core.loaders import load
from edgewizard.core.loaders import tf_graph
from edgewizard.core.plan import LoadOptions
from tests.models import tf_graphs

# conv1 3x3x3x8 + 8, conv2 3x3x8x8 + 8, logits 8x5 + 5
CLASSIFIER_PARAMS = 216 + 8 + 576 + 8 + 40 + 5
# SavedModel: conv 3x3x3x8 + 8, dense 8x5
SAVEDMODEL_PARAMS = 216 + 8 + 40


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tf")
    return {
        "pb": tf_graphs.make_frozen_pb(root / "classifier.pb"),
        "meta": tf_graphs.make_meta_checkpoint(root / "meta"),
        "sm": tf_graphs.make_savedmodel(root / "savedmodel"),
        "sm_nodefault": tf_graphs.make_savedmodel(root / "savedmodel_nodefault", default=False),
        "root": root,
    }


def _no_progress(fraction, message=""):
    pass


def _assert_classifier(info):
    g = info.graph
    assert [(t.name, t.shape, t.dtype) for t in g.inputs] == [("input", (None, 32, 32, 3), "float32")]
    assert [(t.name, t.shape, t.dtype) for t in g.outputs] == [("output", (None, 5), "float32")]
    counts = g.op_counts()
    assert (counts["Conv2D"], counts["BiasAdd"], counts["MatMul"], counts["Mean"], counts["Softmax"]) == (2, 3, 1, 1, 1)
    conv = g.node("conv2/Conv2D")
    assert conv.op == "Conv2D"
    assert conv.inputs == ("conv1/Relu:0", "conv2/weights/read:0")
    assert conv.outputs[0].name == "conv2/Conv2D:0"
    assert conv.outputs[0].shape == (None, 16, 16, 8)
    assert conv.attrs["strides"] == [1, 2, 2, 1]
    assert info.param_count == CLASSIFIER_PARAMS


def test_frozen_pb(models):
    info = load(models["pb"]).info
    assert info.format == "frozen_pb"
    assert info.size_bytes == models["pb"].stat().st_size
    _assert_classifier(info)
    assert info.graph.op_counts()["Placeholder"] == 1


def test_frozen_pbtxt(models, tmp_path):
    import tensorflow as tf
    from google.protobuf import text_format

    gd = tf.compat.v1.GraphDef.FromString(models["pb"].read_bytes())
    path = tmp_path / "classifier.pbtxt"
    path.write_text(text_format.MessageToString(gd), encoding="utf-8")
    _assert_classifier(load(path).info)


def test_meta_checkpoint(models):
    info = load(models["meta"]).info
    assert info.format == "meta"
    _assert_classifier(info)
    assert info.graph.op_counts()["VariableV2"] == 6
    assert not [n.name for n in info.graph.nodes if n.name.startswith("save/")]
    assert info.size_bytes > models["meta"].stat().st_size  # the checkpoint counts too


def test_training_checkpoint(tmp_path):
    info = load(tf_graphs.make_training_checkpoint(tmp_path)).info
    g = info.graph
    assert [(t.name, t.shape) for t in g.inputs] == [("x", (None, 4))]
    assert [t.name for t in g.outputs] == ["loss"]  # not the savers', gradients' or optimizer's ends
    assert info.param_count == 12  # dense/w only: no Adam slots, no global step
    assert g.node("dense/w").op == "VarHandleOp" and g.node("dense/w").outputs[0].dtype == "resource"
    assert not [n.name for n in g.nodes if n.name.startswith(("save/", "save_1/"))]


def test_savedmodel(models):
    info = load(models["sm"]).info
    assert info.format == "savedmodel"
    assert info.signatures == ("serving_default", "features")
    g = info.graph
    assert [(t.name, t.shape, t.dtype) for t in g.inputs] == [("image", (None, 32, 32, 3), "float32")]
    assert [(t.shape, t.dtype) for t in g.outputs] == [((None, 5), "float32")]
    out = g.node(g.outputs[0].name)
    assert out.attrs["signature_output"] == "probs"
    assert g.node("image").attrs["signature_input"] == "image"
    counts = g.op_counts()
    assert (counts["Conv2D"], counts["MatMul"], counts["Softmax"]) == (1, 1, 1)
    assert info.param_count == SAVEDMODEL_PARAMS


def test_savedmodel_signature_choice(models):
    info = load(models["sm"], LoadOptions(signature="features")).info
    assert info.signatures == ("features", "serving_default")
    assert [t.shape for t in info.graph.outputs] == [(None, 8)]
    assert "Softmax" not in info.graph.op_counts()

    with pytest.raises(UserError, match="no signature 'nope'.*'serving_default'"):
        load(models["sm"], LoadOptions(signature="nope"))
    with pytest.raises(UserError) as err:
        load(models["sm_nodefault"])
    assert "'classify'" in err.value.message and "'features'" in err.value.message
    assert "choose one of them" in err.value.message and err.value.cli_hint == "--signature NAME"
    info = load(models["sm_nodefault"], LoadOptions(signature="classify")).info
    assert info.signatures == ("classify", "features")
    assert [t.shape for t in info.graph.outputs] == [(None, 5)]


def test_unicode_and_spaces_in_paths(models):
    folder = models["root"] / "мои модели 日本語 dir"
    folder.mkdir()
    pb = shutil.copy(models["pb"], folder / "my classifier.pb")
    _assert_classifier(load(pb).info)
    sm = shutil.copytree(models["sm"], folder / "saved model é")
    assert load(sm).info.param_count == SAVEDMODEL_PARAMS
    meta = shutil.copytree(models["meta"].parent, folder / "check point")
    _assert_classifier(load(meta / "model.ckpt.meta").info)


@pytest.mark.parametrize("content", [b"", b"\n\n", b"this is not a graph\x00\xff" * 50, b"\x08\x96\x01" * 7])
def test_not_a_graph(tmp_path, content):
    path = tmp_path / "model.pb"
    path.write_bytes(content)
    with pytest.raises(UserError) as err:
        load(path)
    assert str(path) in err.value.message
    with pytest.raises(UserError) as err:  # the loader itself, past detect_format
        tf_graph.load(path, "frozen_pb", LoadOptions(), _no_progress)
    assert str(path) in err.value.message


def test_truncated_pb(models, tmp_path):
    path = tmp_path / "cut short.pb"
    data = models["pb"].read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError) as err:
        load(path)
    assert str(path) in err.value.message


def test_savedmodel_graph_file_given_directly(models):
    with pytest.raises(UserError) as err:
        load(models["sm"] / "saved_model.pb")
    assert "open its folder" in err.value.message and str(models["sm"]) in err.value.message


def test_meta_renamed_to_pb(models, tmp_path):
    path = tmp_path / "model.pb"
    shutil.copy(models["meta"], path)
    with pytest.raises(UserError, match=r"\.meta"):
        load(path)


def test_savedmodel_without_variables(models, tmp_path):
    folder = shutil.copytree(models["sm"], tmp_path / "no vars")
    shutil.rmtree(folder / "variables")
    with pytest.raises(UserError) as err:
        load(folder)
    assert str(folder) in err.value.message and "variables" in err.value.message


def test_savedmodel_garbage_graph(models, tmp_path):
    folder = shutil.copytree(models["sm"], tmp_path / "garbage")
    (folder / "saved_model.pb").write_bytes(b"\xff\xfe not a saved model" * 20)
    with pytest.raises(UserError) as err:
        load(folder)
    assert str(folder) in err.value.message


@pytest.mark.parametrize("remove", ["index", "data"])
def test_meta_without_checkpoint(models, tmp_path, remove):
    folder = shutil.copytree(models["meta"].parent, tmp_path / remove)
    for f in folder.glob(f"model.ckpt.{remove}*"):
        f.unlink()
    with pytest.raises(UserError) as err:
        load(folder / "model.ckpt.meta")
    assert f"model.ckpt.{remove}" in err.value.message and "model.ckpt.meta" in err.value.message


def test_meta_garbage(tmp_path):
    path = tmp_path / "model.ckpt.meta"
    path.write_bytes(b"\xff\xfe not a meta graph" * 20)
    with pytest.raises(UserError) as err:
        load(path)
    assert str(path) in err.value.message
