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
Run by hand: python3 agent.py MODEL --device tflite:CPU -n 100   (or --probe)."""
import argparse
import ctypes
import glob
import importlib.util
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

PROTOCOL = 1
AGENT_VERSION = "1.1"
FLUSH_S = 0.05  # a batch of latencies at least every 50 ms ...
MAX_BATCH = 2000  # ... or every 2000 samples, whichever comes first
USB_IDS = {
    "1a6e:089a": ("coral", "Coral USB Accelerator (waiting for its firmware, normal before first use)"),
    "18d1:9302": ("coral", "Coral USB Accelerator"),
    "03e7:2485": ("ncs2", "Intel Neural Compute Stick 2"),
    "03e7:f63b": ("ncs2", "Intel Neural Compute Stick 2 (booted)"),
    "03e7:2150": ("ncs", "Intel Movidius Neural Compute Stick (first generation)"),
}
EDGETPU_LIBS = {"Linux": "libedgetpu.so.1", "Darwin": "libedgetpu.1.dylib", "Windows": "edgetpu.dll"}
EDGETPU_INSTALL = "the Edge TPU runtime (libedgetpu1-std from Google's Coral apt repository, or edgetpu.dll/libedgetpu.1.dylib from coral.ai)"
MYRIAD_INSTALL = "a Python 3.7-3.10 environment with openvino 2022.3 (pip install \"openvino==2022.3.*\"), given with --runtime-python"
OPENVINO_HINTS = {"NPU": "an Intel NPU needs a Core Ultra processor and Intel's NPU driver",
                  "GPU": "an Intel GPU needs Intel's GPU compute runtime (intel-opencl-icd on Linux)"}
EXIT_CODES = {"user": 2, "missing": 3}
# OpenVINO's INFERENCE_PRECISION_HINT values a person may ask for. Without one the device picks its own
# default, which on CPUs with AMX / AVX512-BF16 is bf16 even for an FP32 model.
PRECISIONS = ("f32", "f16", "bf16")


class AgentError(Exception):
    def __init__(self, kind, message, details=""):
        Exception.__init__(self, message)
        self.kind, self.message, self.details = kind, message, details


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


# ------------------------------------------------------------------ what is here

def describe(exc):
    return "%s: %s" % (type(exc).__name__, exc)


def _first_line(exc):
    """The first line that says what is wrong: OpenVINO opens its messages with lines naming its C++
    files ("Exception from src/...cpp:84:", "Check '...' failed at ..."), which tell a person nothing."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    useful = [ln for ln in lines if not (ln.startswith(("Exception from ", "Check '", "FrontEnd API failed"))
                                         or ln.rstrip(":").endswith((".cpp", ".hpp")) or ".cpp:" in ln)]
    return (useful or lines or [type(exc).__name__])[0][:300]


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


def usb_devices():
    """Known accelerators on USB, from /sys (Linux) or pyusb where it is installed."""
    ids = []
    root = "/sys/bus/usb/devices"
    if os.path.isdir("/sys/bus"):  # Linux; without a usb folder there is no USB controller at all
        for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
            try:
                with open(os.path.join(root, name, "idVendor")) as f:
                    vendor = f.read().strip()
                with open(os.path.join(root, name, "idProduct")) as f:
                    product = f.read().strip()
            except (IOError, OSError):
                continue
            ids.append("%s:%s" % (vendor.lower(), product.lower()))
    else:
        try:
            import usb.core  # pyusb, optional
            ids = ["%04x:%04x" % (d.idVendor, d.idProduct) for d in usb.core.find(find_all=True)]
        except Exception:
            return None  # cannot tell on this system
    return [{"id": i, "kind": USB_IDS[i][0], "name": USB_IDS[i][1]} for i in ids if i in USB_IDS]


def usb_kinds():
    found = usb_devices()
    return None if found is None else set(d["kind"] for d in found)


def edgetpu_library():
    name = EDGETPU_LIBS.get(platform.system(), "libedgetpu.so.1")
    try:
        ctypes.CDLL(name)
        return name, ""
    except OSError as exc:
        return name, str(exc) or "not found"


def google_pycoral():
    """Google's pycoral has pycoral/utils/edgetpu.py; the unrelated PyPI 'pycoral' does not. Not imported here."""
    try:
        spec = importlib.util.find_spec("pycoral")
    except (ImportError, ValueError):
        return False
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if os.path.isfile(os.path.join(folder, "utils", "edgetpu.py")):
            return True
    return False


def need_numpy():
    try:
        import numpy
        return numpy
    except ImportError:
        raise AgentError("missing", "numpy is not installed for %s, and every runtime needs it: install it with "
                         "'%s -m pip install numpy'." % (sys.executable, sys.executable))


def tflite_module(for_edgetpu=False):
    """The TFLite Interpreter module here: (module, runtime name, version). Coral's own tflite_runtime
    goes first for the Edge TPU, since libedgetpu must match the runtime's build."""
    order = ("tflite_runtime", "ai_edge_litert") if for_edgetpu else ("ai_edge_litert", "tflite_runtime")
    errors = []
    for name in order:
        try:
            module = __import__(name + ".interpreter", fromlist=["Interpreter"])
            top = sys.modules[name]
            return module, name, str(getattr(top, "__version__", ""))
        except ImportError as exc:
            if getattr(exc, "name", None) not in (name, name + ".interpreter"):
                errors.append("%s: %s" % (name, exc))  # installed but broken: say how
    need_numpy()
    raise AgentError("missing", "No TFLite runtime is installed for %s: install it with '%s -m pip install "
                     "ai-edge-litert' (or tflite-runtime on older systems)." % (sys.executable, sys.executable),
                     "\n".join(errors))


_core = []


def openvino_core():
    if not _core:
        need_numpy()
        # Importing openvino sends a usage event to an analytics service from a forked process unless
        # its telemetry package is absent. Nothing phones home (DESIGN.md), and that fork from a
        # threaded process can hang for ever as an orphan. Make the package look absent: OpenVINO
        # then falls back to its built-in stub.
        sys.modules.setdefault("openvino_telemetry", None)
        try:
            import openvino
        except ImportError as exc:
            raise AgentError("missing", "OpenVINO is not installed for %s: install it with '%s -m pip install "
                             "openvino'." % (sys.executable, sys.executable), describe(exc))
        try:
            core_cls, version = openvino.Core, openvino.get_version()
        except AttributeError:  # 2022.x keeps both in openvino.runtime
            from openvino.runtime import Core as core_cls, get_version
            version = get_version()
        _core.append((core_cls(), version.split("-")[0]))
    return _core[0]


def edgetpu_problem(option):
    """One sentence on what is missing for the Edge TPU, or '' when the library loads and a device shows."""
    lib, error = edgetpu_library()
    kinds = usb_kinds()
    pci = bool(glob.glob("/dev/apex_*"))
    absent = kinds is not None and "coral" not in kinds and not pci and not option.startswith("pci")
    if error and (absent or kinds is None):
        return "No Edge TPU found: plug in a Coral USB Accelerator and install %s." % EDGETPU_INSTALL
    if error:
        return "A Coral accelerator is present but %s does not load (%s): install %s." % (lib, error, EDGETPU_INSTALL)
    if absent:
        return "No Edge TPU found: plug in a Coral USB Accelerator (it shows on USB as 1a6e:089a or 18d1:9302)."
    return ""


def myriad_problem():
    kinds = usb_kinds()
    try:
        core, version = openvino_core()
        runtime = "" if version.startswith("2022.") else (
            "OpenVINO %s here has no MYRIAD support (removed in 2023.0), so use %s" % (version, MYRIAD_INSTALL))
    except AgentError:
        core, runtime = None, "this Python has no OpenVINO, so use %s" % MYRIAD_INSTALL
    if kinds is not None and "ncs2" not in kinds:
        return "No Neural Compute Stick 2 is plugged in: plug it in (USB 03e7:2485)%s." % (
            ", and note that " + runtime if runtime else "")
    if runtime:
        return runtime[0].upper() + runtime[1:] + "."
    if "MYRIAD" not in core.available_devices:
        return ("OpenVINO 2022.3 does not see the Neural Compute Stick 2: on Linux install its udev rules "
                "(97-myriad-usbboot.rules from OpenVINO's install_dependencies) and replug it.")
    return ""


def parse_device(text):
    """'tflite:CPU' | 'edgetpu[:usb[:N]|:pci[:N]]' | 'openvino:DEVICE' | 'myriad' -> (kind, option, canonical)."""
    low = (text or "").strip().lower()
    if low in ("tflite", "tflite:cpu", "litert", "litert:cpu"):
        return "tflite", "CPU", "tflite:CPU"
    if low in ("myriad", "ncs2", "openvino:myriad"):
        return "myriad", "MYRIAD", "myriad"
    if low == "edgetpu" or low.startswith("edgetpu:"):
        option = low[8:]
        head, _, number = option.partition(":")
        if option and (head not in ("usb", "pci", "") or (number and not number.isdigit()) or option == ":"):
            raise AgentError("user", "Edge TPU device %r is not one of usb, usb:N, pci, pci:N or :N." % option)
        return "edgetpu", option, "edgetpu" + (":" + option if option else "")
    if low.startswith("openvino:") and len(low) > 9:
        option = text.strip()[9:].upper()
        return ("myriad", "MYRIAD", "myriad") if option == "MYRIAD" else ("openvino", option, "openvino:" + option)
    raise AgentError("user", "Unknown device %r: use tflite:CPU, edgetpu, edgetpu:usb:0, openvino:CPU, "
                     "openvino:GPU, openvino:NPU or myriad." % text)


def probe():
    """What this machine offers, and per device whether it is ready or what to install."""
    report = {"python": platform.python_version(), "executable": sys.executable, "platform": platform.platform(),
              "runtimes": {}, "usb": usb_devices(), "devices": []}
    runtimes = report["runtimes"]
    try:
        runtimes["numpy"] = {"version": need_numpy().__version__}
    except AgentError as exc:
        runtimes["numpy"] = {"error": exc.message}
    for name in ("ai_edge_litert", "tflite_runtime"):
        try:
            __import__(name + ".interpreter")
            runtimes[name] = {"version": str(getattr(sys.modules[name], "__version__", ""))}
        except Exception as exc:  # a broken install must not break the probe
            runtimes[name] = {"error": describe(exc)}
    if google_pycoral():
        try:
            import pycoral
            runtimes["pycoral"] = {"version": str(getattr(pycoral, "__version__", ""))}
        except Exception as exc:
            runtimes["pycoral"] = {"error": describe(exc)}
    lib, error = edgetpu_library()
    report["edgetpu_library"] = {"name": lib, "loads": not error, "error": error}
    devices = report["devices"]
    add = lambda device, title, problem: devices.append({"device": device, "title": title, "ready": not problem, "reason": problem})
    try:
        tflite_module()
        add("tflite:CPU", "LiteRT on the CPU", "")
    except AgentError as exc:
        add("tflite:CPU", "LiteRT on the CPU", exc.message)
    problem = edgetpu_problem("")
    if not problem:
        try:
            tflite_module(for_edgetpu=True)
        except AgentError as exc:
            problem = exc.message
    add("edgetpu", "Coral Edge TPU", problem)
    try:
        core, version = openvino_core()
        runtimes["openvino"] = {"version": version, "devices": list(core.available_devices)}
        for name in core.available_devices:
            if name != "MYRIAD":  # listed below as "myriad"
                add("openvino:" + name, "OpenVINO %s (%s)" % (name, _ov_name(core, name)), "")
                devices[-1]["default_precision"] = precision_name(_property(core, name, "INFERENCE_PRECISION_HINT"))
        for name in ("GPU", "NPU"):
            if not any(d.split(".")[0] == name for d in core.available_devices):
                add("openvino:" + name, "OpenVINO " + name, _no_openvino_device(version, name, core.available_devices))
    except AgentError as exc:
        runtimes["openvino"] = {"error": exc.message}
        add("openvino:CPU", "OpenVINO on the CPU", exc.message)
    add("myriad", "Intel Neural Compute Stick 2 (OpenVINO 2022.3)", myriad_problem())
    if "ncs" in (usb_kinds() or ()):
        add("ncs", "Movidius Neural Compute Stick (first generation)", "The first-generation stick is end-of-life "
            "(NCSDK only); EdgeWizard cannot benchmark it.")
    return report


def _no_openvino_device(version, device, available):
    hint = OPENVINO_HINTS.get(device)
    return "OpenVINO %s sees no %s device here (it sees: %s)%s." % (
        version, device, ", ".join(available) or "none", "; " + hint if hint else "")


def _ov_name(core, device):
    try:
        return str(core.get_property(device, "FULL_DEVICE_NAME"))
    except Exception:
        return device


# ------------------------------------------------------------------ runtimes

class TFLiteSession(object):
    def __init__(self, path, threads, edgetpu_option=None):
        np = need_numpy()
        self.notes = []
        delegates = []
        if edgetpu_option is not None:
            problem = edgetpu_problem(edgetpu_option)
            if problem:
                raise AgentError("missing", problem)
            with open(path, "rb") as f:
                if b"edgetpu-custom-op" not in f.read():
                    self.notes.append("This model is not compiled for the Edge TPU (no edgetpu-custom-op): it runs on "
                                      "the CPU. Compile it with edgetpu_compiler and bench the _edgetpu.tflite file.")
        kwargs = {"num_threads": threads} if threads else {}
        if edgetpu_option is not None and google_pycoral():
            from pycoral.utils import edgetpu
            import pycoral
            self.runtime, self.version = "pycoral", str(getattr(pycoral, "__version__", ""))
            try:
                self.interpreter = edgetpu.make_interpreter(path, device=edgetpu_option or None)
            except ValueError as exc:
                raise AgentError("missing", "The Edge TPU did not open through pycoral (%s): replug the accelerator "
                                 "and check that no other program uses it." % exc)
        else:
            module, self.runtime, self.version = tflite_module(for_edgetpu=edgetpu_option is not None)
            if edgetpu_option is not None:
                lib = edgetpu_library()[0]
                try:
                    delegates.append(module.load_delegate(lib, {"device": edgetpu_option} if edgetpu_option else {}))
                except (ValueError, RuntimeError, OSError) as exc:
                    raise AgentError("missing", "The Edge TPU delegate did not load into %s %s (%s): replug the accelerator; "
                                     "if it persists, libedgetpu and this runtime come from incompatible builds, so use "
                                     "Google's pycoral/tflite_runtime with --runtime-python." % (self.runtime, self.version, exc))
                kwargs["experimental_delegates"] = delegates
            try:
                self.interpreter = module.Interpreter(model_path=path, **kwargs)
            except ValueError as exc:
                raise AgentError("user", "%s could not open %s: %s" % (self.runtime, os.path.basename(path), exc))
        try:
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:  # e.g. TensorFlow (Flex) ops, which a TFLite runtime lacks
            raise AgentError("user", "%s cannot run %s: %s" % (self.runtime, os.path.basename(path), _first_line(exc)),
                             str(exc))
        self._details = self.interpreter.get_input_details()
        self.inputs = [{"name": d["name"], "shape": [int(x) for x in d["shape"]], "dtype": np.dtype(d["dtype"]).name,
                        "quantization": [float(d["quantization"][0]), int(d["quantization"][1])]} for d in self._details]
        self.outputs = [{"name": d["name"], "shape": [int(x) for x in d["shape"]], "dtype": np.dtype(d["dtype"]).name}
                        for d in self.interpreter.get_output_details()]
        self.device_name = "Coral Edge TPU" if edgetpu_option is not None else cpu_name()
        self.run = self.interpreter.invoke

    def set_input(self, index, array):
        self.interpreter.set_tensor(self._details[index]["index"], array)


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


class OpenVINOSession(object):
    def __init__(self, path, device, threads, precision=None):
        if device == "MYRIAD":
            problem = myriad_problem()
            if problem:
                raise AgentError("missing", problem)
        core, self.version = openvino_core()
        self.runtime, self.notes = "openvino", []
        available = list(core.available_devices)
        if device not in available and not any(d.split(".")[0] == device for d in available) and device not in ("AUTO",):
            raise AgentError("missing", _no_openvino_device(self.version, device, available))
        try:
            model = core.read_model(path)
        except Exception as exc:
            raise AgentError("user", "OpenVINO could not read %s: %s" % (os.path.basename(path), _first_line(exc)), str(exc))
        # Only the inputs matter: a model whose inner shapes are computed at run time (a detector's
        # anchor grid from Range ops) has model.is_dynamic() true, yet compiles and runs.
        dynamic = ["'%s' (shape %s)" % (_port_name(i, p), p.get_partial_shape()) for i, p in enumerate(model.inputs)
                   if p.get_partial_shape().is_dynamic]
        if dynamic:
            raise AgentError("user", "The model's input%s %s %s not fixed in size; convert it with fixed input shapes "
                             "(--shape) to benchmark it." % ("s" if len(dynamic) > 1 else "", ", ".join(dynamic),
                                                               "are" if len(dynamic) > 1 else "is"))
        self.default_precision = precision_name(_property(core, device, "INFERENCE_PRECISION_HINT"))
        config = {"PERFORMANCE_HINT": "LATENCY"}
        if threads and device == "CPU":
            config["INFERENCE_NUM_THREADS"] = int(threads)
        if precision and device == "MYRIAD":
            raise AgentError("user", "The Neural Compute Stick 2 always computes in f16; run it at the device's default precision.")
        if precision:
            config["INFERENCE_PRECISION_HINT"] = precision
        try:
            compiled = core.compile_model(model, device, config)
        except Exception as exc:
            raise AgentError("user", "OpenVINO could not compile %s for %s: %s" % (os.path.basename(path), device, _first_line(exc)),
                             str(exc))
        # What the device really computes in: a hint it cannot honour (f16 on a CPU without FP16
        # arithmetic) falls back silently, so read it back rather than repeat the request.
        self.precision = precision_name(_property(compiled, "INFERENCE_PRECISION_HINT"))
        if device == "MYRIAD":
            self.precision = self.default_precision = "f16"
        self.request = compiled.create_infer_request()
        self.inputs = [self._port(i, p, self.request.get_input_tensor(i)) for i, p in enumerate(compiled.inputs)]
        self.outputs = [self._port(i, p, self.request.get_output_tensor(i)) for i, p in enumerate(compiled.outputs)]
        self.device_name = _ov_name(core, device)
        # start_async + wait: no per-call copy of the outputs into a dict, as benchmark_app does it
        start, wait = self.request.start_async, self.request.wait

        def run():
            start()
            wait()
        self.run = run

    @staticmethod
    def _port(index, port, tensor):
        return {"name": _port_name(index, port), "shape": [int(x) for x in tensor.shape], "dtype": tensor.data.dtype.name}

    def set_input(self, index, array):
        self.request.get_input_tensor(index).data[...] = array


def _port_name(index, port):
    try:
        return port.get_any_name()
    except RuntimeError:  # an unnamed port
        return "port%d" % index


def _tflite_only(session_factory):
    def open_session(path, option, threads, precision=None):
        if precision:
            raise AgentError("user", "A precision can be chosen only for OpenVINO devices; LiteRT runs the model "
                             "in the precision it was converted to.")
        return session_factory(path, option, threads)
    return open_session


RUNTIMES = {
    "tflite": _tflite_only(lambda path, option, threads: TFLiteSession(path, threads)),
    "edgetpu": _tflite_only(lambda path, option, threads: TFLiteSession(path, threads, edgetpu_option=option)),
    "openvino": OpenVINOSession,
    "myriad": OpenVINOSession,
}


# ------------------------------------------------------------------ input data

def input_feeds(np, session, data_path):
    """Per model input, a list of arrays to cycle through: one random array, or the samples of a file."""
    rng = np.random.RandomState(0)
    if data_path is None:
        feeds = []
        for spec in session.inputs:
            dtype = np.dtype(spec["dtype"])
            if dtype.kind in "iu":
                info = np.iinfo(dtype)
                feeds.append([rng.randint(max(info.min, -128), min(info.max, 255) + 1, size=spec["shape"]).astype(dtype)])
            else:
                feeds.append([rng.uniform(0.0, 1.0, size=spec["shape"]).astype(dtype)])
        return feeds
    loaded = None
    try:
        loaded = np.load(data_path, allow_pickle=False)
        # A .npz reads its arrays here: an object (pickled) array fails now, never unpickled.
        arrays = [loaded[k] for k in loaded.files] if hasattr(loaded, "files") else [loaded]
    except Exception as exc:
        if hasattr(loaded, "close"):
            loaded.close()
        raise AgentError("user", "The input data %s does not load as .npy/.npz: %s" % (os.path.basename(data_path), exc))
    names = list(loaded.files) if hasattr(loaded, "files") else []
    if hasattr(loaded, "close"):  # a .npz: its arrays are read, the archive can go
        loaded.close()
    feeds = []
    for i, spec in enumerate(session.inputs):
        if spec["name"] in names:
            array = arrays[names.index(spec["name"])]
        elif i < len(arrays):
            array = arrays[i]
        else:
            raise AgentError("user", "The input data has %d array(s) but the model has %d inputs." % (len(arrays), len(session.inputs)))
        feeds.append(_samples(np, array, spec))
    return feeds


def _samples(np, array, spec):
    shape, dtype = tuple(spec["shape"]), np.dtype(spec["dtype"])
    if array.shape == shape:
        chunks = [array]
    elif array.ndim == len(shape) and array.shape[1:] == shape[1:] and shape and array.shape[0] >= shape[0] > 0:
        chunks = [array[k:k + shape[0]] for k in range(0, array.shape[0] - shape[0] + 1, shape[0])]
    else:
        raise AgentError("user", "The input data for %s has shape %s; the model needs %s (or N samples of it)." % (
            spec["name"], list(array.shape), list(shape)))
    scale, zero = (spec.get("quantization") or [0.0, 0])[:2]
    out = []
    for chunk in chunks:
        if dtype.kind in "iu" and chunk.dtype.kind == "f" and scale > 0:
            info = np.iinfo(dtype)
            chunk = np.clip(np.round(chunk / scale + zero), info.min, info.max)
        out.append(np.ascontiguousarray(chunk.astype(dtype)))
    return out


# ------------------------------------------------------------------ measuring

class Counter(object):
    count = 0
    t = 0.0


def measure(session, feeds, request, out, stop, counter):
    perf = time.perf_counter
    count, seconds, warmup = request.get("count"), request.get("seconds"), int(request.get("warmup") or 0)
    rotate = max(len(f) for f in feeds) > 1 if feeds else False

    def feed(k):
        for i, samples in enumerate(feeds):
            session.set_input(i, samples[k % len(samples)])

    feed(0)
    k = 0
    for kind, limit in (("warmup", warmup), ("batch", count)):
        if kind == "warmup" and not warmup:
            continue
        batch, start = [], perf()
        last = start
        try:
            while not stop.is_set():
                if limit is not None and (counter.count if kind == "batch" else k) >= limit:
                    break
                t0 = perf()
                session.run()
                t1 = perf()
                batch.append(round((t1 - t0) * 1000.0, 5))
                k += 1
                if kind == "batch":
                    counter.count += 1
                    counter.t = t1 - start
                    if seconds is not None and counter.t >= seconds:
                        break
                if t1 - last >= FLUSH_S or len(batch) >= MAX_BATCH:
                    _flush(out, kind, batch, counter)
                    batch, last = [], t1
                if rotate:
                    feed(k)
        except Exception as exc:
            _flush(out, kind, batch, counter)
            raise AgentError("device", "The %s runtime failed after %d inferences: %s" % (session.runtime, k, describe(exc)),
                             traceback.format_exc())
        _flush(out, kind, batch, counter)
    return "stopped" if stop.is_set() else "done"


def _flush(out, kind, batch, counter):
    if batch:
        if kind == "batch":
            out.send("batch", ms=batch, t=round(counter.t, 6))
        else:
            out.send("warmup", ms=batch)


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
    return measure(session, feeds, request, out, stop, counter)


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
    p.add_argument("--probe", action="store_true")
    a = p.parse_args(argv)
    files = [{"name": os.path.basename(a.model), "path": os.path.abspath(a.model)}] if a.model else []
    return {"protocol": PROTOCOL, "action": "probe" if a.probe else "run", "device": a.device, "count": a.count,
            "seconds": a.seconds, "warmup": a.warmup, "threads": a.threads, "precision": a.precision, "files": files,
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
