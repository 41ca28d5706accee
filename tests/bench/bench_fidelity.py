"""Prints how close `edgewizard bench`'s median latency is to the vendors' own benchmark tools, on
Keras MobileNetV2 (weights=None) converted by `edgewizard convert`, in the same run, interleaved:
  - OpenVINO FP32 IR on CPU vs OpenVINO's benchmark_app -hint latency;
  - LiteRT int8 TFLite with 2 threads vs litert-benchmark --num_threads 2, and vs a plain Python
    loop of Interpreter.invoke() (labelled as such). Goal: within 3 % of each.

Run: .venv/bin/python tests/bench/bench_fidelity.py [rounds]"""
from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _models import mobilenet_v2  # noqa: E402

EXE = str(Path(sys.executable).with_name("edgewizard"))
OV_RUNS, TFL_RUNS, WARMUP = 1000, 300, 20

# benchmark_app with OpenVINO's usage telemetry made unavailable (its import would phone home).
BENCHMARK_APP = "import sys; sys.modules['openvino_telemetry'] = None; from openvino.tools.benchmark.main import main; sys.argv[0] = 'benchmark_app'; main()"

PLAIN_LOOP = r"""
import sys, time, statistics, numpy as np
from ai_edge_litert.interpreter import Interpreter
it = Interpreter(model_path=sys.argv[1], num_threads=2)
it.allocate_tensors()
d = it.get_input_details()[0]
it.set_tensor(d["index"], np.random.default_rng(0).integers(0, 256, d["shape"]).astype(d["dtype"]))
for _ in range(int(sys.argv[3])):
    it.invoke()
ms = []
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter(); it.invoke(); ms.append((time.perf_counter() - t0) * 1000)
print(statistics.median(ms))
"""


def run(argv) -> subprocess.CompletedProcess:
    out = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return out


def ours(model: Path, device: str, runs: int, threads=None) -> float:
    argv = [EXE, "bench", str(model), "--device", device, "-n", str(runs), "--warmup", str(WARMUP), "--json"]
    if threads:
        argv += ["--threads", str(threads)]
    return json.loads(run(argv).stdout)["median_ms"]


def benchmark_app(xml: Path, runs: int) -> float:
    text = run([sys.executable, "-c", BENCHMARK_APP, "-m", str(xml), "-d", "CPU", "-hint", "latency", "-niter", str(runs)]).stdout
    value, unit = re.search(r"Median:\s+([0-9.]+)\s*(ms|us)", text).groups()
    return float(value) / (1000.0 if unit == "us" else 1.0)


def litert_benchmark(tflite: Path, runs: int) -> float:
    tool = str(Path(sys.executable).with_name("litert-benchmark"))
    out = run([tool, "--model", str(tflite), "--num_threads", "2", "--num_runs", str(runs), "--warmup_runs", str(WARMUP)])
    text = out.stdout + out.stderr
    return float(re.search(r"Inference \(median\):\s+([0-9.]+) ms", text).group(1))


def plain_loop(tflite: Path, runs: int) -> float:
    return float(run([sys.executable, "-c", PLAIN_LOOP, str(tflite), str(runs), str(WARMUP)]).stdout.split()[-1])


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    folder = Path(tempfile.mkdtemp(prefix="ew-fidelity-"))
    try:
        model, calib = mobilenet_v2(folder, 32)
        out = folder / "out"
        run([EXE, "convert", str(model), "-t", "openvino-fp32", "-t", "tflite-int8", "--calib", str(calib),
             "--calib-samples", "32", "-o", str(out)])
        xml, tflite = out / "mobilenet_v2_fp32.xml", out / "mobilenet_v2_int8.tflite"
        series = {k: [] for k in ("ours_ov", "benchmark_app", "ours_tfl", "litert_benchmark", "plain_loop")}
        for i in range(rounds):  # interleaved, so a busy moment on the machine hits every tool alike
            series["ours_ov"].append(ours(xml, "openvino:CPU", OV_RUNS))
            series["benchmark_app"].append(benchmark_app(xml, OV_RUNS))
            series["ours_tfl"].append(ours(tflite, "tflite:CPU", TFL_RUNS, threads=2))
            series["litert_benchmark"].append(litert_benchmark(tflite, TFL_RUNS))
            series["plain_loop"].append(plain_loop(tflite, TFL_RUNS))
            print(f"round {i + 1}: " + "  ".join(f"{k} {v[-1]:.3f}" for k, v in series.items()), file=sys.stderr)
        m = {k: statistics.median(v) for k, v in series.items()}
        low = {k: min(v) for k, v in series.items()}  # least disturbed by other processes on a shared machine

        def pct(a, b, d=m):
            return f"{100 * (d[a] / d[b] - 1):+5.1f} %"

        print(f"Keras MobileNetV2 (weights=None, 224x224, batch 1); per tool: median and minimum of its per-run medians "
              f"over {rounds} interleaved rounds (load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        rows = [("OpenVINO FP32 IR, CPU, latency hint", OV_RUNS, "ours_ov", [("benchmark_app -hint latency", "benchmark_app")]),
                ("LiteRT int8 TFLite, CPU, 2 threads", TFL_RUNS, "ours_tfl", [("litert-benchmark --num_threads 2", "litert_benchmark"),
                                                                            ("plain Python invoke() loop", "plain_loop")])]
        for title, runs, mine, refs in rows:
            print(f"  {title} ({runs} runs each):")
            print(f"    {'edgewizard bench':34} median {m[mine]:7.3f} ms   min {low[mine]:7.3f} ms")
            for label, key in refs:
                # Each round runs both tools back to back: the median of those paired ratios is the
                # figure least moved by other processes' load drifting between rounds.
                paired = statistics.median(a / b for a, b in zip(series[mine], series[key]))
                print(f"    {label:34} median {m[key]:7.3f} ms   min {low[key]:7.3f} ms   ours vs it: "
                      f"{pct(mine, key)} (medians), {pct(mine, key, low)} (minima), {100 * (paired - 1):+5.1f} % "
                      "(paired per round); goal within 3 %")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
