"""Per-op time, measured after the latency run in a phase of its own (the latency figures stay as they
were): OpenVINO's performance counters on a second compilation with PERF_COUNT on; LiteRT's op
profiling through its benchmark tool where that tool offers it, else each op of the model timed on its
own; the Edge TPU as one block. The result is the fields of a 'profile' message (protocol 1, agent 1.2):
{source, runs, ops: [[node, op type, ms, precision, block], ...], latency_ms, available, note}."""
import re
import time

from .base import _first_line
from .litert_ops import _mean, litert_profile, steady, unavailable, wall_times

PROFILE_RUNS = (10, 50)  # at least, at most: inferences profiled after warm-up
EDGETPU_BLOCK = "Edge TPU subgraph"


def profile_runs(request):
    low, high = PROFILE_RUNS
    return max(low, min(int(request.get("count") or high), high))


def profile_session(session, request, stop):
    """The profile message's fields for the model `session` has open, on its device and threads."""
    runs, warmup = profile_runs(request), max(2, min(int(request.get("warmup") or 0), 10))
    if session.kind == "openvino":
        return openvino_profile(session, runs, warmup, stop)
    if session.kind == "edgetpu":
        return edgetpu_profile(session.path, wall_times(session.run, runs, warmup, stop))
    return litert_profile(session, runs, warmup, stop)


# ---- OpenVINO: performance counters
def openvino_profile(session, runs, warmup, stop):
    source = "OpenVINO performance counters"
    core, model, device, config = session.profile_args
    config = dict(config)
    config["PERF_COUNT"] = True
    try:
        compiled = core.compile_model(model, device, config)
        request = compiled.create_infer_request()
        for i in range(len(request.model_inputs)):
            request.get_input_tensor(i).data[...] = session.request.get_input_tensor(i).data
    except Exception as exc:
        return unavailable(source, "OpenVINO could not measure per-op times on %s: %s." % (device, _first_line(exc).rstrip(".")))

    def run():
        request.start_async()
        request.wait()

    for _ in range(warmup):
        run()
    perf, wall, per_run, info = time.perf_counter, [], [], {}
    for _ in range(runs):
        if stop.is_set():
            break
        t0 = perf()
        run()
        wall.append((perf() - t0) * 1000.0)
        times = {}
        for p in request.get_profiling_info():
            status = str(getattr(p.status, "name", p.status)).split(".")[-1]
            if status != "EXECUTED":  # NOT_RUN / OPTIMIZED_OUT: fused into another op, no time of its own
                continue
            times[p.node_name] = times.get(p.node_name, 0.0) + p.real_time.total_seconds() * 1000.0
            info[p.node_name] = (p.node_type, precision_of(p.exec_type))
        per_run.append(times)
    kept = steady(wall)
    if not kept:
        return unavailable(source, "The profile was stopped before any inference was measured.")
    totals = {}
    for i in kept:
        for name, ms in per_run[i].items():
            totals[name] = totals.get(name, 0.0) + ms
    ops = [[name, info[name][0], ms / len(kept), info[name][1], ""] for name, ms in totals.items()]
    return {"source": source, "runs": len(kept), "ops": ops, "latency_ms": _mean([wall[i] for i in kept]),
            "available": True, "note": fused_note(model, set(totals))}


def fused_note(model, executed):
    """How many of the model's ops have no time of their own: OpenVINO fused them into an op that has
    one, or optimized them out. Constants, and ops computing only from constants (weights), are not ops
    that run, so they do not count."""
    weights, originals = set(), set()
    for op in model.get_ordered_ops():
        name = op.get_friendly_name()
        sources = [v.get_node().get_friendly_name() for v in op.input_values()]
        if op.get_type_name() == "Constant" or (sources and all(n in weights for n in sources)):
            weights.add(name)
        else:
            originals.add(name)
    silent = originals - executed
    if not silent:
        return ""
    return ("%d of the model's %d ops were fused into other ops or optimized out, so they have no time of their own."
            % (len(silent), len(originals)))


def precision_of(exec_type):
    """'I8' from 'jit_avx512_I8', 'FP32' from 'brgconv_avx512_FP32'; '' when it names none."""
    tail = str(exec_type or "").rsplit("_", 1)[-1].upper()
    return {"F32": "FP32", "F16": "FP16"}.get(tail, tail) if re.match(r"^(I|U|FP|BF|F)\d+$", tail) else ""


# ---- Edge TPU: its compiled subgraph is one op
def edgetpu_profile(path, wall):
    with open(path, "rb") as f:
        compiled = b"edgetpu-custom-op" in f.read()
    if not compiled or not wall:
        return unavailable("", "This model is not compiled for the Edge TPU, so there is no Edge TPU time to show."
                           if not compiled else "The profile was stopped before any inference was measured.")
    ms = _mean(wall)
    return {"source": "Edge TPU (whole subgraph)", "runs": len(wall), "latency_ms": ms, "available": True,
            "ops": [[EDGETPU_BLOCK, "edgetpu-custom-op", ms, "int8", EDGETPU_BLOCK]],
            "note": "The Edge TPU runs its whole compiled subgraph as one op, so its time shows as one block "
                    "(including any ops left on the CPU)."}
