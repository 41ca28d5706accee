"""Cutting Keras models into frozen GraphDefs with real TensorFlow (the OpenPose case first)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgewizard.core.cut_keras import cut_keras, tf_op_name
from edgewizard.core.errors import UserError
from edgewizard.core.loaders import keras_loader
from edgewizard.core.plan import LoadOptions, Selection
from tests.models import keras_models
from tests.models.openpose import make_openpose

HEADS = ("Mconv7_stage2_L1", "Mconv7_stage2_L2")


def _no_progress(fraction, message=""):
    pass


def kload(path: Path):
    fmt = "h5" if path.suffix == ".h5" else "keras"
    return keras_loader.load(path, fmt, LoadOptions(), _no_progress)


@pytest.fixture(scope="module")
def openpose(tmp_path_factory):
    return kload(make_openpose(tmp_path_factory.mktemp("op") / "openpose.h5", "h5"))


def read_pb(path: str):
    import tensorflow as tf

    gd = tf.compat.v1.GraphDef()
    gd.ParseFromString(Path(path).read_bytes())
    return gd


def run_pb(path: str, inputs: list[str], outputs: list[str], feeds: list[np.ndarray]) -> list[np.ndarray]:
    import tensorflow as tf

    gd = read_pb(path)
    fn = tf.compat.v1.wrap_function(lambda: tf.graph_util.import_graph_def(gd, name=""), [])
    pruned = fn.prune([f"{n}:0" for n in inputs], [f"{n}:0" for n in outputs])
    return [np.asarray(v) for v in pruned(*[tf.constant(x) for x in feeds])]


def test_openpose_cut_at_image_and_heads(openpose, tmp_path):
    import keras

    sel = Selection(("input_1",), HEADS, (("input_1", (1, 64, 64, 3)),))
    cut = cut_keras(openpose, sel, tmp_path, _no_progress)

    assert cut.kind == "graphdef" and Path(cut.path) == tmp_path / "cut.pb"
    assert [(t.name, t.shape, t.dtype) for t in cut.inputs] == [("input_1", (1, 64, 64, 3), "float32")]
    assert [(t.name, t.shape) for t in cut.outputs] == [(HEADS[0], (1, 16, 16, 6)), (HEADS[1], (1, 16, 16, 4))]
    assert cut.removed_inputs == ("input_2", "input_3")
    assert cut.source_nodes == {"input_1": "input_1", HEADS[0]: HEADS[0], HEADS[1]: HEADS[1]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.pb"]  # no temp file left behind

    gd = read_pb(cut.path)
    placeholders = [n for n in gd.node if n.op == "Placeholder"]
    assert [p.name for p in placeholders] == ["input_1"]
    assert [d.size for d in placeholders[0].attr["shape"].shape.dim] == [1, 64, 64, 3]
    names = [n.name for n in gd.node]
    assert len(names) == len(set(names)) and set(HEADS) <= set(names)
    # Frozen and folded: the real ops only, no variables and no leftovers of reading them.
    assert cut.op_counts["Conv2D"] == 11 and cut.op_counts["Placeholder"] == 1
    assert not {"VarHandleOp", "ReadVariableOp", "Reshape", "Squeeze", "Mul"} & set(cut.op_counts)

    model = openpose.handle
    reference = keras.Model(model.get_layer("input_1").output, [model.get_layer(h).output for h in HEADS])
    x = np.random.default_rng(1).standard_normal((1, 64, 64, 3)).astype("float32")
    want = [np.asarray(v) for v in reference(x)]
    got = run_pb(cut.path, ["input_1"], list(HEADS), [x])
    for g, w in zip(got, want):
        assert g.shape == w.shape
        assert np.allclose(g, w, atol=1e-5)


def test_tf_op_style_names_and_cutting_twice(openpose, tmp_path):
    nodes_before = len(keras_loader.model_nodes(openpose.handle))
    sel = Selection(("input_1:0",), ("model/Mconv7_stage2_L1/BiasAdd",), (("input_1:0", (1, 32, 32, 3)),))
    cut = cut_keras(openpose, sel, tmp_path / "a", _no_progress)
    assert [t.name for t in cut.outputs] == ["Mconv7_stage2_L1"]
    assert cut.source_nodes["Mconv7_stage2_L1"] == "model/Mconv7_stage2_L1/BiasAdd"
    assert cut.inputs[0].shape == (1, 32, 32, 3)
    # Re-applying layers adds calls to them; the loaded model's own graph must not change.
    assert len(keras_loader.model_nodes(openpose.handle)) == nodes_before
    again = cut_keras(openpose, sel, tmp_path / "b", _no_progress)
    assert again.outputs == cut.outputs


def test_missing_shape_asks_for_one(openpose, tmp_path):
    with pytest.raises(UserError) as err:
        cut_keras(openpose, Selection(("input_1",), HEADS), tmp_path, _no_progress)
    msg = str(err.value)
    assert "'input_1'" in msg and "--shape input_1=1," in msg and ",3" in msg
    assert not (tmp_path / "cut.pb").exists()


def test_unnamed_shape_applies_to_the_only_input(openpose, tmp_path):
    cut = cut_keras(openpose, Selection(("input_1",), HEADS, (("", (1, 24, 24, 3)),)), tmp_path, _no_progress)
    assert cut.inputs[0].shape == (1, 24, 24, 3)


def test_shape_that_does_not_fit(openpose, tmp_path):
    with pytest.raises(UserError, match="Input 'input_1' has dimension 3 fixed to 3"):
        cut_keras(openpose, Selection(("input_1",), HEADS, (("input_1", (1, 64, 64, 4)),)), tmp_path, _no_progress)
    with pytest.raises(UserError, match="'input_1'.*pool1_stage1.*zero or negative"):
        cut_keras(openpose, Selection(("input_1",), HEADS, (("input_1", (1, 1, 1, 3)),)), tmp_path, _no_progress)


def test_output_needing_an_unchosen_input(openpose, tmp_path):
    sel = Selection(("input_1",), ("weight_stage2_L1",), (("input_1", (1, 32, 32, 3)),))
    with pytest.raises(UserError) as err:
        cut_keras(openpose, sel, tmp_path, _no_progress)
    assert "'weight_stage2_L1'" in str(err.value) and "'input_2'" in str(err.value)


def test_unknown_node_gets_a_hint(openpose, tmp_path):
    with pytest.raises(UserError, match="no node named 'Mconv7_stage2_L9'.*Did you mean"):
        cut_keras(openpose, Selection(("input_1",), ("Mconv7_stage2_L9",)), tmp_path, _no_progress)


def test_cut_at_internal_input(openpose, tmp_path):
    model = openpose.handle
    sel = Selection(("concat_stage2",), (HEADS[0],), (("concat_stage2", (1, 8, 8, 18)),))
    cut = cut_keras(openpose, sel, tmp_path, _no_progress)
    assert [(t.name, t.shape) for t in cut.inputs] == [("concat_stage2", (1, 8, 8, 18))]
    assert cut.removed_inputs == ("input_1", "input_2", "input_3")
    x = np.random.default_rng(2).standard_normal((1, 8, 8, 18)).astype("float32")
    y = x
    for name in ("Mconv1_stage2_L1", "Mconv1_stage2_L1_relu", HEADS[0]):
        y = model.get_layer(name)(y)
    (got,) = run_pb(cut.path, ["concat_stage2"], [HEADS[0]], [x])
    assert np.allclose(got, np.asarray(y), atol=1e-5)


def test_default_selection_fixes_the_batch(tmp_path):
    loaded = kload(keras_models.sequential_cnn(tmp_path / "seq.keras"))
    cut = cut_keras(loaded, Selection(), tmp_path / "out", _no_progress)
    assert [(t.name, t.shape) for t in cut.inputs] == [("image", (1, 16, 16, 1))]
    assert [(t.name, t.shape) for t in cut.outputs] == [("logits", (1, 3))]
    assert cut.removed_inputs == ()
    x = np.random.default_rng(3).standard_normal((1, 16, 16, 1)).astype("float32")
    (got,) = run_pb(cut.path, ["image"], ["logits"], [x])
    assert np.allclose(got, np.asarray(loaded.handle(x)), atol=1e-5)
    # Flatten with a static batch leaves no shape arithmetic behind (the Edge TPU rejects it).
    assert not {"Shape", "StridedSlice", "Pack"} & set(cut.op_counts)


def test_two_inputs_and_one_dropped(tmp_path):
    loaded = kload(keras_models.two_input(tmp_path / "two.h5"))
    both = cut_keras(loaded, Selection(), tmp_path / "both", _no_progress)
    assert [(t.name, t.shape) for t in both.inputs] == [("a", (1, 8)), ("b", (1, 4))]
    only_a = cut_keras(loaded, Selection(("a", "b"), ("dense_a",)), tmp_path / "a", _no_progress)
    assert [t.name for t in only_a.inputs] == ["a"] and only_a.removed_inputs == ("b",)
    with pytest.raises(UserError, match="Input 'a' has dimension 1 fixed to 8"):
        cut_keras(loaded, Selection(("a", "b"), ("out",), (("a", (1, 9)),)), tmp_path / "bad", _no_progress)


def test_non_ascii_paths(tmp_path):
    folder = tmp_path / "模型 dir"
    folder.mkdir()
    loaded = kload(make_openpose(folder / "my model.h5", "h5"))
    out = folder / "输出 cut"
    cut = cut_keras(loaded, Selection(("input_1",), HEADS, (("input_1", (1, 16, 16, 3)),)), out, _no_progress)
    assert Path(cut.path) == out / "cut.pb" and Path(cut.path).is_file()


def test_tf_op_name_sanitizing():
    assert tf_op_name("Mconv7_stage2_L1") == "Mconv7_stage2_L1"
    assert tf_op_name("my layer:1") == "my_layer_1"
    assert tf_op_name("_private") == "n_private"
    assert tf_op_name("层") == "n_"
