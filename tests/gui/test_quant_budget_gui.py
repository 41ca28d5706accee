"""The Verify step's quantization doctor (issue 17): "Find the layers that lose accuracy" on an int8 model
hands the per-layer report to the wizard's state, and "Fit to an accuracy budget…" lists the candidates
tried, preselects the search's choice and, on "Use this one", puts its layers into the plan's keep-float
and opens the Convert step.

The model is the bundled digits CNN with one channel of conv1 scaled by 2000 and conv2's weights reading it
scaled back (tests/models/outlier.py): the same float function, an int8 model near chance. It is made in a
subprocess, so this process never imports TensorFlow."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edgewizard.core.quant.results import BudgetResult, Candidate
from edgewizard.core.samples import sample_calibration_path, sample_test_path
from edgewizard.core.verify import VerifyData
from edgewizard.gui.state import VERIFY

from .test_plain_words import problems
from .test_stale_state import choose, convert, open_model

TIMEOUT = 600_000
REPO = Path(__file__).resolve().parents[2]
TFLITE_INT8 = 3  # the TensorFlow Lite precision menu's "full int8"


@pytest.fixture(scope="module")
def outlier_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("outlier")
    subprocess.run([sys.executable, "-c", "import sys; from tests.models.outlier import make_outlier_model; "
                    "make_outlier_model(sys.argv[1])", str(folder)], check=True, cwd=REPO, capture_output=True,
                   timeout=300)
    return folder / "digits_outlier.keras"


def dialog_strings(dialog) -> list[str]:
    from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QTableWidget

    out = [dialog.windowTitle()]
    for w in dialog.findChildren(QLabel):
        out.append(w.text())
    for w in dialog.findChildren(QAbstractButton):
        out += [w.text(), w.toolTip()]
    for w in dialog.findChildren(QLineEdit):
        out.append(w.placeholderText())
    for t in dialog.findChildren(QTableWidget):
        out += [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
        out += [t.item(r, c).text() for r in range(t.rowCount()) for c in range(t.columnCount())]
        out += [t.item(r, c).toolTip() for r in range(t.rowCount()) for c in range(t.columnCount())]
    out += [dialog.target.itemText(i) for i in range(dialog.target.count())]
    return [s for s in out if s]


def a_result(target: str = "tflite-int8") -> BudgetResult:
    cands = (Candidate((), 0.11, 87.0, 60_000, 9, 9, 0.21, False, label="full int8"),
             Candidate(("conv2",), 0.52, 46.0, 70_000, 7, 9, 0.25, False, label="conv2 in float"),
             Candidate(("conv1", "conv2"), 0.975, 0.5, 90_000, 5, 9, 0.31, True, label="conv1, conv2 in float"))
    return BudgetResult(target, 0.98, 1.0, "the sample's test split", 200, cands, chosen=2, fits=True,
                        message="Keeping conv1 and conv2 in float loses 0.5 points (within 1 point).")


def test_budget_dialog_shows_a_result_and_adopts_the_chosen_candidate(qtbot, settings):
    """The dialog on its own, fed a finished search: no worker runs."""
    from edgewizard.gui.jobs_qt import JobController
    from edgewizard.gui.state import ConversionRequest, WizardState
    from edgewizard.gui.widgets.budget_dialog import MAX_DROP_KEY, BudgetDialog, Search

    state = WizardState()
    state.set_request(ConversionRequest(targets=("tflite-int8", "openvino-fp32"), output_dir="/tmp/x"))
    settings.set_value(MAX_DROP_KEY, 2.5)
    data = VerifyData.from_path(str(sample_test_path()))
    dialog = BudgetDialog(state, JobController(), settings, data, "the sample's test split")
    qtbot.addWidget(dialog)
    assert dialog.max_drop.value() == 2.5  # remembered
    assert [dialog.target.itemData(i) for i in range(dialog.target.count())] == ["tflite-int8"]
    assert dialog.use_verified.isChecked() and dialog.table.rowCount() == 0 and not dialog.use_button.isEnabled()
    dialog.max_drop.setValue(1.0)
    assert float(settings.value(MAX_DROP_KEY)) == 1.0
    adopted = []
    dialog.adopted.connect(adopted.append)
    dialog._on_done(Search(a_result(), Search.part(state.plan), data))
    assert dialog.table.rowCount() == 3
    assert [dialog.table.item(r, 6).text() for r in range(3)] == ["✗", "✗", "✓"]
    assert dialog.table.item(2, 0).text() == "conv1, conv2" and dialog.table.item(2, 4).text() == "5 of 9"
    assert dialog.table.selectionModel().selectedRows()[0].row() == 2  # the search's choice, preselected
    assert "0.5 points" in dialog.message.text() and "the search's choice" in dialog.note.text()
    assert not [p for s in dialog_strings(dialog) for p in problems(s)]
    dialog.table.selectRow(1)
    assert "conv2 in float" in dialog.note.text()
    dialog.table.selectRow(2)
    dialog.use_button.click()
    assert adopted == [("conv1", "conv2")] and not dialog.isVisible()


def test_budget_result_of_another_plan_is_not_shown(qtbot, settings):
    from edgewizard.gui.jobs_qt import JobController
    from edgewizard.gui.state import ConversionRequest, WizardState
    from edgewizard.gui.widgets.budget_dialog import BudgetDialog, Search

    state = WizardState()
    state.set_request(ConversionRequest(targets=("tflite-int8",), output_dir="/tmp/x"))
    old = Search(a_result(), Search.part(state.plan), VerifyData())
    state.set_request(ConversionRequest(targets=("tflite-int8",), output_dir="/tmp/y"))  # same files elsewhere
    dialog = BudgetDialog(state, JobController(), settings, None, "", old)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 3  # another folder: the same conversion
    state.set_request(ConversionRequest(targets=("tflite-int8", "edgetpu"), output_dir="/tmp/y"))
    dialog = BudgetDialog(state, JobController(), settings, None, "", old)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 0 and "The last search was for other choices" in dialog.message.text()
    assert dialog.use_other.isChecked() and not dialog.use_verified.isEnabled()  # nothing labelled was verified


def test_find_layers_and_fit_to_a_budget(qtbot, window, tmp_path, outlier_model):
    w = window
    open_model(qtbot, w, outlier_model)
    target = choose(w, tmp_path / "out", ("tflite",), {"tflite": TFLITE_INT8})
    target.calib_radios["array"].setChecked(True)
    target.calib_path.setText(str(sample_calibration_path()))
    convert(qtbot, w)
    assert w.go(4)
    page = w.page("Verify")
    assert not page.doctor.find_button.isEnabled()  # nothing verified yet
    page.kind_radios["path"].setChecked(True)
    page.data_path.setText(str(sample_test_path()))
    page.samples.setValue(300)
    page.verify_button.click()
    qtbot.waitUntil(lambda: not w.jobs.busy, timeout=TIMEOUT)
    report = w.state.current(VERIFY)
    assert report is not None and report.data.labelled, page.banner.text
    row = next(r for r, (a, _) in enumerate(page._rows) if a.file.endswith("_int8.tflite"))
    page.table.selectRow(row)
    assert page.doctor.find_button.isEnabled() and page.doctor.budget_button.isEnabled()
    page.doctor.find_button.click()
    qtbot.waitUntil(lambda: not w.jobs.busy, timeout=TIMEOUT)
    layers = w.state.layers()
    assert layers is not None, page.banner.text
    assert set(layers.rows[0].source_nodes) & {"conv1", "conv2"}
    assert "loses the most accuracy" in page.doctor.status.text() and page.doctor.graph_button.isEnabled()
    page.doctor.graph_button.click()
    assert w.stack.currentWidget() is w.page("Nodes")

    assert w.go(4)
    page.doctor.budget_button.click()
    dialog = page.doctor.dialog
    assert dialog is not None and dialog.use_verified.isChecked()
    dialog.max_drop.setValue(1.0)
    dialog.start_button.click()
    qtbot.waitUntil(lambda: not w.jobs.busy, timeout=TIMEOUT)
    result = dialog._search.result if dialog._search else None
    assert result is not None, dialog.message.text()
    assert result.fits and result.candidates[result.chosen].fits
    chosen = result.candidates[result.chosen]
    assert dialog.table.rowCount() == len(result.candidates)
    assert dialog.table.selectionModel().selectedRows()[0].row() == result.chosen
    assert dialog.table.item(result.chosen, 6).text() == "✓"
    dialog.use_button.click()
    assert w.state.plan.options.keep_float == tuple(sorted(chosen.keep_float))
    assert w.stack.currentWidget() is w.page("Convert")
    assert "Convert again" in w.page("Convert").banner.text
