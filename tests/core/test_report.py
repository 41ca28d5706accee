"""The HTML report: made from an output folder's results, self-contained, and drawn by a real
browser (Debian's Chromium, headless) without any request leaving the page."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgewizard.core.calibrate import CalibrationSpec
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.convert.run import convert
from edgewizard.core.errors import UserError
from edgewizard.core.manifest import read_manifest
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.report import REPORT_FILE, render_report, write_report
from edgewizard.core.samples import sample_calibration_path, sample_model_path, sample_test_path
from edgewizard.core.verify import VerifyData, save, verify

CHROMIUM = Path("/usr/bin/chromium")
EXE = str(Path(sys.executable).with_name("edgewizard"))


def bench_run(model, device, runtime, median, n=300, seed=0, host="this computer", precision=None):
    """A result in the format of `edgewizard bench --json` (BenchResult.to_dict()), with its latencies:
    test data for the page, not a measurement."""
    rng = np.random.default_rng(seed)
    lat = (median * (1 + 0.05 * rng.standard_normal(n))).clip(median * 0.8).tolist()
    s = sorted(lat)
    return {"device": device, "runtime": runtime, "count": n, "first_ms": median * 4, "mean_ms": float(np.mean(lat)),
            "median_ms": s[n // 2], "p90_ms": s[int(n * 0.9)], "p99_ms": s[int(n * 0.99)], "min_ms": s[0], "max_ms": s[-1],
            "stdev_ms": float(np.std(lat)), "throughput_fps": 1000 / float(np.mean(lat)), "elapsed_s": 1.0, "warmup_count": 5,
            "load_ms": 3.0, "threads": 2, "model": model, "host": host, "status": "finished", "error": None,
            "device_name": device, "notes": [], "latencies_ms": lat, "precision": precision,
            "default_precision": precision, "precision_requested": None}


def verdict(i, name, op, where, reason=""):
    return {"index": i, "name": name, "op": op, "where": where, "reason": reason, "source_nodes": [name], "rule": "", "confirmed": True}


# What `edgewizard validate --json` prints (ValidationReport.to_dict() per device): test data.
VALIDATION = {"model": "digits_cnn.keras", "reports": [
    {"device": "edgetpu", "title": "Coral Edge TPU", "status": "checked", "source_of_truth": "table",
     "judged": "full-integer TFLite (uint8 in/out)",
     "nodes": [verdict(i, f"conv{i}", "CONV_2D", "device") for i in range(9)]
     + [verdict(9, "dense_1", "FULLY_CONNECTED", "unsupported", "FULLY_CONNECTED with a 2-D output is not an Edge TPU op here"),
        verdict(10, "probabilities", "SOFTMAX", "cpu", "after the partition point")],
     "partition_index": 9, "memory": {"parameter_bytes": 31000, "cache_bytes": 8388608, "source": "table",
                                      "off_chip_bytes": None, "fits": True},
     "suggestions": [{"kind": "cut_tail", "text": "Cut before dense_1 and run the tail on the CPU.", "nodes": [], "outputs": []}],
     "notes": [], "disagreements": [], "reason": "", "seconds": 0.4, "short": "Edge TPU",
     "totals": {"device": 9, "cpu": 1, "unsupported": 1, "total": 11},
     "partition_point": {"index": 9, "name": "dense_1", "op": "FULLY_CONNECTED", "source_node": "dense_1"},
     "summary": "9 of 11 ops on the Edge TPU; 1 the Edge TPU cannot run; 1 after the partition point run on the CPU"},
    {"device": "openvino:NPU", "title": "Intel NPU", "status": "not_checked", "source_of_truth": "none", "nodes": [],
     "reason": "No Intel NPU is present and no table documents it; plug it in to check.", "summary": "Intel NPU: No Intel NPU is present"},
]}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "<b>out</b> 出力"
    calib = CalibrationSpec(sources=((None, str(sample_calibration_path())),))
    convert(str(sample_model_path()), LoadOptions(), Selection(), ["tflite-float", "tflite-int8", "openvino-fp16"], str(out),
            ConvertOptions(calibration=calib))
    files = [str(out / n) for n in ("digits_cnn_float.tflite", "digits_cnn_int8.tflite", "digits_cnn_fp16.xml")]
    save(verify(str(sample_model_path()), LoadOptions(), Selection(), files, VerifyData.from_path(str(sample_test_path()))), out)
    (out / "bench.json").write_text(json.dumps({"runs": [
        bench_run("digits_cnn_float.tflite", "tflite:CPU", "litert", 0.12),
        bench_run("digits_cnn_fp16.xml", "openvino:CPU", "openvino", 0.05, seed=1, precision="bf16"),
    ]}))
    single = bench_run("digits_cnn_int8.tflite", "tflite:CPU", "litert", 0.08, seed=2, host="pi@raspberrypi")
    csv_lat = single.pop("latencies_ms")
    (out / "bench-int8.json").write_text(json.dumps(single))
    warmup = "".join(f"{i},warmup,{50 + i}\n" for i in range(5))  # slow first runs that must not be plotted
    (out / "bench-int8.csv").write_text("index,phase,latency_ms\n" + warmup + "".join(f"{i},run,{v}\n" for i, v in enumerate(csv_lat)))
    (out / "validation.json").write_text(json.dumps(VALIDATION))
    return out


@pytest.fixture(scope="module")
def html(folder):
    return write_report(folder).read_text(encoding="utf-8")


def test_every_section_with_its_figures(folder, html):
    for heading in ("Source model", "The cut", "Device validation", "Converted models", "Verification", "Benchmarks"):
        assert f"<h2>{heading}</h2>" in html
    for a in read_manifest(folder).artifacts:
        assert f"<b>{a.target}</b>" in html
        for f in a.files:
            assert f"<code>{f.name}</code>" in html
    saved = json.loads((folder / "verify.json").read_text())
    for a in saved["artifacts"]:
        o = a["outputs"][0]
        assert f"{100 * o['top1_agreement']:.1f}%" in html and f"{100 * o['accuracy_artifact']:.2f}%" in html
    assert html.count('<svg class="chart"') == 2 + 3 + 2 + 1  # agreement, accuracy, 3 histograms, latency ranges, trace, sizes
    assert "Accuracy of the original model on these labelled inputs: <b>98.06%</b>" in html
    runs = [json.loads((folder / "bench-int8.json").read_text())] + json.loads((folder / "bench.json").read_text())["runs"]
    # What each run computed in: OpenVINO says (here its CPU default, bf16); LiteRT runs the model as converted.
    assert re.findall(r"<td>(bf16 \(device default\)|as converted)</td>", html) == ["as converted", "as converted",
                                                                                       "bf16 (device default)"]
    speedups = re.findall(r"([0-9.]+)×</td>", html)
    assert speedups == [f"{runs[0]['median_ms'] / r['median_ms']:.2f}" for r in runs]  # relative to the first run
    assert "<b>9 of 11 ops on the Edge TPU; 1 the Edge TPU cannot run; 1 after the partition point run on the CPU</b>" in html
    assert "node 9: <code>dense_1</code> (FULLY_CONNECTED)" in html and "30.3 KB of 8.0 MB on-chip cache (fits)" in html
    assert "Cut before dense_1 and run the tail on the CPU." in html and "No Intel NPU is present" in html
    assert "device: <b>9</b> · unsupported: <b>1</b> · cpu: <b>1</b> (of 11 ops)" in html
    assert "is not an Edge TPU op here" in html and "conv3" not in html  # only what is not on the device is listed
    assert "digits_cnn_int8.tflite on tflite:CPU (pi@raspberrypi)" in html and "digits_cnn_float.tflite on tflite:CPU<" in html
    from edgewizard.core.report import collect

    int8_run = next(b for b in collect(folder).benches if b["_file"] == "bench-int8.json")
    assert len(int8_run["latencies_ms"]) == 300 and max(int8_run["latencies_ms"]) < 1  # warm-up rows skipped
    assert len(re.findall(r'<img alt="sample \d+" src="data:image/png;base64,', html)) >= 8  # int8's worst samples


def test_self_contained_and_escaped(folder, html):
    assert "http://" not in html and "https://" not in html
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html, flags=re.I) + re.findall(r"url\(([^)]*)\)", html)
    assert refs and all(r.startswith("data:") for r in refs), [r for r in refs if not r.startswith("data:")][:3]
    assert "<script" not in html.lower() and "@import" not in html
    assert "Content-Security-Policy\" content=\"default-src 'none'" in html
    assert "&lt;b&gt;out&lt;/b&gt; 出力" in html and "<b>out</b>" not in html


def test_unreadable_results_are_noted_not_fatal(tmp_path, folder):
    import shutil

    shutil.copy(folder / "manifest.json", tmp_path / "manifest.json")
    (tmp_path / "bench-broken.json").write_text("{not json")
    (tmp_path / "validation-x.json").write_text('"a string"')
    html = render_report(tmp_path)
    assert "bench-broken.json could not be read" in html and "validation-x.json does not hold the expected JSON object" in html
    # The report is made from the wizard too: it says what to do in words for both, naming no command.
    assert "Not verified yet: verify the converted models (in the wizard: the Verify step)" in html
    assert "edgewizard verify" not in html


def test_nothing_to_report_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="holds no manifest.json or verify.json"):
        write_report(tmp_path)
    with pytest.raises(UserError, match="is not a folder") as err:
        write_report(tmp_path / "nope")
    assert err.value.message.endswith("give the folder the converted models were saved in.")
    assert "edgewizard" not in err.value.message and "-o" in err.value.cli_hint  # the option: command line only
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_atomically_where_asked(folder, tmp_path):
    target = tmp_path / "rapport 報告.html"
    r = subprocess.run([EXE, "report", str(folder), "-o", str(target), "--json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["report"] == str(target) and d["sections"] == ["source", "cut", "validation", "artifacts", "verification", "benchmarks"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no temporary file left
    assert target.read_text(encoding="utf-8") == (folder / REPORT_FILE).read_text(encoding="utf-8")
    r = subprocess.run([EXE, "report", str(tmp_path / "missing")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("edgewizard: ") and len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.rstrip().endswith("saved in (the OUTDIR given to convert -o).")


def chromium(page: Path, tmp: Path, *extra: str) -> Path:
    """Open `page` in headless Chromium with every host name unresolvable and a network log."""
    log = tmp / "net.json"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp / 'profile'}",
           "--host-resolver-rules=MAP * ~NOTFOUND", f"--log-net-log={log}", "--hide-scrollbars", *extra, page.as_uri()]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return log


def page_requests(log: Path) -> list[str]:
    """URLs the page asked for. Chromium's own background requests (updates, time, accounts) have no
    initiating origin; the page's carry its file:// origin."""
    data = json.loads(log.read_text())
    start = data["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for e in data["events"]:
        p = e.get("params") or {}
        if e["type"] == start and "url" in p and not p["url"].startswith(("file:", "data:")):
            if p.get("initiator") != "not an origin" or str(p.get("network_isolation_key", "")).startswith("file://"):
                urls.append(p["url"])
    return urls


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (packaging/system-deps.sh installs it)")
def test_chromium_draws_the_report_without_any_request(folder, tmp_path):
    from PIL import Image

    control = tmp_path / "control.html"
    control.write_text('<!doctype html><img src="http://example.invalid/x.png"><link rel="stylesheet" href="https://cdn.example.invalid/a.css">')
    (tmp_path / "c").mkdir()
    assert sorted(page_requests(chromium(control, tmp_path / "c", "--dump-dom"))) == [
        "http://example.invalid/x.png", "https://cdn.example.invalid/a.css"]  # the check sees a page's requests

    shot = tmp_path / "report.png"
    (tmp_path / "r").mkdir()
    log = chromium(folder / REPORT_FILE, tmp_path / "r", "--window-size=1100,2600", f"--screenshot={shot}")
    assert page_requests(log) == []
    pixels = np.asarray(Image.open(shot).convert("L"))
    assert pixels.shape == (2600, 1100) and pixels.std() > 20  # drawn, not blank
    dark_rows = np.where(pixels.min(axis=1) < 100)[0]
    assert dark_rows.max() > 2000  # the content runs down the whole window

    pdf = tmp_path / "report.pdf"
    (tmp_path / "p").mkdir()
    chromium(folder / REPORT_FILE, tmp_path / "p", f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 3


def test_verification_older_than_the_conversion_is_pointed_out(tmp_path, folder):
    import shutil

    shutil.copy(folder / "manifest.json", tmp_path / "manifest.json")
    saved = json.loads((folder / "verify.json").read_text())
    (tmp_path / "verify.json").write_text(json.dumps({**saved, "created": "2000-01-01T00:00:00+00:00"}))
    stale = render_report(tmp_path)
    assert "older than the last conversion into this folder; verify again for figures of the current models (in the " \
           "wizard: the Verify step)." in stale and "edgewizard verify" not in stale
    (tmp_path / "verify.json").write_text(json.dumps(saved))
    assert "older than the last conversion" not in render_report(tmp_path)
