"""Prints, for Keras MobileNetV2 converted to tflite-float and openvino-fp32, per device (LiteRT CPU,
OpenVINO CPU): (1) the sum of the per-op times against the measured latency of the profiled inferences
(goal: within 10%); (2) the median latency of a run without a profile against the latency phase of a
run with one (goal: no measurable difference, within 1%), in alternating rounds, one thread each.

Run: .venv/bin/python tests/bench/profile_figures.py [rounds] [count]"""
from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench._models import mobilenet_v2  # noqa: E402


def bench(model: Path, device: str, count: int, profile: bool):
    from edgewizard.core.bench.runner import BenchRequest, BenchRun

    run = BenchRun(BenchRequest(str(model), device, count=count, warmup=10, threads=1, profile=profile)).start()
    run.wait()
    result = run.result()
    if result.status != "finished":
        raise SystemExit(f"{model.name} on {device}: {result.error}")
    return result


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    from edgewizard.core.convert.run import convert
    from edgewizard.core.plan import LoadOptions, Selection

    folder = Path(tempfile.mkdtemp(prefix="ew-profile-"))
    keras_file, _ = mobilenet_v2(folder)
    convert(str(keras_file), LoadOptions(), Selection(), ["tflite-float", "openvino-fp32"], str(folder))
    models = {"LiteRT CPU": (next(folder.glob("*_float.tflite")), "tflite:CPU"),
              "OpenVINO CPU": (next(folder.glob("*_fp32.xml")), "openvino:CPU")}
    print(f"MobileNetV2 (224x224, weights=None), {rounds} rounds of {count} inferences, 1 thread\n")
    for label, (model, device) in models.items():
        ratios, plain, profiled, last = [], [], [], None
        for _ in range(rounds):
            off = bench(model, device, count, profile=False)
            on = bench(model, device, count, profile=True)
            p = on.profile
            if p is None or not p.available:
                raise SystemExit(f"{label}: no profile ({p.note if p else 'none came back'})")
            ratios.append(p.total_ms / p.latency_ms)
            plain.append(off.median_ms)
            profiled.append(on.median_ms)
            last = p
        ratio = statistics.median(ratios)
        diff = statistics.median(profiled) / statistics.median(plain) - 1
        print(f"{label}: {len(last.ops)} ops timed ({last.source}); {last.note}")
        print(f"  sum of per-op times / measured latency: {ratio:.3f} (rounds: {', '.join(f'{r:.3f}' for r in ratios)}; "
              f"{last.total_ms:.2f} ms vs {last.latency_ms:.2f} ms in the last) -> "
              f"{'within' if abs(ratio - 1) <= 0.10 else 'NOT within'} 10%")
        print(f"  median latency without profile {statistics.median(plain):.3f} ms, latency phase of a profiled run "
              f"{statistics.median(profiled):.3f} ms: {diff:+.2%} -> {'within' if abs(diff) <= 0.01 else 'NOT within'} 1%")
        print("  slowest ops: " + "; ".join(f"{o.op} {o.ms:.2f} ms" for o in last.ops[:3]))


if __name__ == "__main__":
    main()
