"""The report viewer inside the app: shows the HTML, saves a PDF, and lets nothing but the report's
own file load. WebEngine needs a display, so the viewer runs in a child process on our own Xvfb."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.gui.test_graph_view import _start_xvfb

REPO = Path(__file__).resolve().parents[2]
HTML = """<!doctype html><html><body><h1>EdgeWizard report</h1><p>digits_cnn_int8.tflite</p>
<img src="https://192.0.2.1/tracker.png"><img src="file:///etc/hostname"></body></html>"""


def drive(report: Path, pdf: Path, out: Path) -> None:
    from edgewizard.gui.netron_scheme import prepare_web_engine

    prepare_web_engine()
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from edgewizard.gui.widgets.report_view import ReportDialog, show_report

    dialog = show_report(None, report)
    result = {"dialog": isinstance(dialog, ReportDialog)}
    loaded = []
    dialog.view.loadFinished.connect(loaded.append)
    end = time.monotonic() + 60
    while not loaded and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    done = []
    dialog.view.page().pdfPrintingFinished.connect(lambda f, ok: done.append(ok))
    dialog.view.page().printToPdf(str(pdf))
    while not done and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    from PySide6.QtWebEngineCore import QWebEngineSettings

    remote = dialog.view.settings().testAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls)
    result.update(loaded=loaded, pdf=done, blocked=list(dialog.guard.blocked), remote_allowed=remote)
    out.write_text(json.dumps(result))
    dialog.close()
    del dialog
    app.shutdown()


def test_the_report_shows_in_the_app_prints_to_pdf_and_loads_nothing_else(tmp_path):
    if not shutil.which("Xvfb"):
        pytest.skip("Qt WebEngine needs a display and Xvfb is not installed (apt install xvfb)")
    report, pdf, out = tmp_path / "report.html", tmp_path / "report.pdf", tmp_path / "result.json"
    report.write_text(HTML, encoding="utf-8")
    xvfb, display = _start_xvfb()
    try:
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(REPO))
        env["QTWEBENGINE_CHROMIUM_FLAGS"] = "--disable-gpu" + (" --no-sandbox" if os.geteuid() == 0 else "")
        proc = subprocess.run([sys.executable, "-m", "tests.gui.test_report_view", str(report), str(pdf), str(out)],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    assert out.exists(), proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["dialog"] and result["loaded"] == [True] and result["pdf"] == [True]
    assert pdf.read_bytes().startswith(b"%PDF")
    assert result["remote_allowed"] is False  # the https image never leaves: WebEngine refuses it for a file page
    assert any(u.startswith("file:///etc/hostname") for u in result["blocked"])


if __name__ == "__main__":
    drive(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
