"""The per-op profile of a benchmark, measured for real: the bundled sample CNN and a small generated CNN,
converted to TFLite and OpenVINO IR, profiled on LiteRT CPU and OpenVINO CPU through BenchRun (what the
command line and the wizard use). Every op of the model appears in the profile or is counted as fused;
the ops' times add up to the measured latency; the paths without per-op time say so in a sentence."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from edgewizard.core.bench.profile import Profile, from_message, make_profile, map_profile
from edgewizard.core.bench.result import BenchResult
from edgewizard.core.bench.runner import BenchRequest, BenchRun
from edgewizard.core.calibrate import CalibrationSpec
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.convert.run import convert
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.samples import sample_calibration_path, sample_model_path

pytest.importorskip("openvino", reason="OpenVINO is needed to profile on OpenVINO CPU")
pytest.importorskip("ai_edge_litert", reason="LiteRT is needed to profile on LiteRT CPU")

EXE = str(Path(sys.executable).with_name("edgewizard"))
FUSED = re.compile(r"(\d+) of the model's (\d+) ops were fused")
CNN = r"""
import sys, keras
from keras import layers
m = keras.Sequential([keras.Input((160, 160, 3), name="image"),
    layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1"), layers.MaxPooling2D(name="pool1"),
    layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2"), layers.MaxPooling2D(name="pool2"),
    layers.Conv2D(128, 3, padding="same", activation="relu", name="conv3"), layers.GlobalAveragePooling2D(name="gap"),
    layers.Dense(10, activation="softmax", name="probabilities")])
m.save(sys.argv[1])
"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    calib = ConvertOptions(calibration=CalibrationSpec(sources=((None, str(sample_calibration_path())),)))
    convert(str(sample_model_path()), LoadOptions(), Selection(),
            ["tflite-float", "tflite-int8", "openvino-fp32", "openvino-int8"], str(out), calib)
    return {p.name.rsplit("_", 1)[-1]: p for p in out.iterdir() if p.suffix in (".tflite", ".xml")}


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    """A small generated CNN, big enough (a few milliseconds) that its ops' time is not lost in the call's own."""
    out = tmp_path_factory.mktemp("cnn")
    subprocess.run([sys.executable, "-c", CNN, str(out / "cnn.keras")], check=True, stderr=subprocess.DEVNULL, timeout=600)
    convert(str(out / "cnn.keras"), LoadOptions(), Selection(), ["tflite-float", "openvino-fp32"], str(out))
    return out


def profiled(model: Path, device: str, count: int = 60) -> BenchResult:
    run = BenchRun(BenchRequest(str(model), device, count=count, warmup=5, threads=1, profile=True)).start()
    assert run.wait(600)
    result = run.result()
    assert result.status == "finished", result.error
    assert result.count == count and result.profile is not None
    return result


def ir_ops(xml: Path) -> set[str]:
    """The IR's layers that run: not constants, nor ops computing only from constants (weights)."""
    root = ET.parse(xml).getroot()
    layers = {l.get("id"): l for l in root.iter("layer")}
    inputs: dict[str, list[str]] = {}
    for e in root.iter("edge"):
        inputs.setdefault(e.get("to-layer"), []).append(e.get("from-layer"))
    weights: set[str] = set()
    changed = True
    while changed:
        changed = False
        for lid, layer in layers.items():
            if lid in weights:
                continue
            src = inputs.get(lid, [])
            if layer.get("type") == "Const" or (src and all(s in weights for s in src)):
                weights.add(lid)
                changed = True
    return {l.get("name") for lid, l in layers.items() if lid not in weights}


def tflite_ops(path: Path) -> list[tuple[str, str]]:
    """(first output tensor's name, op type) of each op of the main subgraph."""
    from ai_edge_litert import schema_py_generated as s

    model = s.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
    graph = model.subgraphs[0]
    names = {v: k for k, v in vars(s.BuiltinOperator).items() if isinstance(v, int)}
    out = []
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        kind = names[max(code.builtinCode, code.deprecatedBuiltinCode)]
        out.append((graph.tensors[op.outputs[0]].name.decode(), kind))
    return out


@pytest.mark.parametrize("kind", ["fp32", "int8"])
def test_openvino_profile_accounts_for_every_op_of_the_ir(sample, kind):
    xml = sample[f"{kind}.xml"]
    p = profiled(xml, "openvino:CPU").profile
    assert p.available and p.source == "OpenVINO performance counters" and 25 <= p.runs <= 50
    running = ir_ops(xml)
    timed = {o.node for o in p.ops}
    silent = running - timed
    m = FUSED.search(p.note)
    assert m, p.note
    assert (int(m.group(1)), int(m.group(2))) == (len(silent), len(running)), (p.note, sorted(silent))
    assert timed & running, "the ops OpenVINO timed carry the IR's names"
    assert all(o.ms >= 0 and o.op for o in p.ops) and abs(sum(o.share for o in p.ops) - 1) < 1e-6
    conv = [o for o in p.ops if o.op == "Convolution"]
    assert conv and all(o.precision for o in conv)
    if kind == "int8":
        assert any(o.precision == "I8" for o in conv), [o.precision for o in conv]
    assert p.ops == tuple(sorted(p.ops, key=lambda o: -o.ms))


@pytest.mark.parametrize("kind", ["float", "int8"])
def test_litert_profile_times_every_op_of_the_tflite(sample, kind):
    path = sample[f"{kind}.tflite"]
    p = profiled(path, "tflite:CPU").profile
    assert p.available and p.source == "LiteRT, each op timed alone" and p.note
    ops = tflite_ops(path)
    timed = {(o.node, o.op) for o in p.ops}
    assert set(ops) <= timed, set(ops) - timed
    assert len(p.ops) == len(ops)
    if kind == "int8":
        assert {o.precision for o in p.ops if o.op == "CONV_2D"} == {"int8"}


@pytest.mark.parametrize("name, device", [("cnn_fp32.xml", "openvino:CPU"), ("cnn_float.tflite", "tflite:CPU")])
def test_op_times_add_up_to_the_measured_latency(cnn, name, device):
    p = profiled(cnn / name, device).profile
    assert p.latency_ms and p.total_ms == pytest.approx(sum(o.ms for o in p.ops))
    assert abs(p.total_ms / p.latency_ms - 1) <= 0.15, (p.total_ms, p.latency_ms)


def test_a_run_without_profile_has_none_and_its_json_round_trips(sample):
    run = BenchRun(BenchRequest(str(sample["float.tflite"]), "tflite:CPU", count=20)).start()
    assert run.wait(300)
    assert run.result().profile is None
    p = profiled(sample["float.tflite"], "tflite:CPU", count=20).profile
    result = BenchResult.from_samples([1.0], device="d", runtime="r", warmup_count=0, load_ms=None, threads=None,
                                      model="m", host="h", status="finished", profile=p)
    back = BenchResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert back.profile == p and isinstance(back.profile, Profile)
    assert sum(n for *_, n in p.by_type()) == len(p.ops)


def test_map_profile_names_the_original_layers_and_heat_is_relative(sample):
    p = profiled(sample["float.tflite"], "tflite:CPU", count=20).profile
    mapped = map_profile(p, str(sample_model_path()), LoadOptions(), Selection(), str(sample["float.tflite"]))
    conv = [o for o in mapped.ops if o.op == "CONV_2D"]
    assert conv and all(o.source_nodes for o in conv), [(o.node, o.source_nodes) for o in conv]
    heat = mapped.heat()
    assert heat and max(heat.values()) == 1.0 and min(heat.values()) >= 0


def test_without_a_profiler_the_litert_profile_says_so(sample):
    from edgewizard.core.bench.agent_parts.litert_ops import litert_profile
    from edgewizard.core.bench.agent_parts.sessions import RUNTIMES

    session = RUNTIMES["tflite"](str(sample["float.tflite"]), "", 1)
    fields = litert_profile(session, 10, 2, threading.Event(), tool=None, schema=None)
    p = from_message({"type": "profile", **fields})
    assert not p.available and not p.ops
    assert "no per-op profiler" in p.note and p.note.endswith(".") and ". " not in p.note


def test_the_edge_tpu_profile_is_one_block_and_says_why(tmp_path):
    from ai_edge_litert import schema_py_generated as s
    import flatbuffers

    from edgewizard.core.bench.agent_parts.profiling import EDGETPU_BLOCK, edgetpu_profile

    model = s.ModelT()
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.CUSTOM
    code.customCode = b"edgetpu-custom-op"
    model.operatorCodes, model.buffers, model.version = [code], [s.BufferT()], 3
    builder = flatbuffers.Builder(256)
    builder.Finish(model.Pack(builder), b"TFL3")
    compiled = tmp_path / "m_edgetpu.tflite"
    compiled.write_bytes(bytes(builder.Output()))
    # The Edge TPU's own wall times are what the agent passes; these stand for two such inferences.
    p = from_message({"type": "profile", **edgetpu_profile(str(compiled), [2.0, 3.0])})
    assert p.available and len(p.ops) == 1 and p.ops[0].block == EDGETPU_BLOCK and p.ops[0].ms == 2.5
    assert "runs its whole compiled subgraph as one op" in p.note
    plain = tmp_path / "plain.tflite"
    plain.write_bytes(b"TFL3" + bytes(64))
    q = from_message({"type": "profile", **edgetpu_profile(str(plain), [2.0])})
    assert not q.available and "not compiled for the Edge TPU" in q.note


def test_command_line_profile_json_and_table(sample):
    r = subprocess.run([EXE, "bench", str(sample["fp32.xml"]), "-n", "30", "--threads", "1", "--profile", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["profile"] and set(d["profile"][0]) >= {"node", "op", "ms", "share", "precision", "source_node"}
    assert d["profile_info"]["source"] == "OpenVINO performance counters" and d["profile_info"]["available"]
    assert d["profile"][0]["ms"] >= d["profile"][-1]["ms"]
    # the manifest beside the file names the original model: the ops carry its layer names
    named = {row["source_node"] for row in d["profile"] if row["op"] == "Convolution"}
    assert named and all(n.startswith("conv") for n in named), named
    t = subprocess.run([EXE, "bench", str(sample["float.tflite"]), "-n", "30", "--profile"], capture_output=True,
                       text=True, timeout=300)
    assert t.returncode == 0, t.stderr
    assert "Per-op profile:" in t.stdout and "By op type:" in t.stdout and "CONV_2D" in t.stdout


def test_a_bad_profile_row_is_refused():
    with pytest.raises(ValueError):
        from_message({"source": "x", "runs": 1, "ops": [["a", "CONV", -1.0, "", ""]]})
    p = make_profile("x", 3, [("a", "CONV", 2.0), ("b", "CONV", 1.0), ("c", "ADD", 1.0)])
    assert p.by_type()[0] == ("CONV", 3.0, 0.75, 2)
