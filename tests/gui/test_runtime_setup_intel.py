"""The NCS2 runtime setup dialog's route through Intel's own OpenVINO 2022.3 download (gui/widgets/intel_folder.py
in gui/widgets/runtime_setup.py), with pytest-qt: it is offered up front in plain words, the package-index
environment is called CPU-only, a folder that is not Intel's says why, a folder laid out like it (directories
only) is read and the Python for it picked, a cancel leaves nothing, and (long run, with a real archive named by
EDGEWIZARD_OPENVINO_2022_ARCHIVE) the stick's environment is made, used and remembered."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog, QGroupBox, QLabel, QPushButton

from edgewizard.core.bench import runtime_archive as ra
from edgewizard.core.bench import runtime_env as rt
from edgewizard.core.errors import UserError
from edgewizard.gui.widgets.intel_folder import CHOOSE, TITLE
from edgewizard.gui.widgets.runtime_setup import CPU_TITLE, RuntimeSetupDialog, remembered_runtime

NAME = "l_openvino_toolkit_ubuntu20_2022.3.1.9227.cf2c7da5689_x86_64"
MINOR = sys.version_info[:2]


def open_dialog(qtbot, settings, tmp_path, **kw) -> RuntimeSetupDialog:
    kw.setdefault("env_dir", tmp_path / "runtimes" / "openvino-2022.3")
    kw.setdefault("archive_places", [])
    dialog = RuntimeSetupDialog(settings, **kw)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.surveyed, timeout=120_000):
        dialog.show()
    return dialog


def visible_text(dialog) -> str:
    widgets = [*dialog.findChildren(QLabel), *dialog.findChildren(QPushButton)]
    titles = [b.title() for b in dialog.findChildren(QGroupBox) if b.isVisibleTo(dialog)]
    return "\n".join([w.text() for w in widgets if w.isVisibleTo(dialog)] + titles)


def laid_out(root: Path, pythons=((3, 8), (3, 9), (3, 10))) -> Path:
    """Directories like Intel's unpacked folder, and a one-line text file named setupvars.sh for the check to
    find by name (nothing in it runs, nothing pretends to be OpenVINO)."""
    for sub in ("runtime/lib/intel64", "runtime/3rdparty/tbb/lib", "runtime/cmake"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for a, b in pythons:
        (root / "python" / f"python{a}.{b}" / "openvino").mkdir(parents=True, exist_ok=True)
    (root / "setupvars.sh").write_text("# stands for Intel's setupvars in a folder-check test\n")
    return root


@pytest.fixture(scope="module")
def py310():
    found = [i for i in rt.survey() if i.version[:2] == (3, 10) and i.venv and not i.error]
    if not found:
        pytest.skip("no Python 3.10 that can make environments on this machine")
    return found[0]


def test_the_stick_route_is_offered_up_front_and_the_index_one_is_called_cpu_only(qtbot, settings, tmp_path):
    dialog = open_dialog(qtbot, settings, tmp_path, places=[tmp_path])
    text = visible_text(dialog)
    assert TITLE in text and "Only Intel's own OpenVINO 2022.3 download has the stick's plugin" in text
    assert "EdgeWizard does not download it for you" in text and "storage.openvinotoolkit.org" in text
    assert ra.ARCHIVE_PAGE in dialog.intel.text.text(), "Intel's page is a link the person can open"
    assert dialog.intel.choose_button.text() == CHOOSE and dialog.intel.choose_button.isEnabled()
    assert not dialog.intel.create_button.isEnabled() and dialog.intel.state.text() == "No folder chosen yet."
    assert "OpenVINO 2022.3 on this computer's CPU (no Neural Compute Stick plugin)" in CPU_TITLE and CPU_TITLE in text
    assert "CPU-only" in dialog.create_button.text()
    assert "placeholder-text" not in dialog.intel.text.styleSheet(), "what gives the stick is not grey small print"
    # The stick's part comes before the list of Pythons and the CPU-only part.
    order = [dialog.body.layout().indexOf(w) for w in (dialog.intel, dialog.tree.parentWidget(), dialog.note.parentWidget())]
    assert order == sorted(order)
    assert "--" not in text


def test_choosing_a_folder_that_is_not_intels_says_why(qtbot, settings, tmp_path, monkeypatch):
    dialog = open_dialog(qtbot, settings, tmp_path, places=[tmp_path])
    photos = tmp_path / "Photos"
    photos.mkdir()
    (photos / "cat.jpg").write_bytes(b"\xff\xd8")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(photos))
    with qtbot.waitSignal(dialog.intel.folder_checked) as checked:
        qtbot.mouseClick(dialog.intel.choose_button, Qt.LeftButton)
    assert isinstance(checked.args[0], UserError)
    said = dialog.intel.state.text()
    assert said.startswith("Photos is not Intel's OpenVINO 2022.3 folder") and "setupvars" in said
    assert dialog.intel.state.isVisible() and not dialog.intel.create_button.isEnabled()
    assert settings.runtime_archive() == ""


def test_a_packed_download_says_unpack_it_first(qtbot, settings, tmp_path):
    dialog = open_dialog(qtbot, settings, tmp_path, places=[tmp_path])
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl" / f"{NAME}.tgz").write_bytes(b"")  # its name is all the check reads
    assert not dialog.intel.use_folder(tmp_path / "dl")
    assert "still packed" in dialog.intel.state.text() and "unpack it first" in dialog.intel.state.text()


def test_a_folder_laid_out_like_intels_is_read_and_a_python_picked(qtbot, settings, py310, tmp_path):
    dialog = open_dialog(qtbot, settings, tmp_path, places=[Path(py310.path).parent])
    root = laid_out(tmp_path / "Downloads" / NAME)
    assert dialog.intel.use_folder(tmp_path / "Downloads")  # its parent counts as it
    said = dialog.intel.state.text()
    assert "Intel's OpenVINO 2022.3.1" in said and str(root) in said and "3.8, 3.9 and 3.10" in said
    assert f"It will be used with Python {py310.version_text}" in said
    assert dialog.intel.python.path == py310.path and dialog.intel.create_button.isEnabled()
    assert settings.runtime_archive() == str(root)


def test_a_download_without_a_part_for_any_python_here_says_what_to_install(qtbot, settings, tmp_path):
    dialog = open_dialog(qtbot, settings, tmp_path, places=[tmp_path])  # no Python in that place
    laid_out(tmp_path / NAME, pythons=((3, 8),))
    assert dialog.intel.use_folder(tmp_path / NAME)
    said = dialog.intel.state.text()
    assert "Python parts for Python 3.8, and no such Python was found" in said and "Python 3.8" in said
    assert not dialog.intel.create_button.isEnabled()


def test_cancel_while_numpy_installs_leaves_nothing(qtbot, settings, py310, tmp_path):
    dest = tmp_path / "runtimes" / "openvino-2022.3-intel"
    dialog = open_dialog(qtbot, settings, tmp_path, places=[Path(py310.path).parent], archive_env_dir=dest)
    dialog.intel.use_folder(laid_out(tmp_path / NAME))
    started = []

    def cancel_once_pip_runs(title):
        if title.startswith("Downloading and installing numpy") and not started:
            started.append(title)
            qtbot.mouseClick(dialog.cancel_button, Qt.LeftButton)

    dialog.step_started.connect(cancel_once_pip_runs)
    with qtbot.waitSignal(dialog.creation_ended, timeout=120_000) as ended:
        qtbot.mouseClick(dialog.intel.create_button, Qt.LeftButton)
        assert dialog.creating and dialog.creation_kind == "stick"
        assert not dialog.intel.choose_button.isEnabled() and not dialog.create_button.isEnabled()
    assert ended.args == ["cancelled"] and started and not dest.exists()
    assert "Nothing was left behind" in dialog.step.text() and dialog.intel.create_button.isEnabled()


@pytest.mark.skipif(os.name != "posix", reason="the launcher written here is the POSIX sh one")
def test_a_stick_environment_whose_openvino_does_not_start_is_listed_as_not_usable(qtbot, settings, tmp_path):
    dest = tmp_path / "runtimes" / "openvino-2022.3-intel"
    root = laid_out(tmp_path / NAME, pythons=(MINOR,))
    launcher = ra.write_launcher(dest, ra.layout(root), MINOR, venv_python=Path(sys.executable))
    dialog = open_dialog(qtbot, settings, tmp_path, places=[tmp_path / "none"], archive_env_dir=dest)
    row = dialog.tree.topLevelItem(0)
    assert row.text(0) == f"Intel's OpenVINO 2022.3 (Python {'.'.join(map(str, sys.version_info[:3]))})"
    assert row.text(2) == str(launcher) and row.text(1).startswith("Not suitable")
    dialog.tree.setCurrentItem(row)
    assert "Choose Intel's folder again" in dialog.status.text() and not dialog.use_button.isEnabled()


@pytest.mark.longrun
def test_the_stick_environment_from_intels_real_archive_is_made_and_used(qtbot, settings, tmp_path):
    folder = os.environ.get("EDGEWIZARD_OPENVINO_2022_ARCHIVE")
    if not folder:
        pytest.skip("EDGEWIZARD_OPENVINO_2022_ARCHIVE does not name an unpacked OpenVINO 2022.3 archive (Intel's "
                    "download is not on this machine, and EdgeWizard never downloads it)")
    dest = tmp_path / "runtimes" / "openvino-2022.3-intel"
    dialog = open_dialog(qtbot, settings, tmp_path, archive_env_dir=dest)
    assert dialog.intel.use_folder(folder)
    if dialog.intel.python is None:
        pytest.skip(f"no Python fits the archive here: {dialog.intel.state.text()}")
    with qtbot.waitSignal(dialog.creation_ended, timeout=900_000) as ended:
        qtbot.mouseClick(dialog.intel.create_button, Qt.LeftButton)
    assert ended.args == ["done"], dialog.banner.text
    made = dialog.selected()
    assert made.launcher and made.path == str(rt.launcher_path(dest)) and made.usable
    assert dialog.tree.currentItem().text(0).startswith("Intel's OpenVINO 2022.3")
    assert "stick's environment is ready" in dialog.step.text()
    assert "plugged in" in dialog.status.text() or "does not load" in dialog.status.text()
    qtbot.mouseClick(dialog.use_button, Qt.LeftButton)
    assert dialog.result() == QDialog.Accepted and remembered_runtime(settings) == made.path
