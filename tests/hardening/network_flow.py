"""A whole GUI flow for the network test (not collected by pytest): open the sample, show its graph in
Netron (Qt WebEngine), check it against the targets, convert to tflite-int8 and openvino-fp16,
verify, and benchmark on the LiteRT CPU through the bench agent. Prints one JSON line of what it saw.

    .venv/bin/python tests/hardening/network_flow.py OUT_DIR     (needs a display: Xvfb or xvfb-run)"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

STEP_TIMEOUT = 300.0
BENCH_COUNT = 300


def main(out: Path) -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from edgewizard.core.samples import sample_model_path
    from edgewizard.gui.main_window import MainWindow
    from edgewizard.gui.netron_scheme import prepare_web_engine
    from edgewizard.gui.settings import Settings

    reason = prepare_web_engine()
    app = QApplication(["edgewizard"])
    out.mkdir(parents=True, exist_ok=True)
    settings = Settings(QSettings(str(out / "settings.ini"), QSettings.IniFormat))
    w = MainWindow(settings=settings, welcome=False)
    w.resize(1180, 820)
    w.show()
    seen = {"platform": app.platformName(), "web_engine": reason or "ok", "steps": []}

    def wait(cond, what: str, timeout: float = STEP_TIMEOUT) -> None:
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
            app.processEvents()
            time.sleep(0.02)
        seen["steps"].append(what)

    def banner(page) -> bool:
        return bool(page.banner.text)

    try:
        w.open_model(str(sample_model_path()))
        wait(lambda: w.state.model is not None, "model loaded")
        assert w.go(1)
        nodes = w.page("Nodes")
        view = nodes.graph_view
        wait(lambda: "drawn" in view.timings, "graph drawn by Netron")
        assert w.go(2)
        target = w.page("Target")
        for key in ("openvino", "tflite"):
            target.device_checks[key].setChecked(True)
        target.precision["tflite"].setCurrentIndex(target.precision["tflite"].findData("tflite-int8"))
        target.precision["openvino"].setCurrentIndex(target.precision["openvino"].findData("openvino-fp16"))
        target.output_dir.setText(str(out / "converted"))
        target.tabs.setCurrentIndex(1)
        target.checks.start()
        wait(lambda: bool(w.state.validation), "validated")
        assert w.go(3)
        convert = w.page("Convert")
        convert.start()
        wait(lambda: w.state.manifest is not None or banner(convert), "converted")
        if w.state.manifest is None:
            raise RuntimeError(f"conversion failed: {convert.banner.text}")
        seen["targets"] = sorted(a.target for a in w.state.manifest.artifacts if a.status == "ok")
        assert w.go(4)
        verify = w.page("Verify")
        verify.start()
        wait(lambda: verify.report is not None or banner(verify), "verified")
        seen["verified"] = [f"{c.file}: {c.status}" for c in verify.report.artifacts] if verify.report else verify.banner.text
        assert w.go(5)
        bench = w.page("Benchmark")
        wait(lambda: "Ready here" in bench.devices_label.text(), "devices discovered")
        bench.device.setCurrentIndex(bench.device.findData("tflite:CPU"))
        bench.count.setValue(BENCH_COUNT)
        bench.start()
        wait(lambda: bench.active is None and bool(bench.runs), "benchmarked")
        seen["bench_count"] = bench.runs[0].bench.result().count
        guard = view.guard
        seen["webengine_blocked"] = list(guard.blocked) if guard is not None else None
        seen["webengine_allowed"] = guard.allowed if guard is not None else None
        code = 0
    except Exception as exc:  # noqa: BLE001 - the test reads the reason from the JSON line
        seen["error"] = f"{type(exc).__name__}: {exc}"
        code = 1
    finally:
        w.close()
        del w
        app.processEvents()
        app.shutdown()
    print("FLOW " + json.dumps(seen), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
