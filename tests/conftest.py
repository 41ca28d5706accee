"""Test-wide setup: tests that convert in-process get the same telemetry block as the worker; long runs
(marked `longrun`) run only in CI or when asked for; and the wizard fixtures every Qt test shares."""
import os

import pytest

from edgewizard.core.privacy import block_vendor_telemetry

block_vendor_telemetry()


def pytest_collection_modifyitems(config, items):
    if os.environ.get("CI") or os.environ.get("EDGEWIZARD_LONG") == "1":
        return
    skip = pytest.mark.skip(reason="long run: takes minutes, so it runs in CI (CI=true) or with EDGEWIZARD_LONG=1")
    for item in items:
        if "longrun" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def settings(tmp_path):
    """Settings kept in a temporary file, never the user's."""
    from PySide6.QtCore import QSettings

    from edgewizard.gui.settings import Settings

    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))


@pytest.fixture
def window(qtbot, settings):
    """The wizard, without the first-run welcome; its worker and error sink are shut down after."""
    from edgewizard.gui.main_window import MainWindow

    w = MainWindow(settings=settings, welcome=False)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.quit_without_asking()  # a step still running (a failed test) is cancelled, not asked about in a modal box
    w.jobs.shutdown()
    w.sink.uninstall()
