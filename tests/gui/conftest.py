"""Qt tests run offscreen with settings kept in a temporary file, never the user's."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    from edgewizard.gui.settings import Settings

    from edgewizard.gui.welcome import SHOWN_KEY

    s = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    s.set_value(SHOWN_KEY, "test")  # not a first start: no welcome dialog over the window under test
    return s


@pytest.fixture
def window(qtbot, settings):
    from edgewizard.gui.main_window import MainWindow

    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.jobs.shutdown()
    w.sink.uninstall()
