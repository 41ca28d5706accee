"""The first-run welcome: what EdgeWizard does, "Try the sample model", and what to install for each
accelerator. Shown once (remembered in Settings); nothing here is required to use the app."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget

from edgewizard.core.bench.runtime_archive import ARCHIVE_PAGE
from edgewizard.core.devices import families

SHOWN_KEY = "welcome/shown"  # holds the version that showed it; empty or absent means never shown

INTRO = (
    "<h2>Welcome to EdgeWizard</h2>"
    "<p>Open a trained TensorFlow or Keras model, choose the part to convert, convert it for your "
    "accelerator, check that it still gives the same answers, and measure how fast it runs.</p>"
    "<p>Everything needed to convert models and to run them on this computer's processor is already "
    "inside EdgeWizard. An accelerator needs its own software, installed once:</p>"
)

# One entry per device family: (name, what to install, links). Plain words first; the commands are
# selectable text so they can be copied.
_FAMILY = {f.id: f.title for f in families()}  # the device catalogue's titles (core/devices.py)
ACCELERATORS = (
    (_FAMILY["edgetpu"],
     "To run models: the Edge TPU runtime <b>libedgetpu</b> (Debian/Ubuntu: the package "
     "<code>libedgetpu1-std</code> from Google's Coral apt repository; Windows and macOS: from coral.ai). "
     "To make models for it: Google's <b>edgetpu_compiler</b>, from the same repository, for x86-64 "
     "Linux only (elsewhere use WSL, Docker or a Linux computer).",
     (("Get started with the USB Accelerator", "https://coral.ai/docs/accelerator/get-started/"),
      ("Edge TPU compiler", "https://coral.ai/docs/edgetpu/compiler/"))),
    (_FAMILY["myriad"],
     "EdgeWizard makes its models (FP16 OpenVINO IR) itself. To run them, the stick needs Intel's own "
     "<b>OpenVINO 2022.3</b> download, the last release with the stick's plugin (the package index's openvino "
     "2022.3 has no plugin for the stick), with a Python 3.8–3.10 (on Linux also the stick's udev rules). On the "
     "Benchmark step, choose the stick and click “Set up the NCS2 runtime…”: EdgeWizard makes the environment "
     "from Intel's download and a Python on this computer, and benchmarks through it.",
     (("Intel's OpenVINO 2022.3 downloads", ARCHIVE_PAGE),
      ("OpenVINO 2022.3 installation", "https://docs.openvino.ai/2022.3/openvino_docs_install_guides_overview.html"))),
    (_FAMILY["openvino"],
     "OpenVINO is included. An Intel GPU also needs Intel's GPU compute runtime (intel-opencl-icd on "
     "Linux), and an Intel NPU (Core Ultra processors) Intel's NPU driver.",
     ()),
)


def accelerators_html() -> str:
    items = []
    for name, text, links in ACCELERATORS:
        refs = " · ".join(f'<a href="{url}">{title}</a>' for title, url in links)
        items.append(f"<li><b>{name}</b><br>{text}{'<br>' + refs if refs else ''}</li>")
    return "<ul style='margin-left:-20px'>" + "".join(items) + "</ul>"


class WelcomeDialog(QDialog):
    """The welcome itself; after it closes, `sample_chosen` says whether "Try the sample model" was pressed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to EdgeWizard")
        self.setMinimumWidth(620)
        self.sample_chosen = False
        text = QLabel(INTRO + accelerators_html() + "<p>You can start with the small sample model to see "
                      "every step, or open your own model.</p>", self)
        text.setWordWrap(True)
        text.setTextFormat(Qt.RichText)
        text.setOpenExternalLinks(True)  # only when clicked: nothing is fetched on its own
        text.setTextInteractionFlags(Qt.TextBrowserInteraction)
        self.text = text
        self.sample_button = QPushButton("Try the sample model", self)
        self.sample_button.setDefault(True)
        self.sample_button.clicked.connect(self._choose_sample)
        buttons = QDialogButtonBox(self)
        buttons.addButton(self.sample_button, QDialogButtonBox.AcceptRole)
        self.close_button = buttons.addButton("Open my own model", QDialogButtonBox.RejectRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(buttons)

    def _choose_sample(self) -> None:
        self.sample_chosen = True
        self.accept()


def already_shown(settings) -> bool:
    return bool(str(settings.value(SHOWN_KEY, "") or ""))


def maybe_show_welcome(window) -> None:
    """Show the welcome over `window` (a MainWindow) the first time EdgeWizard starts, without
    blocking; "Try the sample model" opens the bundled sample. Remembered in the window's settings."""
    if already_shown(window.settings):
        return
    from edgewizard.core.cli import version

    window.settings.set_value(SHOWN_KEY, version())
    window.settings.sync()
    dialog = WelcomeDialog(window)
    dialog.setAttribute(Qt.WA_DeleteOnClose)
    window.welcome = dialog  # reachable for tests and for the Help menu

    def finished(_result: int) -> None:
        if dialog.sample_chosen:
            from edgewizard.core.samples import sample_model_path

            window.open_model(str(sample_model_path()))
        window.welcome = None

    dialog.finished.connect(finished)
    dialog.open()  # window-modal, returns at once


if __name__ == "__main__":  # a quick look: python -m edgewizard.gui.welcome
    import sys

    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)
    d = WelcomeDialog()
    d.show()
    sys.exit(app.exec())
