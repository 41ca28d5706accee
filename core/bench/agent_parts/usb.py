"""What is plugged in: known accelerators on USB (from /sys, or pyusb where it is installed), the Edge
TPU library, and one sentence on what is missing for the Edge TPU."""
import ctypes
import glob
import importlib.util
import os
import platform

from .base import AgentError
from .table import install_hint, usb_ids, usb_known

EDGETPU_LIBS = {"Linux": "libedgetpu.so.1", "Darwin": "libedgetpu.1.dylib", "Windows": "edgetpu.dll"}


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
    known = usb_known()
    return [dict(known[i]) for i in ids if i in known]


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


def edgetpu_problem(option):
    """One sentence on what is missing for the Edge TPU, or '' when the library loads and a device shows."""
    lib, error = edgetpu_library()
    kinds = usb_kinds()
    pci = bool(glob.glob("/dev/apex_*"))
    absent = kinds is not None and "coral" not in kinds and not pci and not option.startswith("pci")
    install = install_hint("edgetpu")
    if error and (absent or kinds is None):
        return "No Edge TPU found: plug in a Coral USB Accelerator and install %s." % install
    if error:
        return "A Coral accelerator is present but %s does not load (%s): install %s." % (lib, error, install)
    if absent:
        return "No Edge TPU found: plug in a Coral USB Accelerator (it shows on USB as %s)." % usb_ids("edgetpu")
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
