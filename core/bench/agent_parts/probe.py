"""The probe: what this machine offers (Python, runtimes, USB accelerators, the Edge TPU library) and,
per bench device, whether it is ready or, in one sentence, what to plug in or install."""
import platform
import sys

from .base import AgentError, _property, describe, need_numpy, precision_name
from .runtimes import myriad_problem, no_openvino_device, openvino_core, ov_name, tflite_module
from .table import title
from .usb import edgetpu_library, edgetpu_problem, google_pycoral, usb_devices, usb_kinds


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

    def add(device, problem, title_=None):
        devices.append({"device": device, "title": title_ or title(device), "ready": not problem, "reason": problem})

    try:
        tflite_module()
        add("tflite:CPU", "")
    except AgentError as exc:
        add("tflite:CPU", exc.message)
    problem = edgetpu_problem("")
    if not problem:
        try:
            tflite_module(for_edgetpu=True)
        except AgentError as exc:
            problem = exc.message
    add("edgetpu", problem)
    try:
        core, version = openvino_core()
        runtimes["openvino"] = {"version": version, "devices": list(core.available_devices)}
        for name in core.available_devices:
            if name != "MYRIAD":  # listed below as "myriad"
                add("openvino:" + name, "", "OpenVINO %s (%s)" % (name, ov_name(core, name)))
                devices[-1]["default_precision"] = precision_name(_property(core, name, "INFERENCE_PRECISION_HINT"))
        for name in ("GPU", "NPU"):
            if not any(d.split(".")[0] == name for d in core.available_devices):
                add("openvino:" + name, no_openvino_device(version, name, core.available_devices))
    except AgentError as exc:
        runtimes["openvino"] = {"error": exc.message}
        add("openvino:CPU", exc.message)
    add("myriad", myriad_problem())
    if "ncs" in (usb_kinds() or ()):
        add("ncs", "The first-generation stick is end-of-life (NCSDK only); EdgeWizard cannot benchmark it.")
    return report
