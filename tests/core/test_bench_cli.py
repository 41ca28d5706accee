"""`edgewizard bench` as a person runs it: the JSON summary, CSV of samples, the live line on a
terminal, and exit 3 with one sentence when the device is missing."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgewizard.core.bench.devices import discover
from edgewizard.core.samples import sample_model_path
from tests.models.bench_models import tiny_ir, tiny_tflite

EXE = str(Path(sys.executable).with_name("edgewizard"))
REQUIRED = {"device", "runtime", "count", "first_ms", "mean_ms", "median_ms", "p90_ms", "p99_ms", "min_ms", "max_ms", "throughput_fps"}


def ew(*args, **kw):
    return subprocess.run([EXE, "bench", *map(str, args)], capture_output=True, text=True, timeout=300, **kw)


def one_sentence_error(result, code) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("edgewizard: ") and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench models")
    return {"tflite": tiny_tflite(folder / "tiny.tflite"), "ir": tiny_ir(folder / "tiny.xml")}


@pytest.fixture(scope="module")
def here():
    return discover()


def test_json_summary_and_csv(models, tmp_path):
    out = tmp_path / "samples.csv"
    r = ew(models["tflite"], "--device", "tflite:CPU", "-n", 200, "--warmup", 3, "--threads", 1, "--json", "--csv", out)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert REQUIRED <= set(d) and d["count"] == 200 and d["device"] == "tflite:CPU" and d["status"] == "finished"
    assert d["min_ms"] <= d["median_ms"] <= d["p90_ms"] <= d["p99_ms"] <= d["max_ms"] and d["threads"] == 1
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(rows) == 203 and [r["phase"] for r in rows[:4]] == ["warmup"] * 3 + ["run"]
    assert float(rows[-1]["latency_ms"]) > 0


def test_openvino_model_defaults_to_openvino_cpu_and_prints_a_summary(models):
    r = ew(models["ir"], "-n", 100)
    assert r.returncode == 0, r.stderr
    assert "Device:      openvino:CPU" in r.stdout and "Runs:        100 in" in r.stdout and "Latency ms:  mean" in r.stdout


def test_live_line_on_a_terminal(models):
    master, slave = os.openpty()
    try:
        p = subprocess.run([EXE, "bench", str(models["tflite"]), "--seconds", "1.2"], stdout=subprocess.PIPE,
                           stderr=slave, timeout=120)
        os.close(slave)
        slave = None
        live = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            live += chunk
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)
    assert p.returncode == 0
    assert b"\r" in live and b" runs " in live and b"/s | ms mean " in live and b" p99 " in live


def test_edgetpu_without_a_device_is_exit_3_with_what_to_do(models, here):
    if here.status("edgetpu").ready:
        pytest.skip("an Edge TPU is attached here")
    line = one_sentence_error(ew(models["tflite"], "--device", "edgetpu:usb:0"), 3)
    assert line == f"edgewizard: {here.status('edgetpu').reason}"
    assert "Coral USB Accelerator" in line or "libedgetpu" in line


def test_myriad_without_a_stick_is_exit_3_before_any_conversion(models, here):
    if here.status("myriad").ready:
        pytest.skip("a Neural Compute Stick 2 with OpenVINO 2022.3 is usable here")
    line = one_sentence_error(ew("--device", "myriad"), 3)  # no MODEL: refused before converting the sample
    assert "Neural Compute Stick 2" in line and "Intel's own OpenVINO 2022.3 download" in line
    assert line.endswith("makes the environment (--runtime-python PATH runs the benchmark under that Python).")
    assert one_sentence_error(ew(models["ir"], "--device", "myriad"), 3) == line


def test_wrong_model_kind_is_exit_2(models):
    line = one_sentence_error(ew(sample_model_path(), "--device", "tflite:CPU"), 2)
    assert "tflite:CPU runs .tflite models, and digits_cnn.keras is not one" in line
    assert "edgewizard convert digits_cnn.keras -t tflite-float" in line
    line = one_sentence_error(ew(models["tflite"], "-n", 0), 2)
    assert "count must be a whole number of at least 1" in line


@pytest.mark.slow
def test_without_a_model_the_sample_is_converted_first():
    r = ew("--seconds", "0.5", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["model"] == "digits_cnn_float.tflite" and d["count"] > 0 and d["device"] == "tflite:CPU"


def test_probe_lists_devices_as_json():
    r = ew("--probe", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert "tflite:CPU" in d["ready"] and any("Coral" in m for m in d["missing"])


@pytest.mark.parametrize("name, device", [("m_int8_edgetpu.tflite", "edgetpu"), ("M_EDGETPU.TFLITE", "edgetpu"),
                                          ("m_fp16.xml", "openvino:CPU"), ("m.onnx", "openvino:CPU"),
                                          ("m_int8.tflite", "tflite:CPU"), ("", "tflite:CPU")])
def test_the_default_device_follows_the_model_file(name, device):
    from edgewizard.core.bench.runner import default_device

    assert default_device(name) == device
