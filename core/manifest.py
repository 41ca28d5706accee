"""manifest.json as typed data: what a conversion made, from what, with which tools and options.

convert() (core/convert/run.py) writes it after each target; the CLI, the report, verify and the GUI
read it with `read_manifest` and walk the dataclasses below, never the JSON. Format 2 keeps a target's
own facts (compiler log, calibration) under `details`; a format-1 manifest (those facts flat beside
the common keys) is read with them moved there."""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from . import codec
from .files import write_atomic
from .graph import TensorInfo

MANIFEST = "manifest.json"
FORMAT_VERSION = 2
MODEL_SUFFIXES = (".tflite", ".xml")  # the file of a converted model a runtime opens (.bin goes with .xml)


@dataclass(frozen=True)
class FileEntry:
    name: str
    size_bytes: int = 0
    sha256: str = ""


@dataclass(frozen=True)
class Artifact:
    """One target's result."""

    target: str
    title: str = ""
    status: str = "ok"  # "ok", or for edgetpu "compiled" / "not_compiled"
    files: tuple[FileEntry, ...] = ()  # in the order a person should look at them
    op_counts_before: dict = field(default_factory=dict)
    op_counts_after: dict = field(default_factory=dict)
    seconds: float = 0.0
    finished_at: float = 0.0  # time.time() when it was written: tells a caller which run wrote it
    notes: tuple[str, ...] = ()
    details: dict = field(default_factory=dict)  # target-specific: compiler_log, compiler_argv, calibrated

    @property
    def model_file(self) -> Optional[str]:
        """The name of the model file a runtime opens (the first .tflite or .xml), or None."""
        return next((f.name for f in self.files if f.name.endswith(MODEL_SUFFIXES)), None)


@dataclass(frozen=True)
class SourceRecord:
    path: str = ""
    format: str = ""
    sha256: str = ""
    size_bytes: int = 0
    op_counts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CutRecord:
    inputs: tuple[TensorInfo, ...] = ()
    outputs: tuple[TensorInfo, ...] = ()
    removed_inputs: tuple[str, ...] = ()
    source_nodes: dict = field(default_factory=dict)  # cut tensor name -> the node the person named


@dataclass(frozen=True)
class Manifest:
    created: str = ""  # ISO time, UTC
    source: SourceRecord = SourceRecord()
    cut: CutRecord = CutRecord()
    options: dict = field(default_factory=dict)  # io_type, calibration (CalibrationSpec.describe() or None), edgetpu
    tools: dict = field(default_factory=dict)  # name -> version (or path)
    artifacts: tuple[Artifact, ...] = ()
    total_seconds: float = 0.0
    plan_key: str = ""  # core/plan.py conversion_key of the plan it was made from
    format_version: int = FORMAT_VERSION

    def artifact(self, target: str) -> Optional[Artifact]:
        return next((a for a in self.artifacts if a.target == target), None)

    def converted_files(self, output_dir: str | os.PathLike) -> list[tuple[Path, str]]:
        """(path, target) of each converted model (.tflite, OpenVINO .xml) listed, in order, once per file
        even when several targets share it (edgetpu and tflite-int8 share the int8 model)."""
        seen: dict[Path, str] = {}
        for a in self.artifacts:
            for f in a.files:
                if f.name.endswith(MODEL_SUFFIXES):
                    seen.setdefault(Path(output_dir) / f.name, a.target)
        return list(seen.items())

    def file_names(self) -> set[str]:
        """Every file the manifest lists (models and their .bin)."""
        return {f.name for a in self.artifacts for f in a.files}

    def selection(self):
        """The Selection that makes this manifest's cut again: the nodes the person named, static shapes."""
        from .plan import Selection

        given = self.cut.source_nodes

        def named(t: TensorInfo) -> str:
            return given.get(t.name, t.name)

        shapes = tuple((named(t), tuple(t.shape)) for t in self.cut.inputs if t.shape)
        return Selection(inputs=tuple(named(t) for t in self.cut.inputs), outputs=tuple(named(t) for t in self.cut.outputs),
                         shapes=shapes)

    def calibration(self):
        """The CalibrationSpec recorded (None when none was used or it was synthetic)."""
        from .calibrate import CalibrationSpec

        c = self.options.get("calibration")
        if not isinstance(c, dict) or not c.get("sources"):
            return None
        try:
            sources = tuple((s.get("input"), s["source"]) for s in c["sources"])
            if any(src == "synthetic" for _, src in sources):
                return None
            return CalibrationSpec(sources=sources, preset=c.get("preset"), color=c.get("color", "RGB"),
                                   mean=tuple(c["mean"]) if c.get("mean") else None,
                                   scale=tuple(c["scale"]) if c.get("scale") else None)
        except (KeyError, TypeError, AttributeError):
            return None  # a hand-edited manifest: verify falls back to other data


def from_dict(data: dict) -> Manifest:
    """A Manifest from manifest.json's content; raises ValueError when it is not one."""
    if not isinstance(data, dict):
        raise ValueError("A manifest is a JSON object.")
    data = dict(data)
    if isinstance(data.get("artifacts"), list) and data.get("format_version", 1) < 2:
        known = {f.name for f in dataclasses.fields(Artifact)}
        data["artifacts"] = [
            {**{k: v for k, v in a.items() if k in known}, "details": {k: v for k, v in a.items() if k not in known}}
            if isinstance(a, dict) else a for a in data["artifacts"]]
    data.pop("format_version", None)  # read as whatever it was, written as this format
    return codec.from_data(Manifest, data)


def read_manifest(folder: str | os.PathLike) -> Optional[Manifest]:
    """The manifest.json in `folder`, or None when there is none or it cannot be read as one."""
    try:
        return from_dict(json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def write_manifest(folder: str | os.PathLike, manifest: Manifest) -> Path:
    """Write `folder`/manifest.json atomically (nobody ever reads half of one)."""
    return write_atomic(Path(folder) / MANIFEST, codec.dumps(manifest))


def partial_manifest(folder: str | os.PathLike, kept) -> Manifest:
    """After a failed or cancelled conversion: the manifest in `folder` listing only the artifacts `kept`
    (convert.run.finished_since), i.e. what this run finished."""
    found = read_manifest(folder) or Manifest()
    return dataclasses.replace(found, artifacts=tuple(kept))
