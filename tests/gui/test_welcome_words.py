"""The welcome tells a newcomer what the NCS2 needs in the words the rest of the app uses (issue 16): Intel's own
OpenVINO 2022.3 download with a Python 3.8–3.10, made into an environment by the Benchmark step's "Set up the NCS2
runtime…", never a command line."""
from __future__ import annotations

import html
import re


def _ncs2_text() -> str:
    from edgewizard.gui.welcome import _FAMILY, ACCELERATORS

    return next(text for name, text, _ in ACCELERATORS if name == _FAMILY["myriad"])


def test_the_welcome_names_what_the_ncs2_needs_as_the_device_catalogue_does():
    from edgewizard.core.devices import find

    text = html.unescape(re.sub(r"<[^>]+>", "", _ncs2_text()))
    assert "Intel's own OpenVINO 2022.3 download" in text and "Python 3.8–3.10" in text
    assert "3.7" not in text  # OpenVINO 2022.3's stick plugin runs under 3.8, 3.9 or 3.10 only
    assert "“Set up the NCS2 runtime…”" in text and "Benchmark step" in text
    # The same facts as the catalogue's words the Benchmark step and the command line show.
    notes = " ".join(find("myriad").notes)
    assert "Intel's own OpenVINO 2022.3 download" in notes and "Python 3.8–3.10" in notes


def test_the_welcome_links_to_intels_download(qtbot):
    from edgewizard.core.bench.runtime_archive import ARCHIVE_PAGE
    from edgewizard.gui.welcome import WelcomeDialog

    dialog = WelcomeDialog()
    qtbot.addWidget(dialog)
    assert f'<a href="{ARCHIVE_PAGE}">' in dialog.text.text()
    assert not re.search(r"(?<![\w-])--[a-z]|\bedgewizard (?:bench|verify|convert)\b", dialog.text.text())
