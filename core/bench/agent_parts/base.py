"""EdgeWizard's bench agent: runs a model with whatever runtime exists where it runs and streams
JSON lines of latencies. One standard-library file for Python 3.6+, sent over ssh on stdin.

Protocol 1 (host -> agent on stdin): one JSON request line {"protocol": 1, "action": "run"|"probe",
"device", "count", "seconds", "warmup", "threads", "files": [{"name", "path"} | {"name", "size"}],
"data": null | {"name", "path"|"size"}}, then the raw bytes of every entry that has a "size", in
order; afterwards a line "stop" (or end of input) asks for a graceful stop.
Agent -> host on stdout, one JSON object per line with a "type": hello (protocol, versions) first;
then ready (runtime, device, inputs), warmup {ms}, batch {ms, t: seconds since measuring began},
probe {...}, error {kind: user|missing|device|internal, message, details}; always end {reason, count}.
Since agent 1.1 the request may carry "precision" (null = the device's default, or f32/f16/bf16, OpenVINO
only) and ready says which precision the device really used ("precision") and what its default is
("default_precision"); an older host leaves them out and an older agent does not send them.
Since agent 1.2 the request may carry "profile": true; then, after the last batch and before end, the
agent measures each op's time in a phase of its own and sends profile {source, runs, ops: [[node, op type,
ms per inference, precision, block], ...], latency_ms (mean wall time of the profiled inferences),
available, note}. An older host leaves "profile" out, and an older agent never sends the message.
This file is assembled from edgewizard/core/bench/agent_parts/ (assemble.py); write it out with
`python -m edgewizard.core.bench.agent_parts > agent.py`, then run it by hand:
python3 agent.py MODEL --device tflite:CPU -n 100   (or --probe)."""
import platform
import sys

PROTOCOL = 1
AGENT_VERSION = "1.2"
EXIT_CODES = {"user": 2, "missing": 3}
# OpenVINO's INFERENCE_PRECISION_HINT values a person may ask for. Without one the device picks its own
# default, which on CPUs with AMX / AVX512-BF16 is bf16 even for an FP32 model.
PRECISIONS = ("f32", "f16", "bf16")


class AgentError(Exception):
    def __init__(self, kind, message, details=""):
        Exception.__init__(self, message)
        self.kind, self.message, self.details = kind, message, details


def describe(exc):
    return "%s: %s" % (type(exc).__name__, exc)


def _first_line(exc):
    """The first line that says what is wrong: OpenVINO opens its messages with lines naming its C++
    files ("Exception from src/...cpp:84:", "Check '...' failed at ..."), which tell a person nothing."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    useful = [ln for ln in lines if not (ln.startswith(("Exception from ", "Check '", "FrontEnd API failed"))
                                         or ln.rstrip(":").endswith((".cpp", ".hpp")) or ".cpp:" in ln)]
    return (useful or lines or [type(exc).__name__])[0][:300]


def precision_name(value):
    """'f32' for openvino.Type.f32 (or the string OpenVINO 2022 returns), None when unknown."""
    if value is None:
        return None
    name = value.get_type_name() if hasattr(value, "get_type_name") else str(value)
    return {"float32": "f32", "float16": "f16", "bfloat16": "bf16", "FP32": "f32", "FP16": "f16",
            "BF16": "bf16"}.get(name, name) or None


def _property(obj, *args):
    try:
        return obj.get_property(*args)
    except Exception:  # a device or an old runtime without the property
        return None


def need_numpy():
    try:
        import numpy
        return numpy
    except ImportError:
        raise AgentError("missing", "numpy is not installed for %s, and every runtime needs it: install it with "
                         "'%s -m pip install numpy'." % (sys.executable, sys.executable))


def cpu_name():
    """The board or processor name from /proc/cpuinfo ("Raspberry Pi 4 Model B"), else the machine type."""
    names = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                names.setdefault(key.strip(), value.strip())
    except (IOError, OSError):
        pass
    return names.get("Model") or names.get("model name") or platform.machine() or "CPU"
