"""The NCS2 runtime setup dialog (gui/widgets/runtime_setup.py) driven with pytest-qt on this machine's real
Pythons: verdicts listed, a too-new one refused, the advice when nothing fits, cancel leaving nothing, and
(long run) a real environment made, used and remembered."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QPushButton

from edgewizard.core.bench import runtime_env as rt
from edgewizard.gui.widgets.runtime_setup import VERDICT_WORDS, RuntimeSetupDialog, remembered_runtime

THIS_PYTHON = os.path.realpath(sys.executable)


@pytest.fixture(scope="module")
def pythons():
    return rt.survey()


@pytest.fixture(scope="module")
def py310(pythons):
    found = [i for i in pythons if i.version[:2] == (3, 10) and i.can_make_environment]
    if not found:
        pytest.skip("no Python 3.10 that can make environments on this machine")
    return found[0]


def open_dialog(qtbot, settings, **kw) -> RuntimeSetupDialog:
    dialog = RuntimeSetupDialog(settings, **kw)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.surveyed, timeout=120_000):
        dialog.show()
    return dialog


def rows(dialog) -> list[tuple[str, str, str]]:
    return [tuple(dialog.tree.topLevelItem(n).text(c) for c in range(3)) for n in range(dialog.tree.topLevelItemCount())]


def visible_text(dialog) -> str:
    widgets = [*dialog.findChildren(QLabel), *dialog.findChildren(QPushButton)]
    return "\n".join(w.text() for w in widgets if w.isVisibleTo(dialog))


def choose(qtbot, dialog, path: str) -> rt.Interpreter:
    with qtbot.waitSignal(dialog.checked, timeout=60_000) as blocker:
        dialog.choose_python(path)
    return blocker.args[0]


def test_found_pythons_are_listed_with_a_verdict_each(qtbot, settings, py310, tmp_path):
    (tmp_path / "python3").symlink_to(THIS_PYTHON)
    dialog = open_dialog(qtbot, settings, places=[Path(py310.path).parent, tmp_path], env_dir=tmp_path / "env")
    listed = rows(dialog)
    assert (f"Python {py310.version_text}", VERDICT_WORDS[rt.Verdict.SUITABLE], py310.path) in listed
    this = next(r for r in listed if os.path.realpath(r[2]) == THIS_PYTHON)
    assert this[1] == VERDICT_WORDS[rt.Verdict.TOO_NEW] and this[1].startswith("Not suitable")
    # The suitable one comes first and is selected; making the environment is offered with it, at the place shown.
    assert dialog.selected().path == py310.path
    assert dialog.create_button.isEnabled() and not dialog.use_button.isEnabled()
    assert str(tmp_path / "env") in dialog.make_text.text() and py310.path in dialog.make_text.text()
    assert "suitable" in dialog.status.text() and not dialog.advice.isVisible()
    assert "3.8, 3.9 or 3.10" in visible_text(dialog) and f"about {rt.DOWNLOAD_MB} MB" in visible_text(dialog)


def test_choosing_python_3_11_says_it_is_not_suitable(qtbot, settings, tmp_path):
    if sys.version_info[:2] != (3, 11):
        pytest.skip("the test run's own Python is not 3.11")
    dialog = open_dialog(qtbot, settings, places=[tmp_path], env_dir=tmp_path / "env")
    checked = choose(qtbot, dialog, THIS_PYTHON)
    assert checked.verdict == rt.Verdict.TOO_NEW
    assert dialog.selected().path == THIS_PYTHON
    assert dialog.status.text().startswith("Not suitable.") and "Python 3.11 is too new" in dialog.status.text()
    assert not dialog.create_button.isEnabled() and not dialog.use_button.isEnabled()


def test_with_nothing_suitable_the_advice_for_this_computer_shows(qtbot, settings, tmp_path):
    if sys.version_info[:2] <= (3, 10):
        pytest.skip("the test run's own Python is 3.10 or older, so it cannot stand in for a too-new one")
    (tmp_path / "python3.10").symlink_to(THIS_PYTHON)  # a real 3.11+ under a 3.10 name
    dialog = open_dialog(qtbot, settings, places=[tmp_path], env_dir=tmp_path / "env")
    assert len(rows(dialog)) == 1 and rows(dialog)[0][1].startswith("Not suitable")
    assert dialog.advice.isVisible() and dialog.advice.text() == rt.no_suitable_advice()
    assert "No Python 3.8, 3.9 or 3.10 was found" in dialog.advice.text()
    assert not dialog.create_button.isEnabled() and not dialog.use_button.isEnabled()
    assert "--" not in visible_text(dialog)


def test_an_empty_place_shows_the_advice_too(qtbot, settings, tmp_path):
    dialog = open_dialog(qtbot, settings, places=[tmp_path], env_dir=tmp_path / "env")
    assert rows(dialog) == [] and dialog.advice.isVisible() and "No Python was found" in dialog.status.text()


def test_cancel_while_pip_runs_leaves_nothing_and_the_dialog_usable(qtbot, settings, py310, tmp_path):
    dest = tmp_path / "runtimes" / "openvino-2022.3"
    dialog = open_dialog(qtbot, settings, places=[Path(py310.path).parent], env_dir=dest)
    pip_started = []

    def cancel_once_pip_runs(title):
        if title.startswith("Downloading and installing") and not pip_started:
            pip_started.append(title)
            qtbot.mouseClick(dialog.cancel_button, Qt.LeftButton)

    dialog.step_started.connect(cancel_once_pip_runs)
    with qtbot.waitSignal(dialog.creation_ended, timeout=120_000) as ended:
        qtbot.mouseClick(dialog.create_button, Qt.LeftButton)
        assert dialog.creating and dialog.cancel_button.isVisible() and not dialog.look_button.isEnabled()
    assert ended.args == ["cancelled"] and pip_started
    assert not dest.exists(), "the half-made environment is removed"
    assert "Nothing was left behind" in dialog.step.text()
    assert dialog.create_button.isVisible() and dialog.create_button.isEnabled() and not dialog.creating


def test_remembered_runtime_is_empty_when_none_or_gone(settings, tmp_path):
    assert remembered_runtime(settings) == ""
    settings.set_runtime_python(str(tmp_path / "gone" / "python"))
    assert remembered_runtime(settings) == ""
    settings.set_runtime_python(THIS_PYTHON)
    assert remembered_runtime(settings) == THIS_PYTHON


def test_closing_while_creating_cancels_and_removes_the_folder(qtbot, settings, py310, tmp_path):
    dest = tmp_path / "env"
    dialog = open_dialog(qtbot, settings, places=[Path(py310.path).parent], env_dir=dest)
    qtbot.mouseClick(dialog.create_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dest.exists(), timeout=60_000)
    dialog.reject()
    assert dialog.result() == QDialog.Rejected and not dialog.creating
    assert not dest.exists() and dialog.python_path == "" and settings.runtime_python() == ""


@pytest.fixture(scope="module")
def made_env(py310, tmp_path_factory):
    """A real OpenVINO 2022.3 environment from the package index (skipped when it cannot be reached)."""
    dest = tmp_path_factory.mktemp("runtimes") / "openvino-2022.3"
    try:
        return rt.create_environment(py310.path, dest)
    except rt.MissingDependency as exc:
        pytest.skip(f"the environment could not be made here: {exc.message}")


@pytest.mark.longrun
def test_accepting_an_existing_openvino_2022_3_environment_uses_and_remembers_it(qtbot, settings, made_env, tmp_path):
    dialog = open_dialog(qtbot, settings, places=[Path(made_env.path).parent], env_dir=tmp_path / "other")
    assert dialog.selected().path == made_env.path and dialog.selected().usable
    assert rows(dialog)[0][1] in (VERDICT_WORDS[rt.Verdict.READY], VERDICT_WORDS[rt.Verdict.HAS_OPENVINO])
    assert "Devices it sees now: CPU" in dialog.status.text()
    assert dialog.use_button.isEnabled()
    qtbot.mouseClick(dialog.use_button, Qt.LeftButton)
    assert dialog.result() == QDialog.Accepted and dialog.python_path == made_env.path
    assert settings.runtime_python() == made_env.path and remembered_runtime(settings) == made_env.path


@pytest.mark.longrun
def test_making_the_environment_in_the_dialog_then_using_it(qtbot, settings, py310, tmp_path):
    dest = tmp_path / "runtimes" / "openvino-2022.3"
    dialog = open_dialog(qtbot, settings, places=[Path(py310.path).parent], env_dir=dest)
    with qtbot.waitSignal(dialog.creation_ended, timeout=900_000) as ended:
        qtbot.mouseClick(dialog.create_button, Qt.LeftButton)
    if ended.args == ["failed"] and "could not be reached" in dialog.banner.text:
        pytest.skip("the package index is not reachable from this machine")
    assert ended.args == ["done"], dialog.banner.text
    assert dialog.selected().path == str(rt.env_python(dest)) and dialog.selected().usable
    assert py310.path in [r[2] for r in rows(dialog)], "the base Python stays listed beside its new environment"
    assert "Successfully installed" in dialog.log.toPlainText() and "is ready" in dialog.step.text()
    qtbot.mouseClick(dialog.use_button, Qt.LeftButton)
    assert dialog.python_path == str(rt.env_python(dest)) and remembered_runtime(settings) == dialog.python_path
