"""The bench agent itself: Python 3.6 syntax and stdlib only, and real runs on LiteRT CPU and
OpenVINO CPU through the runner, with random and file inputs."""
from __future__ import annotations

import ast
import json
import subprocess
import sys

import numpy as np
import pytest

from edgewizard.core.bench import protocol
from edgewizard.core.bench.launch import BOOTSTRAP, agent_source
from edgewizard.core.bench.runner import BenchRequest, BenchRun
from edgewizard.core.errors import UserError
from tests.models.bench_models import tiny_ir, tiny_tflite

# Only the runtimes (and numpy, which they need) may be imported, and only inside functions.
RUNTIME_MODULES = {"numpy", "openvino", "ai_edge_litert", "tflite_runtime", "pycoral", "usb"}
NEWER_THAN_36 = ("removeprefix", "removesuffix", "perf_counter_ns", "capture_output", "dataclasses",
                 "math.prod", "functools.cache", "from __future__ import annotations", "fromisoformat", "text=True",
                 ".isascii(", "asyncio.run(", "contextlib.nullcontext", "time_ns(", "subprocess.run(")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench models")
    return {"tflite": tiny_tflite(folder / "tiny.tflite"), "ir": tiny_ir(folder / "tiny.xml")}


def test_agent_is_python_36_syntax_and_standard_library_only():
    source = agent_source().decode("utf-8")
    tree = ast.parse(source, feature_version=(3, 6))
    for node in ast.walk(tree):
        if isinstance(node, (ast.JoinedStr, ast.NamedExpr)):
            raise AssertionError(f"line {node.lineno}: f-strings and := are avoided in the agent")
        if isinstance(node, ast.AnnAssign):
            raise AssertionError(f"line {node.lineno}: variable annotations are avoided in the agent")
    for word in NEWER_THAN_36:
        assert word not in source, f"{word!r} is newer than Python 3.6"
    top = {n.names[0].name.split(".")[0] for n in tree.body if isinstance(n, ast.Import)}
    top |= {n.module.split(".")[0] for n in tree.body if isinstance(n, ast.ImportFrom)}
    assert top <= set(sys.stdlib_module_names), top - set(sys.stdlib_module_names)
    inner = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    inner |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert inner - top <= RUNTIME_MODULES, inner - top
    assert "'" not in BOOTSTRAP  # it travels inside one single-quoted word for the remote shell


@pytest.fixture(scope="module")
def agent_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("agent") / "agent.py"
    path.write_bytes(agent_source())
    return path


def _raw_agent(agent_file, args, block_numpy=False):
    """The agent run by hand (argv mode), its stdout lines parsed by the host's protocol checker."""
    prelude = "import sys; sys.modules['numpy'] = None; " if block_numpy else "import sys; "
    code = prelude + f"sys.argv[1:] = {args!r}; exec(compile(open({str(agent_file)!r}, 'rb').read(), 'agent', 'exec'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    return [protocol.parse(line) for line in out.stdout.splitlines()], out.returncode


def test_agent_without_numpy_still_starts_and_says_numpy_is_missing(models, agent_file):
    messages, code = _raw_agent(agent_file, [str(models["tflite"]), "-n", "3"], block_numpy=True)
    assert [m["type"] for m in messages] == ["hello", "error", "end"]
    assert messages[1]["kind"] == "missing" and messages[1]["message"].startswith("numpy is not installed for ")
    assert "pip install numpy" in messages[1]["message"] and code == 3
    probe, _ = _raw_agent(agent_file, ["--probe"], block_numpy=True)
    report = probe[1]
    assert "numpy is not installed" in report["runtimes"]["numpy"]["error"]
    assert not any(d["ready"] for d in report["devices"])


def test_message_sequence_of_a_run(models, agent_file):
    messages, code = _raw_agent(agent_file, [str(models["tflite"]), "-n", "50", "--warmup", "2"])
    kinds = [m["type"] for m in messages]
    assert code == 0 and kinds[:3] == ["hello", "ready", "warmup"] and kinds[-1] == "end" and set(kinds[3:-1]) == {"batch"}
    assert messages[0]["protocol"] == 1 and messages[-1] == {"type": "end", "reason": "done", "count": 50, "t": messages[-1]["t"]}
    assert sum(len(m["ms"]) for m in messages if m["type"] == "batch") == 50
    assert messages[1]["inputs"] == [{"name": "input", "shape": [1, 64], "dtype": "float32", "quantization": [0.0, 0]}]


def _check_stats(r, count):
    assert r.status == "finished" and r.error is None and r.count == count
    assert 0 < r.min_ms <= r.median_ms <= r.p90_ms <= r.p99_ms <= r.max_ms
    assert r.min_ms <= r.mean_ms <= r.max_ms and r.first_ms > 0 and r.throughput_fps > 0 and r.elapsed_s > 0


def test_litert_cpu_for_real(models):
    run = BenchRun(BenchRequest(str(models["tflite"]), "tflite:CPU", count=500, warmup=3, threads=2)).start()
    assert run.wait(60)
    r = run.result()
    _check_stats(r, 500)
    assert r.runtime.startswith("ai_edge_litert ") and r.device == "tflite:CPU" and r.warmup_count == 3
    assert run.ready["outputs"][0]["name"] == "output" and r.threads == 2


def test_openvino_cpu_for_real(models):
    run = BenchRun(BenchRequest(str(models["ir"]), "openvino:CPU", seconds=0.5, warmup=1)).start()
    new = []
    while not run.wait(0.05):
        new += run.take_new()
    new += run.take_new()
    r = run.result()
    _check_stats(r, len(new))
    assert r.runtime.startswith("openvino 20") and r.device_name and abs(r.elapsed_s - 0.5) < 0.2
    assert new == run.samples.snapshot().tolist()  # the polling cursor saw every sample exactly once


def test_input_data_file_is_cycled_and_checked(models, tmp_path):
    data = tmp_path / "inputs.npz"
    np.savez(data, input=np.random.default_rng(1).uniform(size=(7, 64)).astype("float32"))
    run = BenchRun(BenchRequest(str(models["tflite"]), count=50, warmup=0, data=str(data))).start()
    assert run.wait(60) and run.state == "finished" and len(run.samples) == 50
    np.save(tmp_path / "wrong.npy", np.zeros((3, 5), "float32"))
    run = BenchRun(BenchRequest(str(models["tflite"]), count=5, data=str(tmp_path / "wrong.npy"))).start()
    assert run.wait(60) and run.state == "failed" and isinstance(run.error, UserError)
    assert "has shape [3, 5]; the model needs [1, 64]" in run.error.message


def test_requests_are_checked_before_anything_starts(models):
    with pytest.raises(UserError, match="Unknown device 'coral'"):
        BenchRequest(str(models["tflite"]), "coral")
    with pytest.raises(UserError, match="count must be a whole number of at least 1"):
        BenchRequest(str(models["tflite"]), count=0)
    assert BenchRequest(str(models["tflite"]), "EDGETPU:USB:0").device == "edgetpu:usb:0"
    assert BenchRequest(str(models["ir"]), "openvino:npu").device == "openvino:NPU"
    with pytest.raises(UserError, match="needs its weights file tiny_copy.bin"):
        copy = models["ir"].with_name("tiny_copy.xml")
        copy.write_bytes(models["ir"].read_bytes())
        BenchRun(BenchRequest(str(copy), "openvino:CPU")).start()


def test_probe_of_this_computer():
    from edgewizard.core.bench.devices import discover

    found = discover()
    assert {"tflite:CPU", "openvino:CPU"} <= set(found.ready)
    status = found.status("edgetpu:usb:0")
    assert status.device == "edgetpu" and not status.ready and "Coral USB Accelerator" in status.reason
    myriad = found.status("myriad")
    assert not myriad.ready and "Intel's own OpenVINO 2022.3 download" in myriad.reason
    assert "package index's openvino 2022.3 has no plugin for the stick" in myriad.reason
    assert "Set up the NCS2 runtime" in myriad.reason and "--" not in myriad.reason  # the wizard shows it as it is
    assert json.dumps([d.__dict__ for d in found.devices])  # plain data for the GUI


def test_a_runtimes_own_error_reaches_the_person_as_the_doctors_sentence(models, tmp_path):
    """LiteRT's raw 'Didn't find op for builtin opcode' from the agent becomes one plain sentence with
    the doctor's id; the agent's words stay in the details."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(models["tflite"].read_bytes(), 0)
    for code in model.operatorCodes:
        code.version = 99  # as a converter newer than this runtime would write it
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    newer = tmp_path / "from the future.tflite"
    newer.write_bytes(bytes(builder.Output()))
    run = BenchRun(BenchRequest(str(newer), "tflite:CPU", count=5)).start()
    assert run.wait(120)
    error = run.error
    assert isinstance(error, UserError) and error.message_id == "litert.op_version"
    assert "version 99" in error.message and "\n" not in error.message and "Didn't find op" not in error.message
    assert "Didn't find op for builtin opcode" in error.details


def _isolated_probe(source: bytes, tmp_path):
    """The script alone in `python -I` (no EdgeWizard on the path, and importing it would fail) asked for a probe."""
    script = tmp_path / "agent.py"
    script.write_bytes(source)
    code = f"import sys; sys.modules['edgewizard'] = None; sys.argv[1:] = ['--probe']; " \
           f"exec(compile(open({str(script)!r}, 'rb').read(), 'agent.py', 'exec'))"
    out = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, timeout=120)
    messages = [protocol.parse(line) for line in out.stdout.splitlines()]
    assert out.returncode == 0 and [m["type"] for m in messages] == ["hello", "probe", "end"], out.stderr[-2000:]
    return {d["device"]: d for d in messages[1]["devices"]}


def test_the_assembled_agent_runs_alone_and_names_devices_as_the_catalogue_does(tmp_path):
    from edgewizard.core.devices import agent_table

    devices = _isolated_probe(agent_source(), tmp_path)
    assert devices["tflite:CPU"]["ready"] and devices["openvino:CPU"]["ready"]
    edgetpu = next(entry for entry in agent_table() if entry["device"] == "edgetpu")
    assert devices["edgetpu"]["title"] == edgetpu["title"]
    assert edgetpu["install"] in devices["edgetpu"]["reason"]  # no Edge TPU library here


def test_the_device_table_is_written_into_the_script_as_data(tmp_path):
    from edgewizard.core.bench.agent_parts.assemble import agent_source as assemble
    from edgewizard.core.errors import InternalError

    table = [{"device": "tflite:CPU", "title": "A CPU under test"},
             {"device": "edgetpu", "title": "A TPU under test", "install": "the test's own runtime",
              "usb": [{"id": "ffff:0001", "kind": "coral", "name": "A stick that is not there"}]}]
    devices = _isolated_probe(assemble(device_table=table).encode("utf-8"), tmp_path)
    assert devices["tflite:CPU"]["title"] == "A CPU under test" and devices["edgetpu"]["title"] == "A TPU under test"
    assert devices["edgetpu"]["reason"].endswith("install the test's own runtime.")
    with pytest.raises(InternalError, match="device table has an entry it cannot read"):
        assemble(device_table=[{"title": "no device name"}])


def test_each_part_is_small_and_imports_only_the_standard_library_and_its_siblings():
    import importlib
    from importlib import resources

    from edgewizard.core.bench.agent_parts import PARTS
    from edgewizard.core.bench.agent_parts.table import usb_known

    for part in PARTS:
        text = resources.files("edgewizard.core.bench.agent_parts").joinpath(part + ".py").read_text("utf-8")
        assert len(text.splitlines()) <= 250, part
        for node in ast.parse(text).body:
            if isinstance(node, ast.Import):
                assert {a.name.split(".")[0] for a in node.names} <= sys.stdlib_module_names, (part, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 1 or node.module.split(".")[0] in sys.stdlib_module_names, (part, node.lineno)
        importlib.import_module("edgewizard.core.bench.agent_parts." + part)
    assert usb_known()["18d1:9302"]["kind"] == "coral"  # in this process the parts read the catalogue's table
