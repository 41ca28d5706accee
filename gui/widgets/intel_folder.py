"""The NCS2 runtime setup's part for Intel's own OpenVINO 2022.3 download (the only one with the stick's plugin):
where to get it, "Use Intel's OpenVINO 2022.3 folder…", the folder's check in plain words, the Python it will
be used with, and the button that asks to make the environment. The making itself is the dialog's (one
progress area for both kinds of environment); the checks are core/bench/runtime_archive.py."""
from __future__ import annotations

import html
from pathlib import Path
from typing import Optional, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from edgewizard.core.bench import runtime_archive as ra
from edgewizard.core.bench import runtime_env as rt
from edgewizard.core.errors import UserError

TITLE = "For the stick: Intel's OpenVINO 2022.3 download"
CHOOSE = "Use &Intel's OpenVINO 2022.3 folder…"
CREATE = "Create the &stick's environment"
_OK = "QLabel { background:#e8f4fd; border:1px solid #9cc9ef; padding:6px; }"
_PROBLEM = "QLabel { background:#fff4e5; border:1px solid #e8c28c; padding:6px; }"


def explanation() -> str:
    """The box's text (rich text, with Intel's page as a link the person can open in their browser)."""
    steps = [html.escape(step) for step in ra.download_steps()]
    steps[0] += f" <a href='{ra.ARCHIVE_PAGE}'>Open Intel's 2022.3 page</a>"
    items = "".join(f"<li>{step}</li>" for step in steps)
    return ("<b>Only Intel's own OpenVINO 2022.3 download has the stick's plugin.</b> EdgeWizard does not "
            f"download it for you:<ol style='margin-top:2px; margin-bottom:0px'>{items}</ol>")


class IntelFolderBox(QGroupBox):
    """``create_requested`` when the person clicks Create (their consent); ``archive`` and ``python`` say what
    would be made, and with which Python."""

    create_requested = Signal()
    folder_checked = Signal(object)  # the Archive, or the UserError that refused the folder

    def __init__(self, settings, parent: Optional[QWidget] = None) -> None:
        super().__init__(TITLE, parent)
        self.settings = settings
        self.archive: Optional[ra.Archive] = None
        self.python: Optional[rt.Interpreter] = None
        self.refusal = ""
        self._interpreters: Sequence[rt.Interpreter] = ()
        self._preferred = ""
        self._looking = True
        self.text = QLabel(explanation(), self)
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.RichText)
        self.text.setOpenExternalLinks(True)
        self.text.setTextInteractionFlags(Qt.TextBrowserInteraction)
        self.state = QLabel("No folder chosen yet.", self)
        self.state.setWordWrap(True)
        self.state.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.state.setAccessibleName("Intel's OpenVINO folder")
        self.choose_button = QPushButton(CHOOSE, self)
        self.choose_button.setToolTip("Choose the folder that came out of unpacking Intel's OpenVINO 2022.3 download")
        self.choose_button.clicked.connect(self.choose_folder)
        self.create_button = QPushButton(CREATE, self)
        self.create_button.setToolTip("Make a small private environment that runs Intel's OpenVINO 2022.3 with a "
                                      f"Python of this computer (downloads numpy, about {ra.NUMPY_MB} MB)")
        self.create_button.clicked.connect(self.create_requested)
        row = QHBoxLayout()
        row.addWidget(self.state, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.choose_button)
        buttons.addWidget(self.create_button)
        buttons.addStretch(1)
        row.addLayout(buttons)
        box = QVBoxLayout(self)
        box.addWidget(self.text)
        box.addLayout(row)
        self.set_busy(False)

    # --- the folder ---------------------------------------------------------------------------------------------

    def choose_folder(self) -> None:
        start = str(self.archive.root.parent) if self.archive else str(Path.home() / "Downloads")
        folder = QFileDialog.getExistingDirectory(self, "Choose Intel's unpacked OpenVINO 2022.3 folder", start)
        if folder:
            self.use_folder(folder)

    def use_folder(self, folder, remember: bool = True) -> bool:
        """Check ``folder``; show what it is (or, in one sentence, why it is not the right one)."""
        try:
            archive = ra.inspect_archive(folder)
        except UserError as exc:
            self.archive, self.refusal = None, exc.message
            self.folder_checked.emit(exc)
        else:
            self.archive, self.refusal = archive, ""
            if remember:
                self.settings.set_runtime_archive(str(archive.root))
            self.folder_checked.emit(archive)
        self._show()
        return self.archive is not None

    def offer(self, found: Sequence[ra.Archive]) -> None:
        """Folders found by the dialog's look: the remembered one if it still checks out, else the first found
        (only when none is chosen yet)."""
        if self.archive is not None or self.refusal:
            return
        remembered = self.settings.runtime_archive()
        if remembered and self.use_folder(remembered, remember=False):
            return
        if found:
            self.archive = found[0]
            self._show(found_it=True)

    def set_interpreters(self, interpreters: Sequence[rt.Interpreter], preferred: str = "",
                         looking: bool = False) -> None:
        """The Pythons found (and the one selected in the list; ``looking`` while the search still runs): the
        one to use is picked from them."""
        self._interpreters, self._preferred, self._looking = list(interpreters), preferred, looking
        self._show()

    # --- showing it ---------------------------------------------------------------------------------------------

    def _show(self, found_it: bool = False) -> None:
        self.python = None
        if self.refusal:
            self.state.setText(self.refusal)
            self.state.setStyleSheet(_PROBLEM)
        elif self.archive is None:
            self.state.setText("No folder chosen yet.")
            self.state.setStyleSheet("")
        else:
            a = self.archive
            version = f"OpenVINO {a.version}" if a.version else "OpenVINO (the folder does not say which version)"
            where = "Found" if found_it else "Chosen"
            self.python, sentence = ra.pick_python(a, self._interpreters, self._preferred)
            if self._looking:
                sentence = "Looking for a Python that fits it…"
            self.state.setText(f"{where}: Intel's {version} in {a.root}, with Python parts for Python "
                               f"{a.python_text}. {sentence}")
            self.state.setStyleSheet(_OK if self.python else _PROBLEM)
        self.set_busy(self._busy if hasattr(self, "_busy") else False)

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.choose_button.setEnabled(not busy)
        self.create_button.setEnabled(not busy and self.archive is not None and self.python is not None)
