"""Which bench devices can run a model file, and for each one that cannot, why not in plain words.

The rule reads the device catalogue (the file kinds each device's runtime loads) plus one fact about a
.tflite file: whether edgetpu_compiler made it (it then holds the "edgetpu-custom-op" operator). Only the
Edge TPU runs such a file; on the Edge TPU a .tflite the compiler did not make runs on the CPU instead.
Plain Python: the GUI process imports this."""
from __future__ import annotations

import mmap
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..devices import Device, devices, find

EDGETPU_OP = b"edgetpu-custom-op"
_KIND_WORDS = {".tflite": "TensorFlow Lite (.tflite)", ".xml": "OpenVINO (.xml)", ".onnx": "ONNX (.onnx)"}


@dataclass(frozen=True)
class Fit:
    """One bench device and a model file: `reason` is empty when the device runs the file."""

    device: Device
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason


def kind_words(filename: str) -> str:
    """'OpenVINO (.xml)' for 'a.xml'; the bare suffix for kinds no device loads."""
    suffix = Path(filename).suffix.lower()
    return _KIND_WORDS.get(suffix, suffix or "this kind of")


def compiled_for_edgetpu(path: str) -> Optional[bool]:
    """Whether a .tflite file was made by edgetpu_compiler (it holds the Edge TPU's custom operator); None
    when the file is not a .tflite or cannot be read (then its name, *_edgetpu.tflite, is all there is)."""
    if not str(path).lower().endswith(".tflite"):
        return None
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                return False
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:  # no copy of a large file
                return m.find(EDGETPU_OP) >= 0
    except (OSError, ValueError):
        return None


def fits(filename: str, compiled: Optional[bool] = None) -> tuple[Fit, ...]:
    """Each bench device of the catalogue, in its order, with why it cannot run `filename` ("" when it can).
    `compiled`: whether the .tflite was compiled for the Edge TPU (compiled_for_edgetpu); None goes by the
    name. Pure: reads no file."""
    name = Path(filename).name
    low = name.lower()
    is_tflite = low.endswith(".tflite")
    if is_tflite and compiled is None:
        compiled = low.endswith("_edgetpu.tflite")
    edgetpu = find("edgetpu")
    edgetpu_title = edgetpu.title if edgetpu else "Edge TPU"
    out = []
    for d in devices():
        if not d.bench:
            continue
        if not d.loads(name):
            kinds = " or ".join(k for k in d.file_kinds)
            reason = f"{d.title} does not load {kind_words(name)} files; it runs {kinds} files."
        elif is_tflite and compiled and d.id != "edgetpu":
            reason = (f"{d.title} does not load a .tflite compiled for the Edge TPU: only the {edgetpu_title} "
                      "runs it. Choose the file without _edgetpu in its name.")
        elif is_tflite and not compiled and d.id == "edgetpu":
            reason = not_compiled_note()
        else:
            reason = ""
        out.append(Fit(d, reason))
    return tuple(out)


def not_compiled_note() -> str:
    edgetpu = find("edgetpu")
    title = edgetpu.title if edgetpu else "Edge TPU"
    return ("This file was not compiled for the Edge TPU: on the Edge TPU runtime it would run on the CPU. "
            f"Convert with the {title} device chosen on the Target step, then benchmark its _edgetpu.tflite file.")


def fits_file(path: str) -> tuple[Fit, ...]:
    """fits() for a file on disk, reading it to tell whether a .tflite was compiled for the Edge TPU."""
    return fits(path, compiled_for_edgetpu(path))


def why_not(device: str, path: str, compiled: Optional[bool] = None) -> str:
    """Why the bench device (its --device kind) cannot run the file; "" when it can or is not catalogued."""
    return next((f.reason for f in fits(path, compiled) if f.device.bench == device), "")
