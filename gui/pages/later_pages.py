"""Step 6, Benchmark: its place in the flow. Until its content lands (issue "Benchmark") it lists
the converted files it will work on and says plainly that the step is not built yet."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QListWidget

from .base import WizardPage, preview


class _LaterPage(WizardPage):
    what = ""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.notice = QLabel(f"<b>Not built yet.</b> {self.what}", self)
        self.notice.setWordWrap(True)
        self.body.addWidget(self.notice)
        self.body.addWidget(QLabel("Converted files this step will use:", self))
        self.files = QListWidget(self)
        self.files.setAccessibleName("Converted files")
        self.body.addWidget(self.files, 1)
        self.state.conversionChanged.connect(self.on_enter)

    def on_enter(self) -> None:
        self.files.clear()
        for a in (self.state.manifest or {}).get("artifacts", []):
            for f in a["files"]:
                if f["name"].endswith((".tflite", ".xml")):
                    self.files.addItem(f"{f['name']}   ({a['target']})")


class BenchmarkPage(_LaterPage):
    step = "Benchmark"
    title = "Benchmark"
    subtitle = "Measure how fast the converted model runs on your accelerator."
    what = ("This step will run the converted model on the attached accelerator or CPU (here, under another "
            "Python, or on a Raspberry Pi over ssh) with a live latency plot and side-by-side comparisons.")


if __name__ == "__main__":
    import sys

    sys.exit(preview(BenchmarkPage))
