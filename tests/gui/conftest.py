"""Qt tests run offscreen with settings kept in a temporary file, never the user's."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    from edgewizard.gui.settings import Settings

    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))


@pytest.fixture
def window(qtbot, settings):
    from edgewizard.gui.main_window import MainWindow

    w = MainWindow(settings=settings, welcome=False)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.jobs.shutdown()
    w.sink.uninstall()
