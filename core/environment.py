"""What this machine has for running models, found without importing any of it (cheap enough for
the GUI's status bar): runtimes by module spec, the Edge TPU compiler on PATH."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Component:
    name: str
    available: bool
    hint: str  # what to install when missing


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def library_versions() -> dict:
    """Versions of the conversion libraries, as recorded in manifests and reports. This imports them:
    call it in the worker, not the GUI process."""
    versions = {}
    for mod in ("tensorflow", "openvino", "ai_edge_litert"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - a version we cannot read is recorded as unknown
            versions[mod] = None
    return versions


def components() -> list[Component]:
    from .convert.edgetpu_compiler import find_compiler

    return [
        Component("TensorFlow", _has("tensorflow"), "pip install tensorflow"),
        Component("OpenVINO", _has("openvino"), "pip install openvino"),
        Component("LiteRT", _has("ai_edge_litert") or _has("tflite_runtime"), "pip install ai-edge-litert"),
        # Google's pycoral is not on PyPI (the PyPI package of that name is unrelated).
        Component("pycoral", _has("pycoral.utils.edgetpu") if _has("pycoral") else False,
                  "Google's pycoral from the Coral site (Python 3.6-3.9); EdgeWizard works without it"),
        Component("edgetpu_compiler", find_compiler() is not None,
                  "Google's Coral apt repository, on x86-64 Debian/Ubuntu"),
    ]
