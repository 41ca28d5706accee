"""Cutting TensorFlow graphs into a frozen GraphDef: OpenPose-style internal outputs, shapes, names, formats."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgewizard.core.cut_graphdef import cut_graphdef
from edgewizard.core.errors import UserError
from edgewizard.core.graph import TensorInfo
from edgewizard.core.loaders import load
from edgewizard.core.plan import LoadOptions, Selection
from tests.models import tf_graphs
from tests.models.tf_graphs import OPENPOSE_CUT_OUTPUTS, run_frozen

POSE_SELECTION = Selection(inputs=("image",), outputs=OPENPOSE_CUT_OUTPUTS, shapes=(("image", (1, 64, 64, 3)),))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tf")
    odd = root / "модели 日本語 with spaces"  # checkpoints and outputs must survive such paths
    return {
        "pose": tf_graphs.make_openpose_pb(root / "openpose.pb"),
        "pb": tf_graphs.make_frozen_pb(root / "classifier.pb"),
        "meta": tf_graphs.make_meta_checkpoint(odd / "check point"),
        "sm": tf_graphs.make_savedmodel(root / "savedmodel"),
        "odd": odd,
    }


def _graph_def(path):
    import tensorflow as tf

    return tf.compat.v1.GraphDef.FromString(Path(path).read_bytes())


def _image(shape=(1, 64, 64, 3), seed=3):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_openpose_cut_at_internal_outputs(models, tmp_path):
    cut = cut_graphdef(load(models["pose"]), POSE_SELECTION, tmp_path)
    assert cut.kind == "graphdef" and cut.path == str(tmp_path / "cut.pb")
    assert cut.inputs == (TensorInfo("image", (1, 64, 64, 3), "float32"),)
    assert cut.outputs == (TensorInfo("Mconv7_stage2_L1/BiasAdd", (1, 32, 32, tf_graphs.PAF), "float32"),
                           TensorInfo("Mconv7_stage2_L2/BiasAdd", (1, 32, 32, tf_graphs.HEAT), "float32"))
    assert sorted(cut.removed_inputs) == ["heat_mask", "paf_mask"]
    assert cut.source_nodes["image"] == "image"
    assert cut.op_counts["Placeholder"] == 1 and "Sum" not in cut.op_counts and "Mul" not in cut.op_counts

    gd = _graph_def(cut.path)
    placeholders = [n for n in gd.node if n.op == "Placeholder"]
    assert [n.name for n in placeholders] == ["image"]
    assert [d.size for d in placeholders[0].attr["shape"].shape.dim] == [1, 64, 64, 3]
    assert not {"loss", "paf_mask", "heat_mask"} & {n.name for n in gd.node}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.pb"]  # no temporary file left behind

    x = _image()
    fetches = [f"{name}:0" for name in OPENPOSE_CUT_OUTPUTS]
    want = run_frozen(models["pose"], {"image:0": x}, fetches)
    got = run_frozen(cut.path, {"image:0": x}, fetches)
    for w, g in zip(want, got):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_default_inputs_drop_the_unneeded_ones(models, tmp_path):
    sel = Selection(outputs=OPENPOSE_CUT_OUTPUTS, shapes=POSE_SELECTION.shapes)
    cut = cut_graphdef(load(models["pose"]), sel, tmp_path)
    assert [t.name for t in cut.inputs] == ["image"]
    assert sorted(cut.removed_inputs) == ["heat_mask", "paf_mask"]


def test_scope_and_tensor_names_resolve(models, tmp_path):
    sel = Selection(inputs=("image:0",), outputs=("Mconv7_stage2_L1", "Mconv7_stage2_L2/BiasAdd:0"),
                    shapes=(("image:0", (1, 32, 48, 3)),))
    cut = cut_graphdef(load(models["pose"]), sel, tmp_path)
    assert [t.name for t in cut.outputs] == list(OPENPOSE_CUT_OUTPUTS)
    assert cut.outputs[0].shape == (1, 16, 24, tf_graphs.PAF)
    assert cut.source_nodes["Mconv7_stage2_L1/BiasAdd"] == "Mconv7_stage2_L1"
    assert cut.inputs[0].shape == (1, 32, 48, 3)


def test_unknown_name_suggests_close_matches(models, tmp_path):
    sel = Selection(inputs=("image",), outputs=("Mconv7_stage2_L9/BiasAdd",), shapes=POSE_SELECTION.shapes)
    with pytest.raises(UserError) as err:
        cut_graphdef(load(models["pose"]), sel, tmp_path)
    assert "Mconv7_stage2_L9/BiasAdd" in err.value.message
    assert "Did you mean" in err.value.message and "'Mconv7_stage2_L" in err.value.message
    assert not (tmp_path / "cut.pb").exists()


def test_output_needing_an_unchosen_input(models, tmp_path):
    sel = Selection(inputs=("image",), outputs=("loss",), shapes=POSE_SELECTION.shapes)
    with pytest.raises(UserError, match=r"output 'loss' depends on the input '(paf|heat)_mask', which was not chosen"):
        cut_graphdef(load(models["pose"]), sel, tmp_path)
    sel = Selection(inputs=("image", "paf_mask"), outputs=OPENPOSE_CUT_OUTPUTS, shapes=POSE_SELECTION.shapes)
    with pytest.raises(UserError, match="input 'paf_mask' does not feed any of the chosen outputs"):
        cut_graphdef(load(models["pose"]), sel, tmp_path)
    assert not (tmp_path / "cut.pb").exists()


def test_shapes_must_be_static(models, tmp_path):
    loaded = load(models["pose"])
    with pytest.raises(UserError, match=r"Input 'image' .*--shape image=1,H,W,3"):
        cut_graphdef(loaded, Selection(inputs=("image",), outputs=OPENPOSE_CUT_OUTPUTS), tmp_path)
    with pytest.raises(UserError, match=r"'image' has 4 dimensions.*has 3"):
        cut_graphdef(loaded, Selection(inputs=("image",), outputs=OPENPOSE_CUT_OUTPUTS,
                                       shapes=(("image", (1, 64, 64)),)), tmp_path)
    with pytest.raises(UserError, match="not a positive number"):
        cut_graphdef(loaded, Selection(inputs=("image",), outputs=OPENPOSE_CUT_OUTPUTS,
                                       shapes=(("image", (1, 0, 64, 3)),)), tmp_path)


def test_whole_frozen_graph_fixes_the_batch(models, tmp_path):
    cut = cut_graphdef(load(models["pb"]), Selection(), tmp_path)
    assert cut.inputs == (TensorInfo("input", (1, 32, 32, 3), "float32"),)
    assert cut.outputs == (TensorInfo("output", (1, 5), "float32"),)
    assert cut.removed_inputs == ()
    assert cut.op_counts["Conv2D"] == 2 and cut.op_counts["Softmax"] == 1


def test_cut_at_an_internal_input(models, tmp_path):
    sel = Selection(inputs=("conv1/Relu",), outputs=("output",))
    cut = cut_graphdef(load(models["pb"]), sel, tmp_path)
    assert cut.inputs == (TensorInfo("conv1/Relu", (1, 32, 32, 8), "float32"),)
    assert cut.removed_inputs == ("input",)
    assert "conv1/Conv2D" not in {n.name for n in _graph_def(cut.path).node}
    x = np.maximum(_image((1, 32, 32, 8)), 0)
    want = run_frozen(models["pb"], {"conv1/Relu:0": x}, ["output:0"])[0]
    got = run_frozen(cut.path, {"conv1/Relu:0": x}, ["output:0"])[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_second_output_of_an_op(tmp_path):
    import tensorflow as tf

    with tf.Graph().as_default() as g:
        x = tf.compat.v1.placeholder(tf.float32, (None, 6), name="scores")
        tf.math.top_k(x * 2.0, k=2, name="top")
    path = tmp_path / "topk.pb"
    path.write_bytes(g.as_graph_def().SerializeToString())
    cut = cut_graphdef(load(path), Selection(outputs=("top:1",)), tmp_path / "out")
    assert cut.outputs == (TensorInfo("top_output_1", (1, 2), "int32"),)
    scores = np.array([[0.1, 0.9, 0.3, 0.8, 0.0, 0.2]], np.float32)
    assert run_frozen(cut.path, {"scores:0": scores}, ["top_output_1:0"])[0].tolist() == [[1, 3]]


def test_meta_cut_equals_frozen(models, tmp_path):
    out = models["odd"] / "out dir ü"
    meta_cut = cut_graphdef(load(models["meta"]), Selection(), out)
    pb_cut = cut_graphdef(load(models["pb"]), Selection(), tmp_path)
    assert meta_cut.path == str(out / "cut.pb")
    assert meta_cut.inputs == pb_cut.inputs and meta_cut.outputs == pb_cut.outputs
    assert "VariableV2" not in meta_cut.op_counts and "Assign" not in meta_cut.op_counts
    x = _image((1, 32, 32, 3))
    want = run_frozen(pb_cut.path, {"input:0": x}, ["output:0"])[0]
    got = run_frozen(meta_cut.path, {"input:0": x}, ["output:0"])[0]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    # An internal output of the checkpointed graph freezes only what it needs.
    cut = cut_graphdef(load(models["meta"]), Selection(outputs=("conv2",)), tmp_path / "conv2")
    assert [t.name for t in cut.outputs] == ["conv2/Relu"] and "MatMul" not in cut.op_counts


def test_training_checkpoint_cut(tmp_path):
    meta = tf_graphs.make_training_checkpoint(tmp_path / "train")
    cut = cut_graphdef(load(meta), Selection(outputs=("y",)), tmp_path / "out")
    assert cut.inputs == (TensorInfo("x", (1, 4), "float32"),)
    assert cut.outputs == (TensorInfo("y", (1, 3), "float32"),)
    assert set(cut.op_counts) == {"Placeholder", "Const", "Identity", "MatMul", "Relu"}
    x = np.array([[1.0, -2.0, 0.5, 3.0]], np.float32)
    want = np.maximum(x @ tf_graphs._weights(5)(4, 3), 0)
    np.testing.assert_allclose(run_frozen(cut.path, {"x:0": x}, ["y:0"])[0], want, rtol=1e-5)


def test_savedmodel_cut(models, tmp_path):
    import tensorflow as tf

    cut = cut_graphdef(load(models["sm"]), Selection(), tmp_path)
    assert cut.inputs == (TensorInfo("image", (1, 32, 32, 3), "float32"),)
    assert [t.shape for t in cut.outputs] == [(1, 5)]
    x = _image((1, 32, 32, 3))
    want = tf.saved_model.load(str(models["sm"])).signatures["serving_default"](image=tf.constant(x))["probs"]
    got = run_frozen(cut.path, {"image:0": x}, [cut.outputs[0].name + ":0"])[0]
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-6)
    # Signature keys and op names without the function's scope both work.
    cut = cut_graphdef(load(models["sm"]), Selection(inputs=("image",), outputs=("probs", "pool")), tmp_path)
    assert [t.shape for t in cut.outputs] == [(1, 5), (1, 8)]
    assert cut.outputs[1].name.endswith("/pool") and cut.source_nodes[cut.outputs[1].name] == "pool"
    # The other signature is cut the same way.
    cut = cut_graphdef(load(models["sm"], LoadOptions(signature="features")), Selection(), tmp_path)
    assert [t.shape for t in cut.outputs] == [(1, 8)]


def test_keras_export_layer_names(models, tmp_path):
    folder = tf_graphs.make_keras_export(tmp_path / "keras export")
    loaded = load(folder)
    cut = cut_graphdef(loaded, Selection(inputs=("image",), outputs=("head",)), tmp_path / "out")
    (head,) = cut.outputs
    assert head.name.endswith("/BiasAdd") and "/head" in head.name and head.shape == (1, 16, 16, 2)
    assert cut.source_nodes[head.name] == "head"
    with pytest.raises(UserError, match="no node named 'hea'"):
        cut_graphdef(loaded, Selection(outputs=("hea",)), tmp_path / "out")


def test_a_wrong_cut_is_caught(models, tmp_path, monkeypatch):
    """The check against the original graph is what stands between a bug here and a wrong model."""
    import tensorflow as tf

    from edgewizard.core import cut_graphdef as module
    from edgewizard.core.errors import InternalError

    real = module._subgraph

    def spoiled(tf_, gd, keep):
        out = real(tf_, gd, keep)
        weights = next(n for n in out.node if n.name == "logits/biases")
        value = tf.make_ndarray(weights.attr["value"].tensor) + 1.0
        weights.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
        return out

    monkeypatch.setattr(module, "_subgraph", spoiled)
    with pytest.raises(InternalError, match="differs from the original"):
        cut_graphdef(load(models["pb"]), Selection(outputs=("logits/BiasAdd",)), tmp_path)
    assert not (tmp_path / "cut.pb").exists()
