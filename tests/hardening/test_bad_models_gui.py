"""Every bad model of the corpus opened in the wizard's Model step: the error banner says one
sentence naming the file, no dialog pops up, no traceback shows, and the window stays usable (the
sample opens afterwards and the Nodes step can be entered). One window, with one warm worker, for all."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from edgewizard.core.samples import sample_model_path  # noqa: E402
from tests.hardening.corpus import IDS, bad_models  # noqa: E402,F401 (bad_models is a fixture)

TIMEOUT = 120_000


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    """The wizard as tests/conftest.py makes it (settings in a temporary file), kept for the module."""
    from PySide6.QtCore import QSettings

    from edgewizard.gui.main_window import MainWindow
    from edgewizard.gui.settings import Settings

    ini = tmp_path_factory.mktemp("gui_settings") / "settings.ini"
    w = MainWindow(settings=Settings(QSettings(str(ini), QSettings.IniFormat)), welcome=False)
    w.show()
    yield w
    w.jobs.shutdown()
    w.sink.uninstall()
    w.close()
    w.deleteLater()


def open_dialogs(qapp) -> list:
    from PySide6.QtWidgets import QDialog, QMessageBox

    return [w for w in qapp.topLevelWidgets() if isinstance(w, (QDialog, QMessageBox)) and w.isVisible()]


def open_in_model_step(qtbot, window, path, unsafe: bool = False):
    page = window.page("Model")
    page.allow_unsafe.setChecked(unsafe)
    with qtbot.waitSignal(window.jobs.busyChanged, timeout=TIMEOUT, check_params_cb=lambda busy: not busy):
        page.open_model(str(path))
    return page


@pytest.mark.parametrize("case_id", IDS)
def test_the_model_step_shows_one_sentence_and_stays_usable(case_id, bad_models, window, qtbot, qapp):
    case = bad_models[case_id]
    before = window.state.model
    page = open_in_model_step(qtbot, window, case.path)
    assert open_dialogs(qapp) == []
    assert page.open_file.isEnabled() and page.use_sample.isEnabled()
    if case.inspect_code == 0:  # a whole graph with a damaged checkpoint: the Model step shows it
        assert window.state.model is not None and window.state.model.path == str(case.path)
        return
    text = page.banner.text
    assert case.path.name in text, text
    assert case.word.lower() in text.lower(), text
    assert "\n" not in text and "Traceback" not in text and "Error:" not in text, text
    assert window.state.model is before  # the model open before (if any) is kept


def test_a_lambda_model_opens_once_unsafe_loading_is_ticked(bad_models, window, qtbot):
    page = open_in_model_step(qtbot, window, bad_models["lambda.keras"].path, unsafe=True)
    assert page.banner.text == ""
    assert window.state.model.path == str(bad_models["lambda.keras"].path)
    page.allow_unsafe.setChecked(False)


def test_after_the_whole_corpus_the_sample_opens_and_the_nodes_step_works(window, qtbot, qapp):
    page = open_in_model_step(qtbot, window, sample_model_path())
    assert page.banner.text == ""
    assert window.state.model.path == str(sample_model_path())
    assert page.facts["Format"].text() == "Keras 3 (.keras)"
    assert window.go(1)
    nodes = window.page("Nodes")
    nodes.search.setText("probab")
    assert nodes.proxy.rowCount() == 1
    assert open_dialogs(qapp) == []
