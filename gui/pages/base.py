"""What every wizard page has: a title, a one-line explanation, a message banner, and the shared
state, job controller and settings it works with."""
from __future__ import annotations

import sys
from typing import Optional

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..jobs_qt import JobController
from ..settings import Settings
from ..state import WizardState
from ..widgets.error_banner import MessageBanner


class WizardPage(QWidget):
    step = ""  # one of state.STEPS
    title = ""
    subtitle = ""

    def __init__(self, state: WizardState, jobs: JobController, settings: Settings, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.state, self.jobs, self.settings = state, jobs, settings
        self.setObjectName(f"page{self.step}")
        outer = QVBoxLayout(self)
        heading = QLabel(f"<h2 style='margin:0'>{self.title}</h2>", self)
        heading.setAccessibleName(self.title)
        outer.addWidget(heading)
        if self.subtitle:
            sub = QLabel(self.subtitle, self)
            sub.setWordWrap(True)
            sub.setStyleSheet("color:#555;")
            outer.addWidget(sub)
        self.banner = MessageBanner(self)
        outer.addWidget(self.banner)
        self.body = QVBoxLayout()
        outer.addLayout(self.body, 1)

    def on_enter(self) -> None:
        """Called each time the step is shown."""


def load_sample(state: WizardState, jobs: JobController) -> None:
    """Open the bundled sample into `state` (for previews and screenshots)."""
    from edgewizard.core.plan import LoadOptions
    from edgewizard.core.samples import sample_model_path

    from ..jobs_qt import INSPECT

    path = str(sample_model_path())
    jobs.start(INSPECT, path).done.connect(lambda info: state.set_model(path, LoadOptions(), info))


def preview(page_cls, setup=None) -> int:
    """Open one page on its own, with the sample model loaded when `setup` asks for it."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    state = WizardState()
    jobs = JobController()
    page = page_cls(state, jobs, Settings())
    if setup is not None:
        setup(state, jobs, page)
    page.resize(900, 650)
    page.show()
    page.on_enter()
    code = app.exec()
    jobs.shutdown()
    return code
