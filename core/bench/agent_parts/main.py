"""The wire: the JSON-lines output stream, reading the request (and the files sent after it), running
a probe or a benchmark, and always ending with an 'end' message. The script's entry point."""
import argparse
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback

from .base import AGENT_VERSION, EXIT_CODES, PRECISIONS, PROTOCOL, AgentError, _first_line, describe, need_numpy
from .feeds import input_feeds
from .measure import Counter, measure
from .probe import probe
from .profiling import profile_session, unavailable
from .sessions import RUNTIMES
from .usb import parse_device


class Output(object):
    """The protocol stream. Library output on stdout would corrupt it, so fd 1 becomes stderr."""

    def __init__(self):
        sys.stdout.flush()
        fd = os.dup(1)
        os.dup2(2, 1)
        self._file = os.fdopen(fd, "wb")
        self._lock = threading.Lock()

    def send(self, message_type, **fields):
        fields["type"] = message_type
        line = (json.dumps(fields, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            self._file.write(line)
            self._file.flush()


def receive(request, stdin, workdir):
    """Local paths as given; sent files written into workdir (OpenVINO reads model.xml's model.bin beside it)."""
    paths = []
    files = [("model", e) for e in request.get("files") or []] + ([("data", request["data"])] if request.get("data") else [])
    for stem, entry in files:
        if entry.get("path"):
            paths.append(entry["path"])
            continue
        # Plain ASCII names (an old Python under a C locale cannot write others); the suffix tells
        # OpenVINO the format, and model.xml finds model.bin beside it.
        suffix = os.path.splitext(entry.get("name") or "")[1]
        dest = os.path.join(workdir, stem + (suffix if suffix[1:].isalnum() and max(suffix) < "\x80" else ""))
        remaining = int(entry["size"])
        with open(dest, "wb") as f:
            while remaining > 0:
                chunk = stdin.read(min(remaining, 1 << 20))
                if not chunk:
                    raise AgentError("internal", "The connection closed while the model was being sent.")
                f.write(chunk)
                remaining -= len(chunk)
        paths.append(dest)
    for path in paths:
        if not os.path.exists(path):
            raise AgentError("user", "%s does not exist on this machine." % path)
    data = paths.pop() if request.get("data") else None
    return paths, data


def run(request, paths, data, out, stop, counter):
    kind, option, canonical = parse_device(request.get("device"))
    if not paths:
        raise AgentError("user", "No model file was given.")
    precision = request.get("precision")
    if precision is not None and precision not in PRECISIONS:
        raise AgentError("user", "Precision %r is not one of %s." % (precision, ", ".join(PRECISIONS)))
    started = time.perf_counter()
    session = RUNTIMES[kind](paths[0], option, request.get("threads"), precision)
    np = need_numpy()
    feeds = input_feeds(np, session, data)
    out.send("ready", runtime=session.runtime, runtime_version=session.version, device=canonical,
             device_name=session.device_name, load_ms=round((time.perf_counter() - started) * 1000.0, 3),
             threads=request.get("threads"), inputs=session.inputs, outputs=session.outputs, notes=session.notes,
             precision=getattr(session, "precision", None), default_precision=getattr(session, "default_precision", None))
    reason = measure(session, feeds, request, out, stop, counter)
    if request.get("profile") and reason == "done":
        try:
            fields = profile_session(session, request, stop)
        except Exception as exc:  # the latencies stand; only the per-op times are lost
            fields = unavailable("", "Measuring per-op times failed: %s." % _first_line(exc).rstrip("."))
        out.send("profile", **fields)
    return "stopped" if stop.is_set() else reason


def watch_stdin(stdin, stop):
    try:
        for line in iter(stdin.readline, b""):
            if line.strip() == b"stop":
                break
    except Exception:
        pass
    stop.set()


def request_from_argv(argv):
    p = argparse.ArgumentParser(prog="agent.py", description="EdgeWizard bench agent (JSON lines on stdout).")
    p.add_argument("model", nargs="?")
    p.add_argument("--device", default="tflite:CPU")
    p.add_argument("-n", type=int, dest="count")
    p.add_argument("--seconds", type=float)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int)
    p.add_argument("--precision", choices=PRECISIONS)
    p.add_argument("--data")
    p.add_argument("--profile", action="store_true", help="after the latency run, measure each op's time")
    p.add_argument("--probe", action="store_true")
    a = p.parse_args(argv)
    files = [{"name": os.path.basename(a.model), "path": os.path.abspath(a.model)}] if a.model else []
    return {"protocol": PROTOCOL, "action": "probe" if a.probe else "run", "device": a.device, "count": a.count,
            "seconds": a.seconds, "warmup": a.warmup, "threads": a.threads, "precision": a.precision, "profile": a.profile, "files": files,
            "data": {"name": a.data, "path": os.path.abspath(a.data)} if a.data else None}


def read_request(stdin):
    line = stdin.readline()
    try:
        request = json.loads(line.decode("utf-8"))
    except ValueError:
        request = None
    if not isinstance(request, dict):
        raise AgentError("internal", "The bench request is not a JSON object: %r" % line[:80])
    if request.get("protocol") != PROTOCOL:
        raise AgentError("internal", "This bench agent speaks protocol %d; the request is for %r." % (PROTOCOL, request.get("protocol")))
    return request


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if sys.path and sys.path[0] in ("", os.path.dirname(os.path.abspath(__file__ if "__file__" in globals() else "."))):
        sys.path.pop(0)  # never import a stray numpy.py from the working or our own folder
    out = Output()
    out.send("hello", protocol=PROTOCOL, agent=AGENT_VERSION, python=platform.python_version(),
             implementation=platform.python_implementation(), platform=platform.platform(),
             machine=platform.machine(), executable=sys.executable, pid=os.getpid())
    stop, counter, workdir, code = threading.Event(), Counter(), None, 0
    for name in ("SIGTERM", "SIGINT"):  # finish the inference under way, send what was measured, then end
        try:
            signal.signal(getattr(signal, name), lambda signum, frame: stop.set())
        except (ValueError, AttributeError, OSError):
            pass
    try:
        stdin = sys.stdin.buffer
        request = request_from_argv(argv) if argv else read_request(stdin)
        if request.get("action") == "probe":
            out.send("probe", **probe())
            reason = "done"
        else:
            workdir = tempfile.mkdtemp(prefix="edgewizard-agent-")
            paths, data = receive(request, stdin, workdir)
            if not argv:
                threading.Thread(target=watch_stdin, args=(stdin, stop), daemon=True).start()
            reason = run(request, paths, data, out, stop, counter)
    except AgentError as exc:
        out.send("error", kind=exc.kind, message=exc.message, details=exc.details)
        reason, code = "error", EXIT_CODES.get(exc.kind, 1)
    except KeyboardInterrupt:
        reason = "stopped"
    except Exception as exc:
        out.send("error", kind="internal", message="The bench agent failed: %s" % describe(exc), details=traceback.format_exc())
        reason, code = "error", 1
    finally:
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    out.send("end", reason=reason, count=counter.count, t=round(counter.t, 6))
    return code


def exit_now(code):
    """Leave without interpreter shutdown: the stdin watcher thread holds stdin's lock (CPython aborts
    on it), and some runtimes' teardown can hang. The session was released when run() returned."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


if __name__ == "__main__":
    try:
        exit_now(main())
    except (BrokenPipeError, KeyboardInterrupt):  # the host went away; nothing left to tell it
        exit_now(1)
