"""What a verification finds: picklable dataclasses, written to and read from verify.json through core/codec.py.

Pure Python (no numpy, TensorFlow or OpenVINO), so the GUI process and the report can read results."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

from ..files import write_atomic

VERIFY_FILE = "verify.json"  # written into the EdgeWizard output folder the artifacts live in
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Thresholds:
    """When a result is flagged. Fractions: 0.98 means 98 %; an accuracy drop of 0.01 is 1 point."""

    min_top1_agreement: float = 0.98
    min_cosine: float = 0.99
    max_accuracy_drop: Optional[float] = None  # None: accuracy is reported, never flagged
    max_clipped_inputs: float = 0.01  # share of an int8 input's values outside its quantized range


@dataclass
class Histogram:
    """Counts of |artifact - original| per output element; edges has one more entry than counts."""

    edges: list[float]
    counts: list[int]


@dataclass
class WorstSample:
    index: int  # row in the data (and in the image folder's sorted file list / the .npz)
    error: float  # mean |artifact - original| over this sample's output
    original_top1: Optional[int] = None
    artifact_top1: Optional[int] = None
    original_score: Optional[float] = None  # the original's score for its own top class
    artifact_score: Optional[float] = None
    label: Optional[int] = None
    image: Optional[str] = None  # small PNG as a data: URI, when the first input is an image


@dataclass
class OutputCheck:
    name: str  # the cut's output name
    shape: list[int]  # of one sample
    max_abs_error: float
    mean_abs_error: float
    cosine: float  # mean over samples of the cosine similarity of the flattened outputs
    cosine_min: float
    reference_range: list[float]  # [min, max] of the original's values: scale for the errors
    classifier: bool  # one score per class (last axis > 1, nothing else but the batch)
    top1_agreement: Optional[float] = None
    disagreements: Optional[int] = None
    accuracy_original: Optional[float] = None
    accuracy_artifact: Optional[float] = None
    accuracy_drop: Optional[float] = None  # original minus artifact, as a fraction (0.01 = 1 point)
    histogram: Optional[Histogram] = None
    worst: list[WorstSample] = field(default_factory=list)


@dataclass
class Flag:
    output: Optional[str]  # None: about the artifact as a whole (e.g. its input range)
    kind: str  # "top1_agreement", "cosine", "accuracy_drop", "input_clipped"
    value: float
    threshold: float
    message: str  # plain words, one or two sentences
    remedies: list[str] = field(default_factory=list)


@dataclass
class ArtifactCheck:
    path: str
    file: str
    targets: list[str]  # from manifest.json beside it, when there is one
    runtime: str  # "litert", "openvino", or "" when skipped
    precision: str  # "float32", "float16", "dynamic-range int8", "int8", ...
    status: str  # "ok", "flagged", "skipped"
    outputs: list[OutputCheck] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    inputs: list[dict] = field(default_factory=list)  # name, dtype, and scale/zero_point/range if quantized
    seconds: float = 0.0
    inference_precision: str = ""  # what the device computed in, where the runtime says (OpenVINO: "f32", "f16")
    sha256: str = ""  # of the file checked
    plan_key: str = ""  # core/plan.py verify_key(sha256, data description, thresholds)


@dataclass
class DataSummary:
    kind: str  # "path", "calibration", "sample-test", "random"
    description: str  # one line a person reads: what the inputs were
    samples: int
    labelled: bool
    source: Optional[str] = None
    class_names: Optional[list[str]] = None  # label index -> name, for a labelled image folder
    input_ranges: dict = field(default_factory=dict)  # input -> [min, max]
    note: Optional[str] = None  # e.g. "random inputs say little about real accuracy"


@dataclass
class VerifyReport:
    source: dict  # path, format
    cut: dict  # inputs / outputs: [{name, shape, dtype}]
    data: DataSummary
    thresholds: Thresholds
    artifacts: list[ArtifactCheck]
    created: str = ""
    tools: dict = field(default_factory=dict)
    seconds: float = 0.0
    plan_key: str = ""  # verify_key over its artifacts' sha256 (joined, sorted), the data and the thresholds

    @property
    def flagged(self) -> bool:
        return any(a.flags for a in self.artifacts)

    def to_dict(self) -> dict:
        from ..codec import to_data

        return {"format_version": FORMAT_VERSION, "flagged": self.flagged, **to_data(self)}

    @staticmethod
    def from_dict(d: dict) -> "VerifyReport":
        from ..codec import from_data

        return from_data(VerifyReport, d)

    def keyed(self) -> "VerifyReport":
        """This report with its plan_key (and each artifact's) computed from what it checked."""
        from ..plan import verify_key

        description = self.data.description
        artifacts = [a if a.plan_key or not a.sha256 else replace(a, plan_key=verify_key(a.sha256, description, self.thresholds))
                     for a in self.artifacts]
        shas = ",".join(sorted(a.sha256 for a in artifacts))
        return replace(self, artifacts=artifacts, plan_key=verify_key(shas, description, self.thresholds))


def save(report: VerifyReport, folder: str | os.PathLike) -> Path:
    """Write `folder/verify.json` atomically. Results for other artifacts already saved there are
    kept when they were measured on the same data; otherwise the file is replaced (different
    inputs make their figures incomparable)."""
    folder = Path(folder)
    path = folder / VERIFY_FILE
    old = load_saved(folder)
    if old is not None and old.data.description == report.data.description and old.source.get("path") == report.source.get("path"):
        mine = {a.path for a in report.artifacts}
        report = replace(report, artifacts=[a for a in old.artifacts if a.path not in mine] + list(report.artifacts))
    report = report.keyed()  # the key of the artifacts saved here, not of every one the run checked
    write_atomic(path, json.dumps(report.to_dict(), indent=1, ensure_ascii=False))
    return path


def load_saved(folder: str | os.PathLike) -> Optional[VerifyReport]:
    """The verify.json in `folder`, or None when there is none or it cannot be read as a report."""
    p = Path(folder) / VERIFY_FILE
    try:
        return VerifyReport.from_dict(json.loads(p.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None

