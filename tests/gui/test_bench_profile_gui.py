"""The Benchmark step's time per op (issue 18): "Profile each op" is asked for and remembered; a profiled run's
ops are listed slowest first with their share, by op type on demand; two profiled runs are compared op by op;
"Show on the graph" hands the profile, named by the original model's layers, to the Nodes step; a run that was
not profiled lists nothing.

The real test converts the bundled sample (digits CNN) to a float .tflite and an OpenVINO FP32 .xml in the
worker and profiles them for real on LiteRT's and OpenVINO's CPU. The table test builds a Profile (the plain
data a run carries) to check the words and sums without running anything."""
from __future__ import annotations

import pytest

from edgewizard.core.bench.profile import Profile, make_profile, with_sources
from edgewizard.gui.state import STEPS
from edgewizard.gui.widgets.bench_choices import PROFILE_KEY
from edgewizard.gui.widgets.op_profile import OpProfileView, compare_rows

from .test_plain_words import offending
from .test_stale_state import choose, convert, open_model

TIMEOUT = 240_000


def percent(cells) -> float:
    return sum(float(c.rstrip("%")) for c in cells)


class Held:
    """A finished run as the view reads it: number, label, request and result (the page's Run has more)."""

    def __init__(self, number, profile, profiled=True):
        from types import SimpleNamespace

        self.number, self.label = number, f"#{number} m.tflite on TFLite CPU"
        self.bench = SimpleNamespace(request=SimpleNamespace(profile=profiled), done=True)
        self.result = SimpleNamespace(profile=profile)


def test_the_table_reads_in_plain_units_and_compares_by_layer(qtbot):
    a = with_sources(make_profile("LiteRT op profiling", 50, [("conv/Relu", "CONV_2D", 0.6, "float32"),
                                                              ("dense/MatMul", "FULLY_CONNECTED", 0.3, "float32"),
                                                              ("conv2/Relu", "CONV_2D", 0.1, "float32")]),
                     {"conv/Relu": ("conv",), "dense/MatMul": ("dense",), "conv2/Relu": ("conv2", "relu2")})
    b = with_sources(make_profile("OpenVINO performance counters", 50, [("conv_1", "Convolution", 0.2, "FP32"),
                                                                        ("conv_1/add", "Add", 0.1, "FP32"),
                                                                        ("dense_1", "MatMul", 0.3, "FP32"),
                                                                        ("conv2_1", "Convolution", 0.05, "FP32"),
                                                                        ("reshape", "Reshape", 0.01, "FP32")]),
                     {"conv_1": ("conv",), "conv_1/add": ("conv",), "dense_1": ("dense",), "conv2_1": ("conv2",)})
    view = OpProfileView()
    qtbot.addWidget(view)
    one, two, plain_run = Held(1, a), Held(2, b), Held(3, None, profiled=False)
    view.set_runs([one, two, plain_run])
    view.show_run(one)
    assert view.column("Layer") == ["conv", "dense", "conv2, relu2"]  # the original layers, slowest first
    assert view.column("Time") == ["600", "300", "100"] and "(µs)" in view.table.horizontalHeaderItem(2).text()
    assert percent(view.column("Share")) == pytest.approx(100, abs=0.2)
    view.grouped.setChecked(True)
    assert view.column("Op type") == ["CONV_2D", "FULLY_CONNECTED"] and view.column("Ops") == ["2", "1"]
    view.grouped.setChecked(False)
    # Compared with the OpenVINO run: matched by the original layer (OpenVINO's two conv ops summed; its conv2
    # matches LiteRT's conv2+relu2), what only one run has said with a dash.
    view.compare.setCurrentIndex(view.compare.findData(2))
    assert view.column("Layer") == ["conv", "dense", "conv2, relu2", "reshape"]
    assert view.column("#2") == ["300", "300", "50.0", "10.0"] and view.column("#1 (") == ["600", "300", "100", "—"]
    assert view.column("#2 ÷ #1") == ["0.500×", "1.00×", "0.500×", "—"]
    rows = compare_rows(a, b, grouped=True)
    # By op type: each runtime's name for the same kind of op in one row.
    assert [r[0] for r in rows] == ["CONV_2D / Convolution", "FULLY_CONNECTED / MatMul", "Add", "Reshape"]
    assert [(r[2], r[3]) for r in rows][:2] == [(pytest.approx(0.7), pytest.approx(0.25)), (0.3, 0.3)]
    # A run that was not profiled: no table, and words on how to get one.
    view.show_run(plain_run)
    assert not view.table.isVisibleTo(view) and "was not profiled" in view.note.text()
    assert not view.graph.isEnabled()
    # A device with no per-op time: its note in plain words, no table.
    none = Profile(source="", runs=0, available=False, note="The Edge TPU runs the whole model as one block.")
    view.show_run(Held(4, none))
    assert "one block" in view.note.text() and not view.table.isVisibleTo(view)


def run_profiled(qtbot, page, device, name_end):
    page.device.setCurrentIndex(page.device.findData(device))
    names = [page.model.itemText(i) for i in range(page.model.count())]
    page.model.setCurrentIndex(page.model.findText(next(n for n in names if n.endswith(name_end))))
    assert page.device.currentData() == device
    page.count.setValue(40)
    page.warmup.setValue(2)
    page.start_button.click()
    assert page.active is not None, page.banner.text
    qtbot.waitUntil(lambda: page.active is None, timeout=TIMEOUT)
    run = page.runs[-1]
    assert run.result.status == "finished", run.reason
    return run


def test_profiled_runs_list_compare_and_reach_the_graph(qtbot, window, settings, tmp_path):
    w = window
    open_model(qtbot, w)
    choose(w, tmp_path / "out", ("tflite", "openvino"))
    w.page("Target").precision["tflite"].setCurrentIndex(0)  # float
    convert(qtbot, w)
    assert w.go(STEPS.index("Benchmark"))
    page = w.page("Benchmark")
    # Not asked for: the run lists no ops, and says how to ask.
    page.choices.profile.setChecked(False)
    plain_run = run_profiled(qtbot, page, "tflite:CPU", "_float.tflite")
    assert plain_run.result.profile is None
    assert not page.ops.table.isVisibleTo(page.ops) and "was not profiled" in page.ops.note.text()
    # Asked for (and remembered): the ops of each file, slowest first, their shares adding up.
    page.choices.profile.setChecked(True)
    assert str(settings.value(PROFILE_KEY)).lower() in ("true", "1")
    assert page.choices.request().profile
    lite = run_profiled(qtbot, page, "tflite:CPU", "_float.tflite")
    assert page.tabs.currentWidget() is page.ops and page.ops.run is lite
    profile = lite.result.profile
    assert profile is not None and profile.available and profile.ops, page.ops.note.text()
    ops = page.ops
    assert ops.table.isVisibleTo(ops) and ops.table.rowCount() == len(profile.ops)
    assert percent(ops.column("Share")) == pytest.approx(100, abs=1)
    assert "add up to" in ops.note.text()
    tips = [page.table.item(r, 0).toolTip() for r in range(page.table.rowCount())]
    assert "Each op was timed" in tips[1] and "Each op was timed" not in tips[0]  # the runs table says which
    qtbot.waitUntil(lambda: page._mapping is None, timeout=TIMEOUT)  # the original layers named in the worker
    assert any(o.source_nodes for o in lite.result.profile.ops)
    assert {"conv1", "dense"} & set(ops.column("Layer")), ops.column("Layer")
    ops.grouped.setChecked(True)
    types = ops.column("Op type")
    assert "CONV_2D" in types and len(types) == len(set(types)) == len(profile.by_type())
    assert sum(int(n) for n in ops.column("Ops")) == len(profile.ops)
    ops.grouped.setChecked(False)
    vino = run_profiled(qtbot, page, "openvino:CPU", "_fp32.xml")
    assert vino.result.profile is not None and vino.result.profile.ops
    qtbot.waitUntil(lambda: page._mapping is None, timeout=TIMEOUT)
    # Compared: OpenVINO's run beside LiteRT's, per original layer and per op type.
    ops.compare.setCurrentIndex(ops.compare.findData(lite.number))
    here, there = ops.column(f"#{vino.number} ("), ops.column(f"#{lite.number} (")
    assert any(a != "—" and b != "—" for a, b in zip(here, there))  # matched layers have both times
    assert any(r.endswith("×") for r in ops.column(f"#{lite.number} ÷"))
    ops.grouped.setChecked(True)
    conv = ops.column("Op type").index("Convolution / CONV_2D")  # the two runtimes' names for it, side by side
    assert ops.column(f"#{vino.number} (")[conv] != "—" and ops.column(f"#{lite.number} (")[conv] != "—"
    ops.grouped.setChecked(False)
    assert offending(page) == []  # the profiles' notes, headers and cells in plain words
    ops.compare.setCurrentIndex(0)
    # On the graph: the state holds the profile with the original layers, and the Nodes step opens.
    ops.graph.click()
    qtbot.waitUntil(lambda: w.state.profile() is not None, timeout=TIMEOUT)
    label, shown = w.state.profile()
    assert label == vino.label and any(o.source_nodes for o in shown.ops) and shown.heat()
    assert w.stack.currentIndex() == STEPS.index("Nodes")
    # A profile of a file that is not one of the current conversion's is not handed out.
    with qtbot.waitSignal(w.state.profileChanged):
        w.state.set_profile("#9 elsewhere.tflite", shown, "0" * 64)
    assert w.state.profile() is None
