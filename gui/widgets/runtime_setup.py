"""The guided setup of the Python that runs the NCS2's OpenVINO 2022.3. First, what gives the stick: Intel's
own OpenVINO 2022.3 download, whose unpacked folder the person chooses (gui/widgets/intel_folder.py); then the
Pythons on this computer with a verdict each, a file picker and a check; and, without the stick, a private
environment with OpenVINO 2022.3 from the package index for this computer's CPU. Either environment is made
with the person's consent, in the background, with progress and a cancel that leaves nothing half-made. The
work is core/bench/runtime_env.py and runtime_archive.py; this dialog only presents it. After exec() returns
Accepted, ``python_path`` is the interpreter to use (for Intel's folder, the environment's launcher)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional, Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QFileDialog, QFrame, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QPlainTextEdit, QProgressBar, QPushButton,
                               QScrollArea, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from edgewizard.core.bench import runtime_archive as ra
from edgewizard.core.bench import runtime_env as rt
from edgewizard.core.errors import Cancelled

from .error_banner import MessageBanner
from .intel_folder import IntelFolderBox
from .setup_task import SetupTask

VERDICT_WORDS = {
    rt.Verdict.READY: "Ready for the stick",
    rt.Verdict.HAS_OPENVINO: "OpenVINO 2022.3, CPU only (no stick plugin)",
    rt.Verdict.SUITABLE: "Suitable: can make an environment",
    rt.Verdict.NO_VENV: "Not suitable: missing its venv part",
    rt.Verdict.NO_WHEELS: "Not suitable: no OpenVINO 2022.3 for this computer",
    rt.Verdict.NOT_64BIT: "Not suitable: 32-bit",
    rt.Verdict.TOO_NEW: "Not suitable: too new",
    rt.Verdict.TOO_OLD: "Not suitable: too old",
    rt.Verdict.BROKEN: "Not suitable: does not run",
}
INTRO = ("The Intel Neural Compute Stick 2 needs OpenVINO 2022.3 (the last version that drives it) with the "
         "stick's plugin, run by a Python 3.8, 3.9 or 3.10. EdgeWizard uses that Python only for benchmarks, "
         "beside its own.")
CPU_TITLE = "Without the stick: " + rt.CPU_ONLY
CPU_NOTE = ("From the Python package index, EdgeWizard can make an environment with OpenVINO 2022.3 for this "
            f"computer's CPU: about {rt.DOWNLOAD_MB} MB is downloaded (about {rt.DISK_MB} MB on disk). That "
            "OpenVINO has no plugin for the Neural Compute Stick 2 (Intel ships it only in its own download), so "
            "it checks a model under OpenVINO 2022.3, not on the stick.")


def verdict_words(i: rt.Interpreter) -> str:
    """The list's words for an interpreter: its verdict, said for what it is (the stick's launcher, or a
    plugin that is there but does not load)."""
    if i.verdict == rt.Verdict.HAS_OPENVINO and not i.plugin_missing:
        return "OpenVINO 2022.3, the stick's plugin does not load"
    return VERDICT_WORDS[i.verdict]


def row_name(i: rt.Interpreter) -> str:
    py = f"Python {i.version_text}" if i.version else "Python (unknown version)"
    return f"Intel's OpenVINO 2022.3 ({py})" if i.launcher else py


def remembered_runtime(settings) -> str:
    """The interpreter remembered for the NCS2's OpenVINO 2022.3, or "" when none is or its file is gone."""
    path = settings.runtime_python()
    return path if path and os.path.isfile(path) else ""


class _PythonList(QTreeWidget):
    """Asks for no more than its minimum height: in the scrolling body it grows into the room that is left
    instead of pushing the parts below out of view."""

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.minimumHeight())


class RuntimeSetupDialog(QDialog):
    """``places``: folders to look in for Pythons instead of this computer's usual ones; ``env_dir``: where to
    make the package-index environment instead of the app-data folder; ``archive_env_dir``: where to make the one
    for Intel's folder (default: beside ``env_dir``); ``archive_places``: where to look for Intel's folder
    (default: the usual places). All for tests and previews."""

    surveyed = Signal()
    checked = Signal(object)
    step_started = Signal(str)  # the title of each step of making the environment, as it starts
    creation_ended = Signal(str)  # "done", "cancelled" or "failed"

    def __init__(self, settings, parent: Optional[QWidget] = None, *, places: Optional[Sequence[Path]] = None,
                 env_dir: Optional[Path] = None, archive_env_dir: Optional[Path] = None,
                 archive_places: Optional[Sequence[Path]] = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.places = None if places is None else [Path(p) for p in places]
        self.archive_places = None if archive_places is None else [Path(p) for p in archive_places]
        self.env_dir = Path(env_dir) if env_dir else rt.default_env_dir()
        self.archive_env_dir = Path(archive_env_dir) if archive_env_dir else self.env_dir.parent / rt.ARCHIVE_ENV_NAME
        self.python_path = ""
        self.creation_kind = ""  # "stick" or "cpu" while (and after) an environment is made
        self._looking = True
        self.found: list[rt.Interpreter] = []
        self._tasks: list[SetupTask] = []
        self._creating: Optional[SetupTask] = None
        self.setWindowTitle("Python for the Neural Compute Stick 2")

        intro = QLabel(INTRO, self)
        intro.setWordWrap(True)
        self.banner = MessageBanner(self)
        self.intel = IntelFolderBox(settings, self)
        self.intel.create_requested.connect(self.create_stick_environment)

        found_box = QGroupBox("Pythons on this computer", self)
        self.tree = _PythonList(found_box)
        self.tree.setHeaderLabels(["Python", "What it is good for here", "Where"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.setAccessibleName("Pythons found on this computer")
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeToContents)
        self.tree.header().setStretchLastSection(True)
        self.tree.setTextElideMode(Qt.ElideMiddle)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.status = QLabel("Looking for Pythons…", found_box)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.advice = QLabel(found_box)
        self.advice.setWordWrap(True)
        self.advice.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.advice.setStyleSheet("QLabel { background:#fff4e5; border:1px solid #e8c28c; padding:6px; }")
        self.advice.hide()
        self.choose_button = QPushButton("Choose &another…", found_box)
        self.choose_button.setToolTip("Pick a Python program on this computer, for example one in an environment "
                                      "that already has OpenVINO 2022.3")
        self.choose_button.clicked.connect(self._choose_file)
        self.check_button = QPushButton("&Check", found_box)
        self.check_button.setToolTip("Ask the selected Python again what it has")
        self.check_button.clicked.connect(self._check_selected)
        self.look_button = QPushButton("&Look again", found_box)
        self.look_button.setToolTip("Look for Pythons again, for example after installing one")
        self.look_button.clicked.connect(self.look)
        buttons = QHBoxLayout()
        for b in (self.choose_button, self.check_button, self.look_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        fv = QVBoxLayout(found_box)
        fv.addWidget(self.tree, 1)
        fv.addLayout(buttons)
        fv.addWidget(self.status)
        fv.addWidget(self.advice)

        make_box = QGroupBox(CPU_TITLE, self)
        self.note = note = QLabel(CPU_NOTE, make_box)
        note.setWordWrap(True)
        self.make_text = QLabel(make_box)
        self.make_text.setWordWrap(True)
        self.make_text.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.create_button = QPushButton("C&reate the CPU-only environment", make_box)
        self.create_button.clicked.connect(self.create_environment)
        row = QHBoxLayout()
        row.addWidget(self.make_text, 1)
        row.addWidget(self.create_button)
        mv = QVBoxLayout(make_box)
        mv.addWidget(note)
        mv.addLayout(row)

        # One progress area for either environment: only one is made at a time.
        self.step = QLabel(self)
        self.step.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel making it", self)
        self.cancel_button.clicked.connect(self.cancel_creation)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.setAccessibleName("Progress of making the environment")
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.log.setAccessibleName("What the setup is doing")
        self.log.setMinimumHeight(self.fontMetrics().lineSpacing() * 3)
        self.log.setMaximumHeight(self.fontMetrics().lineSpacing() * 6)
        for w in (self.step, self.progress, self.log, self.cancel_button):
            w.hide()
        step_row = QHBoxLayout()
        step_row.addWidget(self.step, 1)
        step_row.addWidget(self.cancel_button)

        self.button_box = QDialogButtonBox(self)
        self.use_button = self.button_box.addButton("&Use it", QDialogButtonBox.AcceptRole)
        self.close_button = self.button_box.addButton("Close", QDialogButtonBox.RejectRole)
        self.button_box.accepted.connect(self.accept)
        self.button_box.rejected.connect(self.reject)

        # What is read scrolls where the screen (at 200% scaling, say) is too small; the message, the progress
        # and the buttons stay in view.
        self.body = QWidget(self)
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        for w, stretch in ((intro, 0), (self.intel, 0), (found_box, 1), (make_box, 0)):
            body.addWidget(w, stretch)
        scroll = QScrollArea(self)
        scroll.setWidget(self.body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.tree.setMinimumHeight(self.fontMetrics().lineSpacing() * 6)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(scroll, 1)
        layout.addLayout(step_row)
        layout.addWidget(self.progress)
        layout.addWidget(self.log)
        layout.addWidget(self.button_box)
        self._update_buttons()
        self._fit_screen()
        self.look()

    def _fit_screen(self) -> None:
        """900 x 720, or less where the screen (at its scaling) is smaller."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        room = screen.availableGeometry() if screen else None
        width, height = 900, 720
        if room is not None:
            width, height = min(width, int(room.width() * 0.95)), min(height, int(room.height() * 0.9))
        self.resize(width, height)

    # --- finding and checking ------------------------------------------------------------------------------

    def look(self) -> None:
        """Look for Pythons and Intel's OpenVINO 2022.3 folders (in the background) and list the Pythons with
        their verdicts; the stick's environment made before, and the remembered interpreter, are asked too."""
        places, archive_places = self.places, self.archive_places
        extra = [p for p in (str(rt.launcher_path(self.archive_env_dir)), remembered_runtime(self.settings))
                 if p and os.path.isfile(p)]

        def work(progress, cancelled):
            found = rt.survey(places)
            known = {rt.python_identity(i.path) for i in found}
            for path in reversed(list(dict.fromkeys(extra))):
                if rt.python_identity(path) not in known:
                    known.add(rt.python_identity(path))
                    found.insert(0, rt.check_interpreter(path))
            return found, ra.find_archives(archive_places)

        self.status.setText("Looking for Pythons…")
        self._looking = True
        self.tree.clear()
        self.advice.hide()
        self._start(work, self._surveyed)
        self._update_buttons()

    def _surveyed(self, result: tuple) -> None:
        found, archives = result
        self._looking = False
        self.found = list(found)
        self.intel.offer(archives)
        self.tree.clear()
        for i in self.found:
            self._add_row(i)
        preferred = remembered_runtime(self.settings)
        best = next((i for i in self.found if preferred and rt.python_identity(i.path) == rt.python_identity(preferred)),
                    None) or next((i for i in self.found if i.usable), None) \
            or next((i for i in self.found if i.can_make_environment), None)
        if best is not None or self.found:
            self._select((best or self.found[0]).path)  # the first one when none fits: its reason shows
        else:
            self.status.setText("No Python was found.")
        self._show_advice()
        self._update_buttons()
        self.surveyed.emit()

    def _show_advice(self) -> None:
        nothing = not any(i.usable or i.can_make_environment for i in self.found)
        self.advice.setText(rt.no_suitable_advice())
        self.advice.setVisible(nothing)

    def _add_row(self, i: rt.Interpreter, index: int = -1) -> QTreeWidgetItem:
        item = QTreeWidgetItem([row_name(i), verdict_words(i), i.path])
        item.setData(0, Qt.UserRole, i.path)
        for col in range(3):
            item.setToolTip(col, f"{i.path}\n{i.reason}")
        self.tree.insertTopLevelItem(self.tree.topLevelItemCount() if index < 0 else index, item)
        return item

    def _row(self, path: str) -> Optional[QTreeWidgetItem]:
        for n in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(n)
            if rt.python_identity(item.data(0, Qt.UserRole)) == rt.python_identity(path):
                return item
        return None

    def _select(self, path: str) -> None:
        item = self._row(path)
        if item is not None:
            self.tree.setCurrentItem(item)
            item.setSelected(True)

    def selected(self) -> Optional[rt.Interpreter]:
        items = self.tree.selectedItems()
        if not items:
            return None
        path = items[0].data(0, Qt.UserRole)
        return next((i for i in self.found if i.path == path), None)

    def _selection_changed(self) -> None:
        i = self.selected()
        if i is None:
            self.status.setText("Select a Python above.")
        elif i.usable:
            self.status.setText(f"{i.reason} {rt.summary(i, plugin_note=False)}")
        elif i.can_make_environment:
            self.status.setText(f"{i.reason} It has no OpenVINO 2022.3 yet: make an environment with it, for the "
                                "stick above or for the CPU below.")
        else:
            self.status.setText(f"Not suitable. {i.reason}")
        self._update_buttons()

    def _choose_file(self) -> None:
        start = str(Path(self.selected().path).parent) if self.selected() else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Choose a Python program", start)
        if path:
            self.choose_python(path)

    def choose_python(self, path: str) -> None:
        """Check ``path`` (in the background), add it to the list if new, and select it."""
        self.status.setText(f"Checking {path}…")
        self._start(lambda progress, cancelled: rt.check_interpreter(path), self._checked)

    def _check_selected(self) -> None:
        if self.selected() is not None:
            self.choose_python(self.selected().path)

    def _checked(self, i: rt.Interpreter) -> None:
        self.found = [i] + [f for f in self.found if rt.python_identity(f.path) != rt.python_identity(i.path)]
        old = self._row(i.path)
        if old is not None:
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(old))
        self._add_row(i, 0)
        self.tree.clearSelection()
        self._select(i.path)
        self._selection_changed()
        self._show_advice()
        self.checked.emit(i)

    # --- making the environment ----------------------------------------------------------------------------

    def create_environment(self) -> None:
        """Make the package-index (CPU-only) environment with the selected Python (its button is the consent)."""
        base, env_dir = self.selected(), self.env_dir
        if base is not None and base.can_make_environment:
            self._begin_creation("cpu", lambda progress, cancelled: rt.create_environment(
                base.path, env_dir, progress, cancelled))

    def create_stick_environment(self) -> None:
        """Make the environment for Intel's folder with the Python picked for it (its button is the consent)."""
        archive, base, env_dir = self.intel.archive, self.intel.python, self.archive_env_dir
        if archive is not None and base is not None:
            self._begin_creation("stick", lambda progress, cancelled: ra.create_archive_environment(
                archive, base, env_dir, progress, cancelled))

    def _begin_creation(self, kind: str, fn: Callable) -> None:
        if self._creating is not None:
            return
        self.creation_kind = kind
        self.banner.clear()
        self.log.clear()
        for w in (self.step, self.progress, self.log, self.cancel_button):
            w.show()
        for w in (self.intel.text, self.note):
            w.hide()  # read before the click; their room goes to the progress while it runs
        self.progress.setValue(0)
        self._creating = self._start(fn, self._created, self._creation_failed, self._creation_progress)
        self._update_buttons()

    def cancel_creation(self) -> None:
        if self._creating is not None:
            self._creating.cancel_event.set()
            self.step.setText("Cancelling: stopping the download and removing what was made…")
            self.cancel_button.setEnabled(False)

    def _creation_progress(self, fraction, message: str) -> None:
        if fraction is None:
            self.progress.setRange(0, 0)  # busy: pip gives no figure while it downloads
            self.log.appendPlainText(message)
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(round(100 * fraction))
            self.step.setText(message)
            self.step_started.emit(message)

    def _created(self, made: rt.Interpreter) -> None:
        self._creation_over()
        what = "The stick's environment" if self.creation_kind == "stick" else "The CPU-only environment"
        self.step.setText(f"{what} is ready. Click \"Use it\" to benchmark with it.")
        self._checked(made)
        self.creation_ended.emit("done")

    def _creation_failed(self, exc: BaseException) -> None:
        self._creation_over()
        if isinstance(exc, Cancelled):
            self.step.setText("Cancelled. Nothing was left behind.")
            self.creation_ended.emit("cancelled")
            return
        self.log.show()  # what pip said stays readable under the message
        self.step.setText("Making the environment failed; nothing was left behind.")
        self.banner.show_error(exc)
        self.creation_ended.emit("failed")

    def _creation_over(self) -> None:
        self._creating = None
        for w in (self.progress, self.log, self.cancel_button):
            w.hide()
        for w in (self.intel.text, self.note):
            w.show()
        self.cancel_button.setEnabled(True)
        self._update_buttons()

    @property
    def creating(self) -> bool:
        return self._creating is not None

    # --- plumbing ------------------------------------------------------------------------------------------

    def _update_buttons(self) -> None:
        i = self.selected()
        busy = self._creating is not None
        self.use_button.setEnabled(bool(i and i.usable) and not busy)
        self.create_button.setEnabled(bool(i and i.can_make_environment) and not busy)
        for b in (self.choose_button, self.check_button, self.look_button):
            b.setEnabled(not busy)
        self.intel.set_interpreters(self.found, i.path if i else "", looking=self._looking)
        self.intel.set_busy(busy)
        self.check_button.setEnabled(not busy and i is not None)
        replaces = " (it replaces the one made before)" if (self.env_dir / "pyvenv.cfg").is_file() else ""
        if i is not None and i.can_make_environment:
            self.make_text.setText(f"With Python {i.version_text} ({i.path}), in\n{self.env_dir}{replaces}")
        elif i is not None and rt.python_identity(i.path) == rt.python_identity(rt.env_python(self.env_dir)):
            self.make_text.setText(f"The selected Python is EdgeWizard's private environment, in\n{self.env_dir}")
        elif i is not None and i.usable:
            self.make_text.setText(f"Not needed: the selected Python already has OpenVINO 2022.3. It would go in\n"
                                   f"{self.env_dir}")
        else:
            self.make_text.setText(f"Select a suitable Python above to make it with. It goes in\n{self.env_dir}")

    def _start(self, fn: Callable, done: Callable, failed: Optional[Callable] = None,
               progress: Optional[Callable] = None) -> SetupTask:
        task = SetupTask(fn, self)
        failed = failed or self._task_failed
        task.succeeded.connect(lambda result, t=task: done(result) if t.listening else None)
        task.failed.connect(lambda exc, t=task: failed(exc) if t.listening else None)
        if progress is not None:
            task.progressed.connect(lambda f, m, t=task: progress(f, m) if t.listening else None)
        task.finished.connect(lambda t=task: self._tasks.remove(t) if t in self._tasks else None)
        self._tasks.append(task)
        task.start()
        return task

    def _task_failed(self, exc: BaseException) -> None:
        self.banner.show_error(exc)
        self.status.setText("Something went wrong while asking the Pythons; see the message above.")

    def accept(self) -> None:
        i = self.selected()
        if i is None or not i.usable or self._creating is not None:
            return
        self.python_path = i.path
        self.settings.set_runtime_python(i.path)
        super().accept()

    def done(self, result: int) -> None:
        """Closing stops a running creation (and waits until its folder is removed); a check still running
        ends on its own, with nobody listening."""
        if self._creating is not None:
            self._creating.cancel_event.set()
            self._creating.wait()
            self._creating = None
        for task in list(self._tasks):
            task.release()
        self._tasks.clear()
        super().done(result)


if __name__ == "__main__":  # a quick look: python -m edgewizard.gui.widgets.runtime_setup
    import sys

    from PySide6.QtWidgets import QApplication

    from edgewizard.gui.settings import Settings

    app = QApplication(sys.argv)
    dialog = RuntimeSetupDialog(Settings())
    print("Accepted:" if dialog.exec() == QDialog.Accepted else "Closed", dialog.python_path)
