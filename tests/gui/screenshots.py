"""Renders a screenshot of each wizard step, driven through the sample model as a person would
(open the sample, choose targets, convert). Not a test: run under Xvfb and look at the pictures.

    xvfb-run -a -s "-screen 0 1280x900x24" .venv/bin/python tests/gui/screenshots.py docs/screenshots [scale]

EDGEWIZARD_SHOT_SIZE=1366x768 sets the window's size (default 1180x820; give the screen room for it);
EDGEWIZARD_SHOT_MODEL=PATH drives another model than the sample (float targets only)."""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def wait_until(app, cond, timeout=180.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("the window did not reach the expected state in time")
        app.processEvents()
        time.sleep(0.02)


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    scale = sys.argv[2] if len(sys.argv) > 2 else ""
    if scale:
        os.environ["QT_SCALE_FACTOR"] = scale
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from edgewizard.core.samples import sample_model_path
    from edgewizard.gui.main_window import MainWindow
    from edgewizard.gui.netron_scheme import prepare_web_engine
    from edgewizard.gui.settings import Settings

    prepare_web_engine()  # as the app does: before the QApplication exists
    app = QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="ew-shots-"))
    settings = Settings(QSettings(str(tmp / "settings.ini"), QSettings.IniFormat))
    w = MainWindow(settings=settings, welcome=False)
    width, height = (int(v) for v in os.environ.get("EDGEWIZARD_SHOT_SIZE", "1180x820").split("x"))
    w.resize(width, height)
    w.show()
    suffix = f"@{scale}x" if scale else ""

    def shot(name):
        for _ in range(20):
            app.processEvents()
            time.sleep(0.01)
        w.grab().save(str(out / f"{name}{suffix}.png"))
        print(out / f"{name}{suffix}.png")

    shot("0-start")
    model = os.environ.get("EDGEWIZARD_SHOT_MODEL")  # another model than the sample: float targets only
    w.open_model(model or str(sample_model_path()))
    wait_until(app, lambda: w.state.model is not None)
    shot("1-model")
    w.go(1)
    nodes = w.page("Nodes")
    wait_until(app, lambda: "drawn" in nodes.graph_view.timings or not nodes.banner.isHidden(), timeout=60)
    time.sleep(0.5)
    nodes.search.setText("conv")
    shot("2-nodes")
    nodes.search.setText("")
    target = w.page("Target")
    w.go(2)
    for key in ("openvino", "tflite") if model else ("edgetpu", "openvino", "tflite"):
        target.device_checks[key].setChecked(True)
    target.precision["openvino"].setCurrentIndex(1)
    target.precision["tflite"].setCurrentIndex(0 if model else 3)  # int8 needs the model's own calibration data
    target.output_dir.setText(str(tmp / "converted"))
    shot("3-target")
    target.tabs.setCurrentIndex(1)
    target.checks.start()
    wait_until(app, lambda: bool(w.state.validation) or not target.banner.isHidden())
    shot("3b-will-it-run")
    w.go(1)
    time.sleep(0.5)
    shot("2b-nodes-coloured")
    w.go(3)
    convert = w.page("Convert")
    convert.start()
    wait_until(app, lambda: convert.overall.value() > 300 or w.state.manifest is not None)
    shot("4a-converting")
    wait_until(app, lambda: w.state.manifest is not None or not convert.banner.isHidden())
    shot("4b-converted")
    w.go(4)
    verify = w.page("Verify")
    verify.start()
    wait_until(app, lambda: verify.report is not None or not verify.banner.isHidden())
    shot("5-verify")
    w.go(5)
    bench = w.page("Benchmark")
    wait_until(app, lambda: "Ready here" in bench.devices_label.text())
    bench.count.setValue(1_000_000)
    bench.device.setCurrentIndex(bench.device.findData("tflite:CPU"))
    bench.start()
    wait_until(app, lambda: bench.runs and bench.runs[0].n > 20000)
    shot("6a-bench-live")
    bench.stop()
    wait_until(app, lambda: bench.active is None)
    bench.count.setValue(20000)
    bench.device.setCurrentIndex(bench.device.findData("openvino:CPU"))
    bench.start()
    wait_until(app, lambda: bench.active is None)
    bench.baseline.setCurrentIndex(0)
    shot("6b-bench-compare")
    w.close()
    del w
    app.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
