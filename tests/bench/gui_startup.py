"""Prints the time from process start to EdgeWizard's main window shown, vs a bare PySide6 window
with pyqtgraph imported, both in fresh processes, alternating, in the same run. Goal: at most 1.5x.

Run under a display (xvfb-run -a .venv/bin/python tests/bench/gui_startup.py [repeats])."""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time

BARE = """
import sys
from PySide6.QtWidgets import QApplication, QMainWindow
from PySide6.QtCore import QTimer
import pyqtgraph
app = QApplication([])
w = QMainWindow(); w.resize(1100, 760); w.show()
QTimer.singleShot(0, lambda: (print("SHOWN", flush=True), app.quit()))
app.exec()
"""

OURS = """
import sys
from PySide6.QtWidgets import QApplication
from PySide6.QtCore import QTimer, QSettings
from edgewizard.gui.netron_scheme import prepare_web_engine
prepare_web_engine()  # as gui/app.py does before its QApplication
app = QApplication([])
from edgewizard.gui.main_window import MainWindow
from edgewizard.gui.settings import Settings
w = MainWindow(settings=Settings(QSettings(sys.argv[1], QSettings.IniFormat)), welcome=False)
w.show()
QTimer.singleShot(0, lambda: (print("SHOWN", flush=True), w.close(), app.quit()))
app.exec()
"""


def time_to_shown(code: str, *args: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        if line.startswith("SHOWN"):
            elapsed = time.perf_counter() - t0
            proc.wait(60)
            return elapsed
    raise RuntimeError("the window never showed")


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    settings = tempfile.mktemp(suffix=".ini")
    time_to_shown(BARE), time_to_shown(OURS, settings)  # warm the file cache for both
    bare, ours = [], []
    for _ in range(repeats):
        bare.append(time_to_shown(BARE))
        ours.append(time_to_shown(OURS, settings))
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"Process start to main window shown, median of {repeats} (alternating, fresh processes)")
    print(f"  bare PySide6 window + pyqtgraph import: {b * 1000:6.0f} ms")
    print(f"  EdgeWizard main window:                 {o * 1000:6.0f} ms")
    print(f"  ratio: {o / b:.2f}x   (goal: at most 1.5x)")


if __name__ == "__main__":
    main()
