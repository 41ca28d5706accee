"""No code from a model or a data file runs without consent: pickled (object) arrays are refused for
calibration, verification and benchmark data; allow_pickle is never turned on; a TF graph or SavedModel
that would write a file when run is inspected and validated without running; a custom-objects file runs
only when passed with --custom-objects (Keras Lambda layers are tests/hardening's bad-input cases)."""
from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from edgewizard.core.errors import UserError
from edgewizard.core.graph import TensorInfo

ROOT = Path(__file__).resolve().parents[2]
EXE = str(Path(sys.executable).with_name("edgewizard"))
IMAGE = TensorInfo("image", (1, 32, 32, 1), "float32")


def ew(*args, cwd=None, env=None):
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, timeout=600, cwd=cwd,
                          env=dict(os.environ, **(env or {})))


# ------------------------------------------------------------------ pickled arrays


class _OpensAFile:
    """Unpickling this creates the file: proof that an array was unpickled."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __reduce__(self):
        return (Path.touch, (self.path,))


@pytest.fixture
def pickled(tmp_path):
    marker = tmp_path / "UNPICKLED"
    arr = np.empty((2, 32, 32, 1), dtype=object)
    arr[...] = 0.5
    arr[0, 0, 0, 0] = _OpensAFile(marker)
    np.save(tmp_path / "evil.npy", arr, allow_pickle=True)
    np.savez(tmp_path / "evil.npz", x=arr, y=np.array([1, 2]))
    np.savez(tmp_path / "evil_labels.npz", x=np.zeros((2, 32, 32, 1), np.float32), y=np.array([_OpensAFile(marker)] * 2))
    return tmp_path, marker


def test_the_pickled_files_would_run_code_if_unpickled(pickled):
    folder, marker = pickled
    np.load(folder / "evil.npy", allow_pickle=True)
    assert marker.exists()


@pytest.mark.parametrize("name", ["evil.npy", "evil.npz"])
def test_calibration_refuses_pickled_arrays(pickled, name):
    from edgewizard.core.calibrate import CalibrationSpec, load_calibration

    folder, marker = pickled
    with pytest.raises(UserError, match="pickled data") as err:
        load_calibration(CalibrationSpec(sources=((None, str(folder / name)),)), (IMAGE,))
    assert name in err.value.message
    assert not marker.exists()


@pytest.mark.parametrize("name", ["evil.npy", "evil.npz", "evil_labels.npz"])
def test_verification_data_refuses_pickled_arrays(pickled, name):
    from edgewizard.core.verify.data import VerifyData, load_inputs

    folder, marker = pickled
    with pytest.raises(UserError) as err:
        load_inputs(VerifyData.from_path(str(folder / name)), (IMAGE,))
    assert name in err.value.message and ("pickle" in err.value.message or "allow_pickle" in err.value.message)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["evil.npy", "evil.npz"])
def test_bench_data_refuses_pickled_arrays(pickled, name):
    """The bench agent's --data reader (it runs wherever the agent runs, over ssh too)."""
    from edgewizard.core.bench.agent_parts import base, feeds

    folder, marker = pickled
    session = types.SimpleNamespace(inputs=[{"name": "image", "shape": [1, 32, 32, 1], "dtype": "float32"}])
    with pytest.raises(base.AgentError) as err:
        feeds.input_feeds(np, session, str(folder / name))
    assert err.value.kind == "user" and name in err.value.message
    assert not marker.exists()


def _loads_that_may_unpickle(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            if kw.arg == "allow_pickle" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                found.append(f"{path.name}:{node.lineno}: allow_pickle={ast.unparse(kw.value)}")
        func = ast.unparse(node.func)
        if func in {"pickle.load", "pickle.loads", "pickle.Unpickler", "marshal.load", "marshal.loads", "shelve.open",
                    "joblib.load", "dill.load", "dill.loads", "torch.load", "cloudpickle.load", "cloudpickle.loads"}:
            found.append(f"{path.name}:{node.lineno}: {func}")
        if func.endswith(("np.load", "numpy.load")) and not any(k.arg == "allow_pickle" for k in node.keywords):
            found.append(f"{path.name}:{node.lineno}: {func} without allow_pickle=False")  # say it where it is read
    return found


def test_nothing_turns_allow_pickle_on_or_unpickles_a_file():
    files = [p for top in ("core", "gui", "packaging") for p in (ROOT / top).rglob("*.py")]
    assert len(files) > 60
    assert [f for p in files for f in _loads_that_may_unpickle(p)] == []


def test_the_pickle_scan_catches_each_kind(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy as np, pickle\nnp.load(p, allow_pickle=True)\nnp.load(p)\npickle.loads(b)\n"
                   "np.load(p, allow_pickle=flag)\n")
    assert len(_loads_that_may_unpickle(bad)) == 4
    good = tmp_path / "good.py"
    good.write_text("import numpy as np\nnp.load(p, allow_pickle=False)\n")
    assert _loads_that_may_unpickle(good) == []


# ------------------------------------------------------------------ TF graphs are not run


@pytest.fixture(scope="module")
def writers(tmp_path_factory):
    """A frozen .pb and a SavedModel that write MARKER (the sum of the input) whenever they run."""
    import tensorflow as tf

    out = tmp_path_factory.mktemp("writers")
    marker = out / "WRITTEN"
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 4], name="x")
        write = tf.io.write_file(tf.constant(str(marker)), tf.strings.as_string(tf.reduce_sum(x)), name="write")
        with tf.control_dependencies([write]):
            tf.identity(tf.nn.relu(x) * 2.0, name="y")
    tf.io.write_graph(g.as_graph_def(), str(out), "writer.pb", as_text=False)

    class Writer(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32, name="x")])
        def __call__(self, x):
            tf.io.write_file(str(marker), tf.strings.as_string(tf.reduce_sum(x)))
            return {"y": tf.nn.relu(x) * 2.0}

    module = Writer()
    tf.saved_model.save(module, str(out / "writer_savedmodel"), signatures=module.__call__)
    assert not marker.exists()
    return out, marker, g


@pytest.mark.parametrize("model", ["writer.pb", "writer_savedmodel"])
def test_inspect_and_validate_do_not_run_the_graph(writers, model):
    out, marker, _ = writers
    r = ew("inspect", out / model, cwd=out)
    assert r.returncode == 0, r.stderr
    assert "WriteFile" in r.stdout  # it was read, op by op
    assert not marker.exists(), "inspect ran the model's graph"
    # The SavedModel is cut the same way on every device: one device is enough there (time).
    r = ew("validate", out / model, *(["--device", "tflite:CPU"] if model == "writer_savedmodel" else []), cwd=out)
    assert r.returncode in (0, 2), r.stderr  # the op is unsupported on some devices; either way it was judged
    assert "WriteFile" in r.stdout + r.stderr
    assert not marker.exists(), f"validate ran the model's graph: {marker.read_text()!r}"


def test_the_writers_do_write_when_run(writers):
    """Without this, the test above could pass because the models never write at all."""
    import tensorflow as tf

    out, marker, graph = writers
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run("y:0", {"x:0": np.ones((1, 4), np.float32)})
    assert float(marker.read_text()) == 4.0
    marker.unlink()
    loaded = tf.saved_model.load(str(out / "writer_savedmodel"))
    loaded.signatures["serving_default"](x=tf.ones((1, 4)))
    assert float(marker.read_text()) == 4.0
    marker.unlink()


# ------------------------------------------------------------------ custom objects run only when passed

CUSTOM = '''"""Custom layers for a test model; creates $EW_CUSTOM_MARKER when this file runs."""
import os

import keras

if os.environ.get("EW_CUSTOM_MARKER"):
    open(os.environ["EW_CUSTOM_MARKER"], "w").close()


@keras.saving.register_keras_serializable(package="ewtest")
class Doubler(keras.layers.Layer):
    def call(self, x):
        return x * 2.0
'''


def test_a_custom_objects_file_runs_only_when_passed(tmp_path):
    import keras

    folder = tmp_path / "model"
    folder.mkdir()
    custom = folder / "custom_layers.py"  # beside the model and in the working folder: still not run
    custom.write_text(CUSTOM)
    spec = importlib.util.spec_from_file_location("custom_layers", custom)
    module = importlib.util.module_from_spec(spec)
    sys.modules["custom_layers"] = module
    try:
        spec.loader.exec_module(module)
        inputs = keras.Input((4,), name="x")
        keras.Model(inputs, module.Doubler(name="double")(keras.layers.Dense(3)(inputs))).save(folder / "custom.keras")
    finally:
        del sys.modules["custom_layers"]
    marker = tmp_path / "CUSTOM_RAN"
    env = {"EW_CUSTOM_MARKER": str(marker), "PYTHONPATH": str(folder)}
    r = ew("inspect", folder / "custom.keras", cwd=folder, env=env)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "--custom-objects" in r.stderr and "custom.keras" in r.stderr
    assert not marker.exists(), "the custom-objects file ran without --custom-objects"
    r = ew("inspect", folder / "custom.keras", "--custom-objects", custom, cwd=tmp_path, env={"EW_CUSTOM_MARKER": str(marker)})
    assert r.returncode == 0, r.stderr
    assert marker.exists() and "Doubler" in r.stdout
