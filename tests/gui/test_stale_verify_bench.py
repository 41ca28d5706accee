"""Verify and Benchmark show only what belongs to the model on screen (issue 15), and the Benchmark step
finds devices while the worker is busy.

Model A is the bundled sample (digits CNN, 32x32x1, .keras); model B a 64x64x1 classifier made in a
subprocess, so this process never imports TensorFlow. Both convert to OpenVINO fp32 only (the quickest)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edgewizard.core.samples import sample_model_path
from edgewizard.gui.pages.bench_page import TABLE
from edgewizard.gui.state import VERIFY

from .test_stale_state import choose, convert, open_model

TIMEOUT = 240_000
A_NAME = Path(sample_model_path()).name
B_MAKER = """
import sys, warnings
import keras
from keras import layers
model = keras.Sequential([keras.Input((64, 64, 1), name="pixels"), layers.Conv2D(4, 3, strides=2, activation="relu"),
                          layers.GlobalAveragePooling2D(), layers.Dense(5, activation="softmax", name="classes")])
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model.save(sys.argv[1])
"""


@pytest.fixture(scope="module")
def model_b(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model_b") / "classifier64.keras"
    subprocess.run([sys.executable, "-c", B_MAKER, str(path)], check=True, capture_output=True, timeout=300)
    return path


def verify(qtbot, w):
    assert w.go(4)
    page = w.page("Verify")
    page.verify_button.click()
    assert w.jobs.busy  # started
    qtbot.waitUntil(lambda: not w.jobs.busy, timeout=TIMEOUT)
    assert w.state.current(VERIFY) is not None, page.banner.text
    return page


def detail_of(page) -> tuple:
    """What the detail area shows: the verdict text, the histogram's bar heights, the thumbnails' tips."""
    bars = [list(i.opts["height"]) for i in page.plot.getPlotItem().items] if page.plot is not None else []
    return page.flags.text(), bars, [page.worst.item(i).toolTip() for i in range(page.worst.count())]


def expected_detail(a, o) -> tuple:
    """The same, computed from one row of a report."""
    text = "<p>No problems found for this file.</p>" if not a.flags and a.status != "skipped" else None
    bars = [list(o.histogram.counts)] if o is not None and o.histogram and o.histogram.counts else []
    return text, bars, [f"sample {s.index}: mean |error| {s.error:.4g}" for s in (o.worst if o else [])]


def test_verify_shows_only_the_open_models_results(qtbot, window, tmp_path, model_b, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: True)  # no browser in tests
    w = window
    open_model(qtbot, w)
    choose(w, tmp_path / "a", ("openvino",))
    convert(qtbot, w)
    page = verify(qtbot, w)
    a_files = {page.table.item(r, 0).text() for r in range(page.table.rowCount())}
    assert a_files and page.worst.count() > 0
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda parent, caption, start, filters: (start, filters))
    page.save_report.click()
    assert page.report_bar.text.startswith("Report saved")
    # Model B opened: nothing of A's verification is shown, not even its "Report saved".
    open_model(qtbot, w, model_b)
    assert w.state.current(VERIFY) is None and page.report is None
    assert page.table.rowCount() == 0 and detail_of(page) == ("", [], [])
    assert page.report_bar.text == "" and page.banner.text == "" and not page.save_report.isEnabled()
    assert f"for a different model ({A_NAME})" in page.message.text()
    # B converted and verified: only B's rows, and the detail is that of the selected row of B's report.
    choose(w, tmp_path / "b", ("openvino",))
    convert(qtbot, w)
    assert page.table.rowCount() == 0 and "for a different model" not in page.message.text()
    page = verify(qtbot, w)
    check_rows(page, w.state.current(VERIFY), a_files)
    # Verified again on other data: the row selected before stays selected, and its detail is the new one's.
    first = w.state.current(VERIFY)
    page.samples.setValue(50)
    page = verify(qtbot, w)
    assert w.state.current(VERIFY) is not first
    check_rows(page, w.state.current(VERIFY), a_files)
    assert page.banner.text == ""


def check_rows(page, report, other_files):
    """The table lists `report`'s files only, and the detail area is always the selected row's: first as
    the table was filled, then row by row."""
    rows = [(a, o) for a in report.artifacts for o in (a.outputs or [None])]
    names = [page.table.item(r, 0).text() for r in range(page.table.rowCount())]
    assert names == [a.file for a, _ in rows] and not set(names) & other_files
    assert all(n.startswith("classifier64") for n in names)

    def shows(r):
        text, bars, tips = detail_of(page)
        a, o = rows[r]
        want_text, want_bars, want_tips = expected_detail(a, o)
        assert (bars, tips) == (want_bars, want_tips)
        assert text.startswith(want_text) if want_text else all(f.message in text for f in a.flags)
        assert tips  # a 64x64x1 input has thumbnails: B's, not A's

    (selected,) = page.table.selectionModel().selectedRows()
    shows(selected.row())
    for r in range(len(rows)):
        page.table.selectRow(r)
        shows(r)


def test_benchmark_runs_of_an_earlier_model_are_labelled_and_greyed(qtbot, window, tmp_path, model_b):
    w = window
    column = {name: c for c, name in enumerate(TABLE)}
    open_model(qtbot, w)
    choose(w, tmp_path / "a", ("openvino",))
    convert(qtbot, w)
    assert w.go(5)
    page = w.page("Benchmark")
    a_files = [page.model.itemText(i) for i in range(page.model.count())]
    assert a_files and all(n.startswith("digits_cnn") for n in a_files)

    def run_once():
        page.device.setCurrentIndex(page.device.findData("openvino:CPU"))
        page.count.setValue(20)
        page.warmup.setValue(0)
        page.start_button.click()
        qtbot.waitUntil(lambda: page.active is None, timeout=TIMEOUT)
        return page.runs[-1]

    first = run_once()
    measured = Path(first.bench.request.model).name
    entry = next(f for a in w.state.manifest.artifacts for f in a.files if f.name == measured)
    assert first.sha256 == entry.sha256 and first.key and first.source_name == A_NAME
    assert first.earlier == "" and page.table.item(0, column["Model"]).text() == measured
    # Model B opened: A's files leave the list; A's run stays, labelled with what it measured, greyed.
    open_model(qtbot, w, model_b)
    assert page.model.count() == 0
    cell = page.table.item(0, column["Model"])
    assert cell.text() == f"{measured} (earlier model: {A_NAME})"
    assert cell.foreground().color().name() == "#8a8a8a" and first.curve.opacity() < 1
    assert A_NAME in page.baseline.itemText(0)
    # B converted: only B's files are offered; B's run is current, A's still marked.
    choose(w, tmp_path / "b", ("openvino",))
    convert(qtbot, w)
    assert w.go(5)
    b_files = [page.model.itemText(i) for i in range(page.model.count())]
    assert b_files and all(n.startswith("classifier64") for n in b_files)
    second = run_once()
    assert second.source_name == model_b.name and second.key != first.key and second.earlier == ""
    assert page.table.item(1, column["Model"]).text() == Path(second.bench.request.model).name
    assert page.table.item(0, column["Model"]).text().endswith(f"(earlier model: {A_NAME})")


def test_devices_are_found_while_the_worker_is_busy(qtbot, window):
    w = window
    busy = w.jobs.start("tests.core.fault_jobs:fault_sleep_forever")  # a step that holds the worker
    page = w.page("Benchmark")
    page.on_enter()
    qtbot.waitUntil(lambda: "Ready here" in page.devices_label.text(), timeout=TIMEOUT)
    assert busy.running and w.jobs.busy  # found beside the running step, not after it
    with qtbot.waitSignal(busy.ended, timeout=TIMEOUT):
        busy.cancel()
    assert busy.cancelled


def test_a_light_call_finishing_is_not_announced_as_a_step(qtbot, window):
    """Device discovery (a call() next to the worker) ending must not look like the step a page or a test
    waits for on the controller's finished/failed signals."""
    seen = []
    window.jobs.started.connect(lambda job: seen.append(("started", job.func)))
    window.jobs.finished.connect(lambda job: seen.append(("finished", job.func)))
    window.jobs.failed.connect(lambda job: seen.append(("failed", job.func)))
    job = window.jobs.call(sorted, [3, 1, 2])
    with qtbot.waitSignal(job.done, timeout=10000) as got:
        pass
    assert got.args == [[1, 2, 3]] and not job.worker
    failing = window.jobs.call(int, "not a number")
    with qtbot.waitSignal(failing.ended, timeout=10000):
        pass
    assert failing.error is not None and seen == []
