"""Faults seen through the wizard: the worker killed mid-conversion (the page says so, lists the files of the
targets that finished, and the next conversion works), and benchmark runs whose agent dies, hangs or whose
device vanishes (a clear message, the samples kept, the other runs and the next one unharmed)."""
from __future__ import annotations

import dataclasses
import json
import os
import signal

from tests.models.bench_fault_agent import fault_agent
from tests.models.bench_models import tiny_tflite

TIMEOUT = 240_000


def test_worker_killed_mid_conversion_shows_what_was_kept_and_the_next_conversion_works(qtbot, window, tmp_path):
    w = window
    w.page("Model").use_sample.click()
    qtbot.waitUntil(lambda: w.state.model is not None, timeout=TIMEOUT)
    assert w.go(2)
    target = w.page("Target")
    for key in ("openvino", "tflite"):
        target.device_checks[key].setChecked(True)
    target.precision["tflite"].setCurrentIndex(0)  # float
    out = tmp_path / "out"
    target.output_dir.setText(str(out))
    targets = list(w.state.request.targets)
    assert len(targets) == 2
    assert w.go(3)
    page = w.page("Convert")
    killed = []

    def on_progress(fraction, message):
        if message.startswith(f"{targets[1]}:") and not killed:  # the first target is finished
            killed.append(w.jobs.runner.worker_pid)
            os.kill(killed[0], signal.SIGKILL)

    w.jobs.progress.connect(on_progress)
    with qtbot.waitSignal(w.jobs.failed, timeout=TIMEOUT):
        page.convert_button.click()
    w.jobs.progress.disconnect(on_progress)
    assert killed
    assert "worker process stopped unexpectedly (killed by SIGKILL)" in page.banner.text
    assert page.message.text().startswith("The conversion failed; the files of the targets that finished are kept")
    assert [s.text() for _, _, s in page.rows] == ["Done", "Failed"]
    listed = sorted(page.files.item(r, 0).text() for r in range(page.files.rowCount()))
    manifest = json.loads((out / "manifest.json").read_text())
    assert [a["target"] for a in manifest["artifacts"]] == targets[:1]
    assert listed == sorted(f["name"] for f in manifest["artifacts"][0]["files"]) and listed
    assert sorted(p.name for p in out.iterdir()) == sorted(listed + ["manifest.json"])  # nothing partial
    assert w.state.why_not("Benchmark") is None and w.state.why_not("Verify") is None  # the kept files go on
    bench = w.page("Benchmark")
    kept_model = next(n for n in listed if n.endswith((".xml", ".tflite")))
    assert bench.model.currentText() == kept_model  # and a device it runs on is chosen for it
    assert bench.device.currentData() == ("openvino:CPU" if kept_model.endswith(".xml") else "tflite:CPU")
    # The app lives and the next conversion works (a fresh worker), replacing nothing it should not.
    with qtbot.waitSignal(w.jobs.failed, timeout=TIMEOUT):
        page.convert_button.click()
    assert "already exist" in page.banner.text  # the kept files are not replaced without asking
    target.force.setChecked(True)
    with qtbot.waitSignal(w.jobs.finished, timeout=TIMEOUT):
        page.convert_button.click()
    assert [a.target for a in w.state.manifest.artifacts] == targets
    assert [s.text() for _, _, s in page.rows] == ["Done", "Done"]


def test_benchmark_runs_whose_agent_dies_or_device_vanishes_keep_their_samples(qtbot, window, tmp_path, monkeypatch):
    w = window
    w.page("Target").output_dir.setText(str(tmp_path))  # where the page saves each run for the report
    page = w.page("Benchmark")
    model = tiny_tflite(tmp_path / "tiny.tflite")
    page.model.addItem(model.name, str(model))
    page.model.setCurrentIndex(page.model.findText(model.name))
    page.device.setCurrentIndex(page.device.findData("tflite:CPU"))
    page.warmup.setValue(0)
    real_request = page.request
    fault = {"agent": None, "idle": None}

    def request():  # fault injection (a test double of the agent), or the real agent when None
        req = real_request()
        if fault["idle"]:
            req = dataclasses.replace(req, idle_timeout_s=fault["idle"])
        return dataclasses.replace(req, agent_source=fault["agent"]) if fault["agent"] else req

    monkeypatch.setattr(page, "request", request)

    def run(count):
        page.count.setValue(count)
        page.start_button.click()
        qtbot.waitUntil(lambda: page.active is None, timeout=TIMEOUT)
        return page.runs[-1]

    first = run(100)
    assert first.result.status == "finished" and first.n == 100 and page.banner.text == ""
    fault["agent"] = fault_agent("exit", after=300)  # the agent process dies mid-run
    died = run(100_000)
    assert died.result.status == "failed" and 0 < died.n <= 300 and died.result.count == died.n
    assert "stopped unexpectedly (exit code 9)" in page.banner.text and "kept" in page.banner.text
    assert page.banner.text.count("kept") == 1
    fault["agent"] = fault_agent("raise", after=300)  # the device is unplugged: its runtime raises
    vanished = run(100_000)
    assert vanished.result.status == "failed" and vanished.n == 300
    assert "device unplugged" in page.banner.text and "300" in page.banner.text
    fault["agent"], fault["idle"] = fault_agent("hang", after=200), 1.0  # the agent stops answering
    hung = run(100_000)
    assert hung.result.status == "failed" and 0 < hung.n <= 200
    assert "sent nothing for 1 s while measuring" in page.banner.text
    fault["agent"], fault["idle"] = None, None
    again = run(50)
    assert again.result.status == "finished" and again.n == 50
    # Every run stays on the page and in the folder, the failed ones with what they measured.
    assert page.table.rowCount() == 5 and first.n == 100
    statuses = [page.table.item(r, page.table.columnCount() - 1).text() for r in range(5)]
    # the failed runs say so, each with its own short reason; the finished ones do not
    assert all(s.startswith("failed: ") for s in statuses[1:4]) and len(set(statuses[1:4])) > 1
    assert statuses[0] == statuses[4] == "finished"
    for number, n in ((2, died.n), (3, 300), (4, hung.n)):
        rows = (tmp_path / f"bench-{number}.csv").read_text().splitlines()
        assert sum(1 for r in rows if ",run," in r) == n
