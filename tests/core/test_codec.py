"""core/codec.py: every result type goes to JSON and comes back equal; unknown keys are ignored, missing
ones take their defaults, and a value of the wrong shape is refused with ValueError."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

import pytest

from edgewizard.core import codec
from edgewizard.core.bench.result import BenchResult
from edgewizard.core.calibrate import CalibrationSpec
from edgewizard.core.convert.edgetpu_compiler import EdgeTpuOptions
from edgewizard.core.graph import TensorInfo
from edgewizard.core.manifest import (Artifact, CutRecord, FileEntry, Manifest, SourceRecord, from_dict, read_manifest,
                                      write_manifest)
from edgewizard.core.plan import ConvertOptions, LoadOptions, Plan, Selection, Source
from edgewizard.core.validate.report import MemoryEstimate, NodeVerdict, Suggestion, ValidationReport
from edgewizard.core.verify.results import (ArtifactCheck, DataSummary, Flag, Histogram, OutputCheck, Thresholds,
                                            VerifyReport, WorstSample)

MANIFEST = Manifest(
    created="2026-01-01T00:00:00+00:00",
    source=SourceRecord(path="/m/a.h5", format="h5", sha256="ab" * 32, size_bytes=123, op_counts={"Conv2D": 3}),
    cut=CutRecord(inputs=(TensorInfo("image", (1, 32, 32, 1), "float32"),), outputs=(TensorInfo("out", (None, 10), "float32"),
                  TensorInfo("rankless", None, "int8")), removed_inputs=("mask",), source_nodes={"out": "dense_1"}),
    options={"io_type": "uint8", "calibration": None},
    tools={"tensorflow": "2.21.0", "edgetpu_compiler": None},
    artifacts=(Artifact(target="edgetpu", title="Coral Edge TPU", status="compiled",
                        files=(FileEntry("a_int8.tflite", 10, "cd" * 32), FileEntry("a_int8_edgetpu.tflite", 12, "ef" * 32)),
                        op_counts_before={"Conv2D": 3}, op_counts_after={"edgetpu-custom-op": 1}, seconds=1.5,
                        finished_at=1700000000.25, notes=("a note",), details={"compiler_log": {"ops_on_cpu": 0}}),),
    total_seconds=2.0, plan_key="0123456789abcdef")

VALIDATION = ValidationReport(
    device="edgetpu", title="Coral Edge TPU", status="checked", source_of_truth="table", judged="int8",
    nodes=(NodeVerdict(0, "conv", "CONV_2D", "device", "ok", ("conv1",)),
           NodeVerdict(1, "fc", "FULLY_CONNECTED", "unsupported", "no", (), "op:FC", False)),
    partition_index=1, memory=MemoryEstimate(100, 8 << 20, off_chip_bytes=None),
    suggestions=(Suggestion("cut_tail", "Cut before fc.", ("fc",), ("conv1",)),), notes=("n",), reason_args={"a": 1},
    source_verdicts={"conv1": "device"}, seconds=0.5, short="Edge TPU", plan_key="k")

VERIFY = VerifyReport(
    source={"path": "/m/a.h5", "format": "h5"}, cut={"inputs": [{"name": "image", "shape": [1, 4], "dtype": "float32"}]},
    data=DataSummary(kind="random", description="64 random samples", samples=64, labelled=False, class_names=["a", "b"],
                     input_ranges={"image": [0.0, 1.0]}, note="random"),
    thresholds=Thresholds(max_accuracy_drop=0.01),
    artifacts=[ArtifactCheck(path="/o/a.tflite", file="a.tflite", targets=["tflite-int8"], runtime="litert", precision="int8",
                             status="flagged",
                             outputs=[OutputCheck(name="out", shape=[10], max_abs_error=0.5, mean_abs_error=0.1, cosine=0.9,
                                                  cosine_min=0.8, reference_range=[0.0, 1.0], classifier=True,
                                                  top1_agreement=0.9, disagreements=6,
                                                  histogram=Histogram(edges=[0.0, 0.5, 1.0], counts=[3, 1]),
                                                  worst=[WorstSample(index=3, error=0.4, original_top1=1, artifact_top1=2)])],
                             flags=[Flag(output="out", kind="cosine", value=0.9, threshold=0.99, message="low", remedies=["x"])],
                             inputs=[{"name": "image", "dtype": "uint8", "scale": 0.1}], sha256="12" * 32, plan_key="v")],
    created="now", tools={"numpy": "2"}, seconds=3.0, plan_key="r")

BENCH = BenchResult(device="tflite:CPU", runtime="litert 2", count=3, first_ms=1.0, mean_ms=0.5, median_ms=0.5, p90_ms=0.6,
                    p99_ms=0.7, min_ms=0.4, max_ms=0.7, stdev_ms=None, throughput_fps=2000.0, elapsed_s=0.1, warmup_count=5,
                    load_ms=None, threads=None, model="a.tflite", host="this computer", status="finished",
                    notes=("n",), precision="f32", plan_key="b")

PLAN = Plan(source=Source("/m/a.h5", "h5", "ab" * 32, LoadOptions(allow_unsafe=True, signature="serving")),
            selection=Selection(inputs=("a",), outputs=("b", "c"), shapes=(("a", (1, 8, 8, 3)), ("", (1, 2)))),
            devices=("edgetpu", "myriad"), targets=("edgetpu",),
            options=ConvertOptions(io_type="int8", calibration=CalibrationSpec(sources=((None, "/c"), ("a", "synthetic")),
                                                                               mean=(127.5,), scale=(0.5, 0.5, 0.5)),
                                   edgetpu=EdgeTpuOptions(num_segments=2, intermediate_tensors=("t1", "t2"))),
            output_dir="/o")


@pytest.mark.parametrize("value", [MANIFEST, VALIDATION, VERIFY, BENCH, PLAN], ids=lambda v: type(v).__name__)
def test_every_result_type_round_trips_through_json_text(value):
    text = codec.dumps(value)
    json.loads(text)  # plain JSON
    assert codec.loads(type(value), text) == value


def test_the_results_own_to_dict_and_from_dict_go_through_the_codec():
    assert ValidationReport.from_dict(json.loads(json.dumps(VALIDATION.to_dict()))) == VALIDATION
    assert VALIDATION.to_dict()["summary"] and VALIDATION.to_dict()["totals"]["total"] == 2  # computed keys kept
    assert VerifyReport.from_dict(json.loads(json.dumps(VERIFY.to_dict()))) == VERIFY
    assert BenchResult.from_dict(json.loads(json.dumps(BENCH.to_dict()))) == BENCH


def test_tuples_become_lists_and_optional_shapes_survive():
    data = codec.to_data(MANIFEST)
    assert data["cut"]["outputs"][0]["shape"] == [None, 10] and data["cut"]["outputs"][1]["shape"] is None
    back = codec.from_data(Manifest, data)
    assert back.cut.outputs[0].shape == (None, 10) and isinstance(back.artifacts, tuple)
    assert isinstance(back.artifacts[0].files[0], FileEntry)


@dataclass(frozen=True)
class Small:
    name: str
    size: int = 7
    tags: tuple[str, ...] = ()
    extra: Optional[dict] = None
    more: list = field(default_factory=list)


def test_unknown_keys_are_ignored_and_missing_ones_take_the_default():
    assert codec.from_data(Small, {"name": "a", "colour": "red"}) == Small("a")
    assert codec.from_data(Small, {"name": "a", "tags": ["x"], "extra": None}) == Small("a", tags=("x",))


@pytest.mark.parametrize("data", [
    {"name": 3},  # a number for a string
    {"name": "a", "size": "7"},  # a string for a number
    {"name": "a", "size": True},  # a bool is not a number here
    {"name": "a", "tags": "x"},  # a string for a list
    {"name": "a", "extra": [1]},  # a list for an object
    {"size": 1},  # a required field missing
    ["a"],  # not an object at all
])
def test_a_wrong_shape_raises_value_error(data):
    with pytest.raises(ValueError):
        codec.from_data(Small, data)


def test_a_fixed_length_tuple_must_have_its_length():
    with pytest.raises(ValueError):
        codec.from_data(Selection, {"shapes": [["a", [1, 2], "extra"]]})
    assert codec.from_data(Selection, {"shapes": [["a", [1, 2]]]}).shapes == (("a", (1, 2)),)


def test_a_format_1_manifest_keeps_its_target_facts_in_details(tmp_path):
    old = {"created": "c", "source": {"path": "/m/a.h5", "format": "h5", "sha256": "x", "size_bytes": 1, "op_counts": {}},
           "cut": {"inputs": [{"name": "i", "shape": [1], "dtype": "float32"}], "outputs": [], "removed_inputs": [],
                   "source_nodes": {}},
           "options": {}, "tools": {}, "total_seconds": 1.0,
           "artifacts": [{"target": "edgetpu", "title": "T", "status": "compiled", "files": [{"name": "m.tflite",
                          "size_bytes": 1, "sha256": "y"}], "op_counts_before": {}, "op_counts_after": {}, "seconds": 1.0,
                          "finished_at": 2.0, "notes": [], "compiler_log": {"ops_on_cpu": 0}, "calibrated": True}]}
    (tmp_path / "manifest.json").write_text(json.dumps(old))
    m = read_manifest(tmp_path)
    assert m.artifacts[0].details == {"compiler_log": {"ops_on_cpu": 0}, "calibrated": True}
    assert m.artifacts[0].model_file == "m.tflite" and m.format_version == 2 and m.plan_key == ""


def test_write_then_read_a_manifest_and_unreadable_ones_are_none(tmp_path):
    write_manifest(tmp_path, MANIFEST)
    assert read_manifest(tmp_path) == MANIFEST
    assert read_manifest(tmp_path / "nowhere") is None
    (tmp_path / "manifest.json").write_text('{"artifacts": "not a list"}')
    assert read_manifest(tmp_path) is None
    with pytest.raises(ValueError):
        from_dict([])


def test_converted_files_once_per_file_in_order():
    shared = Manifest(artifacts=(
        Artifact("tflite-int8", files=(FileEntry("m_int8.tflite"),)),
        Artifact("edgetpu", files=(FileEntry("m_int8.tflite"), FileEntry("m_int8_edgetpu.tflite"), FileEntry("m.log"))),
        Artifact("openvino-fp16", files=(FileEntry("m_fp16.xml"), FileEntry("m_fp16.bin"))),
    ))
    got = [(p.name, t) for p, t in shared.converted_files("/o")]
    assert got == [("m_int8.tflite", "tflite-int8"), ("m_int8_edgetpu.tflite", "edgetpu"), ("m_fp16.xml", "openvino-fp16")]
    assert shared.artifact("edgetpu").model_file == "m_int8.tflite" and shared.artifact("nope") is None
