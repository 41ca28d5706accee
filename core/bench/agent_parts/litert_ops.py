"""LiteRT's per-op time: its benchmark tool's op profiling where the tool offers it, else each op of
the model in a model of its own, timed in rounds interleaved with the whole model; and the small
timing helpers the profile parts share."""
import copy
import os
import re
import subprocess
import sys
import time

TOOL_NAMES = ("litert-benchmark", "benchmark_model")


def unavailable(source, note):
    return {"source": source, "runs": 0, "ops": [], "latency_ms": None, "available": False, "note": note}


def wall_times(run, runs, warmup, stop):
    perf = time.perf_counter
    for _ in range(warmup):
        run()
    out = []
    for _ in range(runs):
        if stop.is_set():
            break
        t0 = perf()
        run()
        out.append((perf() - t0) * 1000.0)
    return out


def _mean(values):
    return sum(values) / len(values) if values else None


def steady(values):
    """The indexes of the inferences the machine did not interrupt: a time over twice the median measures
    another program that had the CPU, so it is left out (of the op times and the latency alike)."""
    if not values:
        return []
    middle = sorted(values)[len(values) // 2]
    return [i for i, v in enumerate(values) if v <= 2 * middle]


def steady_mean(values):
    return _mean([values[i] for i in steady(values)])


# ---- LiteRT: the benchmark tool's op profiling, else each op timed alone
def find_tool():
    """The LiteRT benchmark tool beside this Python (a venv's bin), then on PATH; None if absent."""
    here = os.path.dirname(sys.executable)
    for name in TOOL_NAMES:
        for candidate in (os.path.join(here, name), _which(name)):
            if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    return None


def _which(name):
    for folder in (os.environ.get("PATH") or "").split(os.pathsep):
        path = os.path.join(folder, name)
        if folder and os.path.isfile(path):
            return path
    return None


def tool_profiles_ops(tool):
    code, text = _call([tool, "--help"], 60)
    return b"enable_op_profiling" in text


def _call(argv, timeout):
    """(exit code, stdout and stderr) of argv; (None, b"") when it cannot run or takes too long."""
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError:
        return None, b""
    try:
        out = proc.communicate(timeout=timeout)[0]
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None, b""


def litert_profile(session, runs, warmup, stop, tool="find", schema="find"):
    tool = find_tool() if tool == "find" else tool
    if tool and tool_profiles_ops(tool):
        result = tool_profile(tool, session.path, session.threads, runs, warmup)
        if result is not None:
            return result
    schema = _schema() if schema == "find" else schema
    if schema is None:
        return unavailable("LiteRT op profiling", "This LiteRT has no per-op profiler (no benchmark tool with op "
                           "profiling, nor the model schema to time each op alone), so only the whole model's time is known.")
    return ops_alone_profile(session, runs, warmup, stop, schema)


def tool_profile(tool, path, threads, runs, warmup):
    argv = [tool, "--graph=" + path, "--enable_op_profiling=true", "--num_runs=%d" % runs,
            "--warmup_runs=%d" % warmup] + (["--num_threads=%d" % threads] if threads else [])
    if os.path.basename(tool) == "litert-benchmark":
        argv[1] = "--model=" + path
    code, text = _call(argv, 600)
    return parse_op_profile(text.decode("utf-8", "replace"), runs) if code == 0 else None


_ROW = re.compile(r"^\s*(\S+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)%\s+([\d.]+)%\s+([\d.]+)\s+(\d+)\s+\[(.*)\]\s*$")


def parse_op_profile(text, runs):
    """The 'Operator-wise Profiling Info for Regular Benchmark Runs' run-order table (node type, first,
    avg ms, %, cdf%, mem KB, times called, [name]) and the average latency; None if it has no table."""
    part = text.split("Operator-wise Profiling Info for Regular Benchmark Runs", 1)
    if len(part) < 2:
        return None
    table = part[1].split("Top by Computation Time", 1)[0]
    ops = []
    for line in table.splitlines():
        m = _ROW.match(line)
        if m:
            kind, name = m.group(1), m.group(8)
            block = "XNNPACK delegate" if "XNNPACK" in kind.upper() or "DELEGATE" in kind.upper() else ""
            ops.append([name or kind, kind, float(m.group(3)), "", block])
    latency = re.search(r"Inference \(avg\):\s*([\d.e+]+)", text)
    return {"source": "LiteRT op profiling", "runs": runs, "ops": ops,
            "latency_ms": float(latency.group(1)) / 1000.0 if latency else None, "available": bool(ops),
            "note": "" if ops else "LiteRT's benchmark tool printed no per-op times for this model."}


def _schema():
    try:
        from ai_edge_litert import schema_py_generated  # it imports flatbuffers, whose Builder packs a model
    except ImportError:
        return None
    return schema_py_generated if hasattr(schema_py_generated, "flatbuffers") else None


def op_type_name(schema, code):
    if code.customCode:
        return code.customCode.decode("utf-8", "replace") if isinstance(code.customCode, bytes) else str(code.customCode)
    number = max(int(code.deprecatedBuiltinCode or 0), int(code.builtinCode or 0))
    names = dict((v, k) for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_") and isinstance(v, int))
    return names.get(number, "OP_%d" % number)


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


def one_op_models(schema, data):
    """(node, op type, precision, model bytes, input tensors, output tensors) per op of the main subgraph: each op alone in a model whose
    inputs are its non-constant inputs and whose outputs are its outputs, with only its own buffers."""
    model = schema.ModelT.InitFromPackedBuf(data, 0)
    graph = model.subgraphs[0]
    types = dict((v, k.lower()) for k, v in vars(schema.TensorType).items() if not k.startswith("_") and isinstance(v, int))
    for op in graph.operators:
        kind = op_type_name(schema, model.operatorCodes[op.opcodeIndex])
        used = [t for t in list(op.inputs if op.inputs is not None else []) + list(op.outputs) if t >= 0]
        order = list(dict.fromkeys(used))
        index = dict((t, i) for i, t in enumerate(order))
        buffers, tensors = [schema.BufferT()], []
        for t in order:
            tensor = copy.copy(graph.tensors[t])
            source = model.buffers[tensor.buffer] if tensor.buffer else None
            if source is not None and source.data is not None and len(source.data):
                buffers.append(source)
                tensor.buffer = len(buffers) - 1
            else:
                tensor.buffer = 0
            tensors.append(tensor)
        const = set(t for t in order if tensors[index[t]].buffer)
        sub = schema.SubGraphT()
        sub.tensors = tensors
        ins = list(dict.fromkeys(t for t in op.inputs if t >= 0 and t not in const and t not in op.outputs))
        outs = [t for t in op.outputs if t >= 0]
        sub.inputs, sub.outputs = [index[t] for t in ins], [index[t] for t in outs]
        alone = schema.OperatorT()
        for name, value in vars(op).items():
            setattr(alone, name, value)
        alone.inputs = [index[t] if t >= 0 else -1 for t in op.inputs]
        alone.outputs = [index[t] for t in op.outputs]
        alone.intermediates = None
        sub.operators = [alone]
        out = schema.ModelT()
        out.version, out.operatorCodes, out.subgraphs, out.buffers = model.version, model.operatorCodes, [sub], buffers
        out.description = model.description
        builder = schema.flatbuffers.Builder(1024)
        builder.Finish(out.Pack(builder), b"TFL3")
        first = graph.tensors[op.outputs[0]] if len(op.outputs) else None
        node = _text(first.name) if first is not None else kind
        yield node, kind.upper(), types.get(first.type, "") if first is not None else "", bytes(builder.Output()), ins, outs


def ops_alone_profile(session, runs, warmup, stop, schema):
    """The model run op by op, each op in a model of its own on the same runtime and threads, fed the
    outputs the ops before it computed (copied in untimed, as its producer would just have written them);
    each round is such a pass, then one whole-model inference, so a machine busier for a while weighs
    on the op times and on the latency alike."""
    module = sys.modules[type(session.interpreter).__module__]
    with open(session.path, "rb") as f:
        data = f.read()
    alone, failed = [], []
    kwargs = {"num_threads": session.threads} if session.threads else {}
    for node, kind, precision, content, ins, outs in one_op_models(schema, data):
        try:
            interpreter = module.Interpreter(model_content=content, **kwargs)
            interpreter.allocate_tensors()
            feeds = [d["index"] for d in interpreter.get_input_details()]
            takes = [d["index"] for d in interpreter.get_output_details()]
        except Exception:  # an op that cannot run on its own (control flow, a custom op)
            failed.append(kind)
            continue
        alone.append((node, kind, precision, interpreter, list(zip(ins, feeds)), list(zip(outs, takes)), []))
    values = dict((d["index"], session.interpreter.get_tensor(d["index"])) for d in session.interpreter.get_input_details())
    perf, wall = time.perf_counter, []

    def one_pass(timed):
        for node, kind, precision, interpreter, feeds, takes, times in alone:
            for original, index in feeds:
                if original in values:
                    interpreter.set_tensor(index, values[original])
            t0 = perf()
            interpreter.invoke()
            if timed:
                times.append((perf() - t0) * 1000.0)
            for original, index in takes:
                values[original] = interpreter.get_tensor(index)

    try:
        for k in range(warmup + runs):
            if stop.is_set():
                break
            one_pass(k >= warmup)
            t0 = perf()
            session.run()
            if k >= warmup:
                wall.append((perf() - t0) * 1000.0)
    except Exception as exc:
        return unavailable("LiteRT, each op timed alone", "Running the model op by op failed: %s." % str(exc).splitlines()[0][:200].rstrip("."))
    ops = [[entry[0], entry[1], steady_mean(entry[6]), entry[2], ""] for entry in alone if entry[6]]
    note = "This LiteRT has no op profiler, so the model was run op by op, each op timed on its own with the same threads."
    if failed:
        note += " %d ops could not run on their own and have no time (%s)." % (len(failed), ", ".join(sorted(set(failed))))
    return {"source": "LiteRT, each op timed alone", "runs": len(wall), "ops": ops, "latency_ms": steady_mean(wall),
            "available": bool(ops), "note": note}
