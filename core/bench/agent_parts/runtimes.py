"""Finding the runtimes of this Python: a TFLite interpreter module (LiteRT or tflite_runtime) and
OpenVINO's Core, and one sentence on what is missing for OpenVINO devices and the NCS2."""
import sys

from .base import AgentError, describe, need_numpy
from .table import install_hint, usb_ids
from .usb import usb_kinds


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


def myriad_problem():
    kinds = usb_kinds()
    try:
        core, version = openvino_core()
        if not version.startswith("2022."):
            runtime = "OpenVINO %s here has no plugin for the stick (Intel removed it in 2023.0), so use %s" % (
                version, install_hint("myriad"))
        elif not stick_plugin(core):  # the package index's 2022.3
            runtime = "OpenVINO %s here has no plugin for the stick, so use %s" % (version, install_hint("myriad"))
        else:
            runtime = ""
    except AgentError:
        core, runtime = None, "this Python has no OpenVINO, so use %s" % install_hint("myriad")
    if kinds is not None and "ncs2" not in kinds:
        return "No Neural Compute Stick 2 is plugged in: plug it in (USB %s)%s." % (
            usb_ids("myriad"), ", and note that " + runtime if runtime else "")
    if runtime:
        return runtime[0].upper() + runtime[1:] + "."
    if "MYRIAD" not in core.available_devices:
        return ("OpenVINO 2022.3 does not see the Neural Compute Stick 2: on Linux install its udev rules "
                "(97-myriad-usbboot.rules from OpenVINO's install_dependencies) and replug it.")
    return ""


def stick_plugin(core):
    """Whether this OpenVINO has the stick's (MYRIAD) plugin at all, plugged in or not: Intel's own 2022.3
    download has it, the package index's openvino 2022.3 does not."""
    try:
        core.get_versions("MYRIAD")
        return True
    except Exception:
        return False


def no_openvino_device(version, device, available):
    hint = install_hint("openvino:" + device)
    return "OpenVINO %s sees no %s device here (it sees: %s)%s." % (
        version, device, ", ".join(available) or "none", "; install " + hint if hint else "")


def ov_name(core, device):
    try:
        return str(core.get_property(device, "FULL_DEVICE_NAME"))
    except Exception:
        return device
