"""Model loaders: every supported format opens to the same core.graph representation.

`load()` detects the format from the file's content (the extension only breaks ties), dispatches
to the module for that format, and caches the result in this (worker) process so that cutting and
converting right after inspecting do not pay for loading again. Loading never runs the model's
graph, and runs no code from the file unless LoadOptions says so."""
from __future__ import annotations

import codecs
import importlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..graph import ModelInfo
from ..plan import LoadOptions
from ..progress import ProgressFn, no_progress as _no_progress  # noqa: F401  (importable from here)
from .limits import check_graph

@dataclass
class LoadedModel:
    """A model open in the worker: what it is (`info`) and the live object behind it (`handle`:
    a keras.Model, a tf GraphDef, an ov.Model, ...; format-specific, never leaves the worker)."""

    info: ModelInfo
    handle: Any


# format -> module in this package that has `load(path: Path, fmt, options, progress) -> LoadedModel`
_MODULES = {
    "keras": "keras_loader",
    "h5": "keras_loader",
    "savedmodel": "tf_graph",
    "frozen_pb": "tf_graph",
    "meta": "tf_graph",
    "tflite": "tflite_loader",
    "openvino_ir": "openvino_loader",
    "onnx": "onnx_loader",
}

_CACHE: dict[tuple, LoadedModel] = {}
_CACHE_SIZE = 3


def detect_format(path: str | os.PathLike) -> str:
    """Name the format of `path` from what it contains. UserError when it is none we read."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p} does not exist.")
    if p.is_dir():
        if (p / "saved_model.pb").is_file() or (p / "saved_model.pbtxt").is_file():
            return "savedmodel"
        raise UserError(f"The folder {p} is not a TensorFlow SavedModel (it has no saved_model.pb).")
    try:
        with open(p, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise UserError(f"Cannot read {p}: {exc.strerror or exc}.") from exc
    if not head:
        raise UserError(f"{p} is empty.")
    ext = p.suffix.lower()
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "h5"
    if head.startswith(b"PK\x03\x04"):
        if ext == ".keras" or _zip_has(p, "config.json"):
            return "keras"
        raise UserError(f"{p} is a zip archive but not a Keras .keras model (no config.json inside).")
    if len(head) >= 8 and head[4:8] == b"TFL3":
        return "tflite"
    stripped = head.lstrip()
    if stripped.startswith(b"<?xml") or stripped.startswith(b"<net"):
        if b"<net" in head or ext == ".xml":
            return "openvino_ir"
        raise UserError(f"{p} is an XML file but not an OpenVINO IR model.")
    other = _other_kind(head, ext)
    if other:
        raise UserError(f"{p} is {other}, not a model; choose the model file itself.")
    if ext == ".onnx":
        return "onnx"
    if ext == ".meta":
        return "meta"
    if ext in (".pb", ".pbtxt"):
        return "frozen_pb"
    if ext in (".keras", ".h5", ".hdf5", ".tflite", ".xml"):
        raise UserError(f"{p} does not contain a {ext} model (its content is not in that format).")
    raise UserError(
        f"{p} is not a model format EdgeWizard reads (Keras .keras/.h5, SavedModel folder, "
        ".pb, .meta, .tflite, OpenVINO .xml, .onnx)."
    )


# Files people pick by mistake (or that a download turned into), told by their first bytes.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"\x1f\x8b", "a gzip archive (unpack it first)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive (unpack it first)"), (b"Rar!", "a RAR archive (unpack it first)"),
    (b"\x7fELF", "a program (ELF executable)"),
)
_BINARY_EXTS = (".keras", ".h5", ".hdf5", ".tflite", ".onnx")


def _other_kind(head: bytes, ext: str) -> str:
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            return what
    if ext in _BINARY_EXTS and b"\0" not in head:
        try:
            text = codecs.getincrementaldecoder("utf-8")().decode(head)  # a cut-off last character is fine
        except UnicodeDecodeError:
            return ""
        if text.lstrip().lower().startswith(("<!doctype html", "<html")):
            return "a web page (the download saved the page, not the file)"
        if all(c.isprintable() or c in "\r\n\t" for c in text[:1024]):
            return "a text file"
    return ""


def _zip_has(p: Path, member: str) -> bool:
    try:
        with zipfile.ZipFile(p) as z:
            return member in z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def load(path: str | os.PathLike, options: LoadOptions = LoadOptions(), progress: ProgressFn = _no_progress) -> LoadedModel:
    """Open `path`, or return the copy this process already has if the file has not changed."""
    p = Path(path).expanduser()
    fmt = detect_format(p)
    key = (str(p.resolve()), _stamp(p), options)
    hit = _CACHE.get(key)
    if hit is not None:
        progress(1.0, "Model already loaded")
        return hit
    module = importlib.import_module(f"{__name__}.{_MODULES[fmt]}")
    progress(0.0, f"Loading {p.name}")
    loaded = module.load(p, fmt, options, progress)
    check_graph(loaded.info.graph, p)  # absurd shapes and cycles: refused before any step uses the graph
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = loaded
    progress(1.0, "Loaded")
    return loaded


def _stamp(p: Path) -> tuple:
    if p.is_dir():
        files = [f for f in p.rglob("*") if f.is_file()]
        return tuple(sorted((str(f.relative_to(p)), f.stat().st_size, f.stat().st_mtime_ns) for f in files))
    files = [p]
    if p.suffix.lower() == ".meta":  # a checkpoint's values live beside it: model.ckpt.index/.data-*
        files += sorted(f for f in p.parent.glob(p.stem + ".*") if f != p)
    return tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files)


def file_size(p: Path) -> int:
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return p.stat().st_size
