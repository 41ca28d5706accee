"""Prints (1) the median latency measured with the Benchmark step plotting live vs the same run
from the CLI (alternating rounds, same model and device), goal within 3%; and (2) the GUI process's
memory before and after a 100,000-inference run with the plot open, goal growth under 50 MB.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python tests/bench/bench_plot_overhead.py [rounds] [count]"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    exe = str(Path(sys.executable).with_name("edgewizard"))
    folder = Path(tempfile.mkdtemp(prefix="ew-plot-"))
    subprocess.run([exe, "convert", "--target", "tflite-float", "-o", str(folder)], check=True, capture_output=True)
    model = str(folder / "digits_cnn_float.tflite")

    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from edgewizard.gui.main_window import MainWindow
    from edgewizard.gui.settings import Settings

    app = QApplication([])
    w = MainWindow(settings=Settings(QSettings(str(folder / "s.ini"), QSettings.IniFormat)), welcome=False)
    w.show()
    page = w.page("Benchmark")
    page.model.addItem(Path(model).name, model)
    page.model.setCurrentIndex(page.model.count() - 1)
    page.device.setCurrentIndex(page.device.findData("tflite:CPU"))

    def gui_run(n: int) -> float:
        page.count.setValue(n)
        page.start()
        loop = QEventLoop()
        check = QTimer()
        check.timeout.connect(lambda: loop.quit() if page.active is None else None)
        check.start(50)
        loop.exec()
        check.stop()
        return page.runs[-1].result.median_ms

    def cli_run(n: int) -> float:
        out = subprocess.run([exe, "bench", model, "--device", "tflite:CPU", "-n", str(n), "--json"],
                             check=True, capture_output=True, text=True)
        return json.loads(out.stdout)["median_ms"]

    gui, cli = [], []
    for _ in range(rounds):
        cli.append(cli_run(count))
        gui.append(gui_run(count))
    g, c = statistics.median(gui), statistics.median(cli)
    print(f"Median latency of the sample CNN (tflite-float, LiteRT CPU), {count} inferences x {rounds} rounds, alternating")
    print(f"  CLI:                  {c:.4f} ms   rounds: {', '.join(f'{v:.4f}' for v in cli)}")
    print(f"  GUI with live plot:   {g:.4f} ms   rounds: {', '.join(f'{v:.4f}' for v in gui)}")
    print(f"  difference: {100 * (g / c - 1):+.1f} %   (goal: within 3 %)")
    before = rss_mb()
    t0 = time.monotonic()
    gui_run(100_000)
    after = rss_mb()
    print(f"GUI process memory around a 100,000-inference run with the plot open ({time.monotonic() - t0:.0f} s): "
          f"{before:.0f} MB -> {after:.0f} MB ({after - before:+.1f} MB; goal under +50 MB)")
    w.close()
    del w
    app.shutdown()


if __name__ == "__main__":
    main()
