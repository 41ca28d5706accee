"""SavedModels of every TensorFlow/Keras era load (issue 14, item 1): a Keras 2 model with a trained legacy Adam
(its slots revived through Optimizer.add_slot, which fails without tf_keras), the TF 2.11-2.15 Adam, a TF1 folder
with "train" and "serve" MetaGraphs, and a tf.Module. The object loader is tried first, the signature's MetaGraph
(a TF1 session) is the fallback; both give the frozen graph the rest of the pipeline reads, and the numbers the
model itself computed. Without tf_keras is tested for real: a sitecustomize makes `import tf_keras` fail in the
CLI and its worker."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgewizard.core import loaders
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.convert.run import convert
from edgewizard.core.errors import UserError
from edgewizard.core.loaders import load, saved_model
from edgewizard.core.plan import LoadOptions, Selection
from tests.models import savedmodel_eras as eras
from tests.models import tf_graphs

EXE = str(Path(sys.executable).with_name("edgewizard"))
REPO = Path(__file__).resolve().parents[2]
ADD_SLOT = "'_UserObject' object has no attribute 'add_slot'"
BLOCK_TF_KERAS = '''"""Makes tf_keras unimportable, as on a machine where it is not installed."""
import sys


class _NoTfKeras:
    def find_spec(self, name, path=None, target=None):
        if name == "tf_keras" or name.startswith("tf_keras."):
            raise ModuleNotFoundError("No module named 'tf_keras' (blocked by the test)", name=name)
        return None


sys.meta_path.insert(0, _NoTfKeras())
'''
# conv 3x3x3x6 + 6, two dense heads (5*5*6)x4 + 4
KERAS2_PARAMS = 162 + 6 + 2 * (150 * 4 + 4)
OUTPUT_KEYS = {"keras2-legacy-adam": ["probs", "scores"], "keras2-adam": ["probs", "scores"],
               "tf1-train-serve": ["probs"]}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("eras")
    return {
        "keras2-legacy-adam": eras.make_keras2_savedmodel(root / "keras 2 legacy adam"),
        "keras2-adam": eras.make_keras2_savedmodel(root / "keras 2 adam", optimizer="v2.11"),
        "tf1-train-serve": eras.make_tf1_savedmodel(root / "tf1 train serve"),
    }


@pytest.fixture
def without_tf_keras(tmp_path):
    """The environment of a process (and the worker it starts) in which `import tf_keras` fails."""
    folder = tmp_path / "no_tf_keras"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(BLOCK_TF_KERAS)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(folder), str(REPO)])
    return env


@pytest.fixture
def metagraph_only(monkeypatch):
    """Forces the fallback in this process (tf_keras is importable here, so the object loader would succeed)."""
    def refuse(*args):
        raise RuntimeError("object loader refused by the test")

    monkeypatch.setattr(saved_model, "_by_object_loader", refuse)
    monkeypatch.setattr(loaders, "_CACHE", {})


def _run(loaded, x) -> list:
    """The loaded graph's outputs for x, in the order of the signature's output keys."""
    import tensorflow as tf

    g = loaded.info.graph
    with tf.Graph().as_default() as graph:
        tf.compat.v1.import_graph_def(loaded.handle.graph_def, name="")
        with tf.compat.v1.Session(graph=graph) as sess:
            return sess.run([_tensor_name(t.name) for t in g.outputs], {_tensor_name(g.inputs[0].name): x})


def _same(got: list, want: list) -> bool:
    return len(got) == len(want) and all(np.allclose(a, b, atol=1e-6) for a, b in zip(got, want))


def _tensor_name(name: str) -> str:
    return name if ":" in name else name + ":0"


def test_the_keras2_folder_holds_a_revivable_optimizer_with_slots(models):
    """What makes the folder fail without tf_keras: a Keras 2 "optimizer" object with slot variables."""
    sm = saved_model._read_saved_model_proto(models["keras2-legacy-adam"])
    nodes = sm.meta_graphs[0].object_graph_def.nodes
    assert any(n.WhichOneof("kind") == "user_object" and n.user_object.identifier == "optimizer" for n in nodes)
    assert sum(len(n.slot_variables) for n in nodes) == 12  # m and v of 6 variables


@pytest.mark.slow
def test_without_tf_keras_tensorflow_itself_cannot_revive_it(models, without_tf_keras):
    """The situation of the bug: TensorFlow's own object loader fails there, so the fallback is needed."""
    code = ("import tensorflow as tf, sys\ntry:\n    import tf_keras\nexcept ImportError:\n    print('no tf_keras')\n"
            "tf.saved_model.load(sys.argv[1])")
    r = subprocess.run([sys.executable, "-c", code, str(models["keras2-legacy-adam"])], capture_output=True,
                       text=True, timeout=300, env=without_tf_keras)
    assert r.stdout.strip() == "no tf_keras"
    assert r.returncode != 0 and ADD_SLOT in r.stderr


@pytest.mark.parametrize("era", ["keras2-legacy-adam", "keras2-adam", "tf1-train-serve"])
def test_every_era_loads_and_computes_what_the_model_computed(models, era):
    loaded = load(models[era])
    info = loaded.info
    x, ys = eras.check_data(models[era])
    assert _same(_run(loaded, x), ys)
    assert info.format == "savedmodel" and info.signatures == ("serving_default",)
    assert info.notes[-1].startswith("Loaded by TensorFlow's object loader")
    assert [(t.shape, t.dtype) for t in info.graph.inputs] == [((None, *eras.SHAPE), "float32")]
    assert [t.shape for t in info.graph.outputs] == [(None, eras.CLASSES)] * len(OUTPUT_KEYS[era])
    assert info.graph.node(info.graph.inputs[0].name).attrs["signature_input"] == "image"
    assert [info.graph.node(t.name).attrs["signature_output"] for t in info.graph.outputs] == OUTPUT_KEYS[era]
    assert [t.name for t in info.graph.inputs] == ["image"]
    if era.startswith("keras2"):  # (a TF1 graph keeps its own op names)
        assert [t.name for t in info.graph.outputs] == ["Identity", "Identity_1"]
    if era.startswith("keras2"):
        assert info.param_count == KERAS2_PARAMS  # the model's weights only: no Adam slots, no iteration count
        assert ("tf_keras revived its Keras 2 optimizer" in info.notes[-1]) == (era == "keras2-legacy-adam")


@pytest.mark.parametrize("era", ["keras2-legacy-adam", "keras2-adam", "tf1-train-serve"])
def test_the_metagraph_fallback_gives_the_same_model(models, era, metagraph_only):
    """This process traced the Keras models' functions when it saved them: the fallback's copies of them, named
    alike but defined otherwise once frozen, must not clash with those."""
    loaded = load(models[era])
    info = loaded.info
    x, ys = eras.check_data(models[era])
    assert _same(_run(loaded, x), ys)
    assert info.notes[-1] == ("Loaded from the MetaGraph of signature 'serving_default' in a TF1 session (variables "
                              "restored, then frozen), because TensorFlow's object loader failed (object loader "
                              "refused by the test).")
    assert info.signatures == ("serving_default",)
    ops = info.graph.op_counts()
    assert ops["Conv2D"] == 1 and ops["MatMul"] == len(OUTPUT_KEYS[era])  # function calls inlined, op by op
    assert "VarHandleOp" not in ops and "StatefulPartitionedCall" not in ops
    # One op per output, as the object loader makes them: the outputs of one IdentityN were merged by OpenVINO.
    assert "IdentityN" not in [info.graph.node(t.name).op for t in info.graph.outputs]
    assert len({t.name for t in info.graph.outputs}) == len(OUTPUT_KEYS[era])
    # Named as the object loader names them (inputs by their keys), so that --shape, --calib and --data name the
    # same inputs whichever loader ran; the keys are aliases of them.
    assert [t.name for t in info.graph.inputs] == ["image"]
    assert [t.name for t in info.graph.outputs] == ["Identity", "Identity_1"][: len(OUTPUT_KEYS[era])]
    assert [loaded.handle.aliases[k] for k in OUTPUT_KEYS[era]] == [t.name for t in info.graph.outputs]
    if era.startswith("keras2"):
        assert info.param_count == KERAS2_PARAMS


def test_the_fallback_chooses_among_several_signatures(tmp_path, metagraph_only):
    folder = tf_graphs.make_savedmodel(tmp_path / "module")
    info = load(folder, LoadOptions(signature="features")).info
    assert info.signatures == ("features", "serving_default")
    assert [t.shape for t in info.graph.outputs] == [(None, 8)] and "Softmax" not in info.graph.op_counts()
    with pytest.raises(UserError, match="no signature 'nope'.*'serving_default'"):
        load(folder, LoadOptions(signature="nope"))
    assert [t.shape for t in load(folder).info.graph.outputs] == [(None, tf_graphs.CLASSES)]


def test_a_cut_inside_the_fallback_graph_converts(models, tmp_path, metagraph_only):
    folder = shutil.copytree(models["keras2-legacy-adam"], tmp_path / "copy")
    relu = next(n.name for n in load(folder).info.graph.nodes if n.op == "Relu")
    manifest = convert(str(folder), LoadOptions(), Selection(outputs=(relu,)), ["tflite-float"], str(tmp_path / "out"),
                       ConvertOptions())
    assert [list(o.shape) for o in manifest.cut.outputs] == [[1, 10, 10, 6]]
    assert [list(o.shape) for o in manifest.cut.inputs] == [[1, *eras.SHAPE]]


def test_when_both_loaders_fail_it_is_one_sentence(models, tmp_path):
    folder = shutil.copytree(models["keras2-legacy-adam"], tmp_path / "damaged")
    data = next((folder / "variables").glob("variables.data-*"))
    data.write_bytes(data.read_bytes()[:100])
    with pytest.raises(UserError) as err:
        load(folder)
    message = err.value.message
    assert message.startswith(f"TensorFlow cannot load the SavedModel in {folder} (")
    assert message.endswith("copy or export the whole folder again.") and message.count(". ") == 0
    assert "Object loader:" in err.value.details and "MetaGraph loader:" in err.value.details


@pytest.mark.slow
def test_cli_chain_without_tf_keras(models, tmp_path, without_tf_keras):
    """inspect, validate, convert and verify as a person runs them on a machine without tf_keras."""
    model = models["keras2-legacy-adam"]

    def ew(*args):
        return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, timeout=600,
                              env=without_tf_keras)

    r = ew("inspect", model, "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["notes"][-1].startswith("Loaded from the MetaGraph of signature 'serving_default' in a TF1 session")
    assert f"({ADD_SLOT}, as tf_keras is not installed)" in info["notes"][-1]
    assert [i["shape"] for i in info["inputs"]] == [[None, *eras.SHAPE]]

    r = ew("validate", model, "--device", "tflite:CPU")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    r = ew("convert", model, "-t", "tflite-float", "-t", "openvino-fp32", "-o", out)
    assert r.returncode == 0, r.stderr
    r = ew("verify", model, out, "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert [(a["targets"], a["status"]) for a in report["artifacts"]] == [(["tflite-float"], "ok"),
                                                                         (["openvino-fp32"], "ok")]
    assert all(len(a["outputs"]) == 2 for a in report["artifacts"])

    from ai_edge_litert.interpreter import Interpreter  # and the artifact computes what the Keras model did

    x, ys = eras.check_data(model)
    it = Interpreter(model_path=str(next(out.glob("*_float.tflite"))))
    it.allocate_tensors()
    for i in range(len(x)):
        it.set_tensor(it.get_input_details()[0]["index"], x[i:i + 1])
        it.invoke()
        got = [it.get_tensor(o["index"]) for o in it.get_output_details()]
        assert len(got) == len(ys)
        for y in ys:  # softmax and sigmoid heads: each matches exactly one of the artifact's outputs
            assert sum(np.allclose(g, y[i:i + 1], atol=1e-5) for g in got) == 1


@pytest.mark.slow
def test_cli_with_tf_keras_uses_the_object_loader(models):
    r = subprocess.run([EXE, "inspect", models["keras2-legacy-adam"], "--json"], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["notes"][-1] == ("Loaded by TensorFlow's object loader (tf.saved_model.load); "
                                                 "tf_keras revived its Keras 2 optimizer.")
