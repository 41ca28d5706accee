"""The Edge TPU compiler's log replacing the table's prediction (exercised with the compiler TEST
DOUBLE from test_edgetpu_compiler.py, a shell script that prints a stored log and compiles
nothing), the device registry, and the device tables' own consistency.

The console logs below were typed by hand in the format compiler 16.0 prints, for the small
hard_swish model (QUANTIZE, CONV_2D, HARD_SWISH, QUANTIZE); no compile happens in these tests."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Optional

import pytest

from edgewizard.core.convert.edgetpu_compiler import ENV_VAR
from edgewizard.core.errors import InternalError, UserError
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.validate import base
from edgewizard.core.validate.edgetpu_rules import CHECKS
from edgewizard.core.validate.report import CPU, DEVICE, UNSUPPORTED, ValidationReport
from edgewizard.core.validate.run import validate
from edgewizard.core.validate.tables import TABLES, _check, load_table
from tests.core.test_edgetpu_compiler import fake_argv, make_fake
from tests.models import validate_models as vm

posix_only = pytest.mark.skipif(os.name != "posix", reason="the compiler test double is a POSIX sh script")

HEADER = """Edge TPU Compiler version 16.0.384591198
Started a compilation timeout timer of 180 seconds.

Model compiled successfully in 12 ms.

Input model: validate_int8.tflite
Input size: 2.00KiB
Output model: validate_int8_edgetpu.tflite
Output size: 3.00KiB
On-chip memory used for caching model parameters: 1.00KiB
On-chip memory remaining for caching model parameters: 7.74MiB
Off-chip memory used for streaming uncached model parameters: 0.00B
Number of Edge TPU subgraphs: 1
Total number of operations: 4
Operation log: validate_int8_edgetpu.log

Model successfully compiled but not all operations are supported by the Edge TPU. A percentage of the model will instead run on the CPU, which is slower. If possible, consider updating your model to use only operations supported by the Edge TPU. For details, visit g.co/coral/model-reqs.
Number of operations that will run on Edge TPU: {tpu}
Number of operations that will run on CPU: {cpu}

Operator                       Count      Status

"""
AGREES = HEADER.format(tpu=2, cpu=2) + """QUANTIZE                       1          Mapped to Edge TPU
QUANTIZE                       1          More than one subgraph is not supported
CONV_2D                        1          Mapped to Edge TPU
HARD_SWISH                     1          Operation not supported
Compilation child process completed within timeout period.
Compilation succeeded!
"""
DISAGREES = HEADER.format(tpu=1, cpu=3) + """QUANTIZE                       1          Mapped to Edge TPU
QUANTIZE                       1          More than one subgraph is not supported
CONV_2D                        1          Operation is otherwise supported, but not mapped due to some unspecified limitation
HARD_SWISH                     1          Operation not supported
Compilation child process completed within timeout period.
Compilation succeeded!
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return vm.rule_graph(tmp_path_factory.mktemp("compiler"), "hard_swish")


def with_compiler(tmp_path, monkeypatch, console: str, rc: int = 0):
    log = tmp_path / "console.log"
    log.write_text(console, encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, str(make_fake(tmp_path, str(log), rc=rc)))


def edgetpu(model) -> ValidationReport:
    (report,) = validate(str(model), LoadOptions(), Selection(), ["edgetpu"])
    return report


@posix_only
def test_the_compiler_log_replaces_the_prediction_when_they_agree(model, tmp_path, monkeypatch):
    with_compiler(tmp_path, monkeypatch, AGREES)
    report = edgetpu(model)
    assert report.source_of_truth == "compiler log" and report.disagreements == ()
    assert [(v.op, v.where) for v in report.nodes] == [
        ("QUANTIZE", DEVICE), ("CONV_2D", DEVICE), ("HARD_SWISH", UNSUPPORTED), ("QUANTIZE", CPU)]
    assert all(v.rule == "compiler" and "(compiler: " in v.reason for v in report.nodes)
    assert report.partition_point.op == "HARD_SWISH"
    assert report.memory.source == "compiler log" and report.memory.parameter_bytes == 1024
    assert report.memory.off_chip_bytes == 0 and report.memory.fits
    assert any("Judged by edgetpu_compiler 16.0.384591198" in n for n in report.notes)
    argv = fake_argv(tmp_path)
    assert argv[0] == "-s" and argv[-1].endswith("validate_int8.tflite")


@posix_only
def test_disagreements_between_compiler_and_table_are_shown(model, tmp_path, monkeypatch):
    with_compiler(tmp_path, monkeypatch, DISAGREES)
    report = edgetpu(model)
    assert report.source_of_truth == "compiler log"
    conv = next(v for v in report.nodes if v.op == "CONV_2D")
    assert conv.where == CPU and "The table expected: Runs on the Edge TPU." in conv.reason
    assert len(report.disagreements) == 1
    assert report.disagreements[0].startswith(f"CONV_2D '{conv.name}': the table predicted on the Edge TPU, "
                                              "the compiler says \"Operation is otherwise supported")


@posix_only
def test_a_failing_compiler_leaves_the_table_prediction_and_says_so(model, tmp_path, monkeypatch):
    with_compiler(tmp_path, monkeypatch, "Edge TPU Compiler version 16.0.384591198\nInvalid model: x.tflite\n"
                  "Model not quantized\n", rc=1)
    report = edgetpu(model)
    assert report.source_of_truth == "table" and report.partition_point.op == "HARD_SWISH"
    # The error doctor's words for the compiler's "Model not quantized" (resources/errors/edgetpu.toml).
    assert any(n.startswith("edgetpu_compiler ran but failed") and "not fully quantized to int8" in n
               for n in report.notes)


def test_without_the_compiler_the_report_says_it_is_a_prediction(model, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "/nonexistent/edgetpu_compiler")  # set but unusable: counts as absent
    report = edgetpu(model)
    assert report.source_of_truth == "table"
    assert any("edgetpu_compiler is not installed, so no compile was run" in n for n in report.notes)


# ---------------------------------------------------------------- registry

@dataclass(frozen=True)
class MissingLibraryValidator:
    """Test double: a device whose library is not installed."""

    name: str = "test:device"
    title: str = "A test device"

    def availability(self) -> Optional[str]:
        return base.missing_module("edgewizard_no_such_module_for_tests")

    def validate(self, ctx):  # pragma: no cover - never reached: unavailable first
        raise AssertionError("an unavailable validator must not run")


@dataclass(frozen=True)
class BrokenCheckValidator:
    """Test double: a device whose availability check itself raises."""

    name: str = "test:broken"
    title: str = "A broken test device"

    def availability(self) -> Optional[str]:
        raise RuntimeError("driver query crashed")

    def validate(self, ctx):  # pragma: no cover
        raise AssertionError


@dataclass(frozen=True)
class CrashingValidator:
    """Fault-injection test double: a device check that crashes inside its library."""

    name: str = "test:crash"
    title: str = "A crashing test device"

    def availability(self) -> Optional[str]:
        return None

    def validate(self, ctx):
        raise RuntimeError("segfault-like failure in a device library")


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(base, "REGISTRY", base.REGISTRY.copy())  # the built-ins, in a private copy to add to
    return base


def test_the_six_devices_are_registered_by_name():
    assert list(base.validators()) == ["edgetpu", "myriad", "openvino:CPU", "openvino:GPU", "openvino:NPU",
                                       "tflite:CPU"]
    assert base.get_validator("openvino:cpu").name == "openvino:CPU"
    assert base.get_validator("coral").name == "edgetpu" and base.get_validator("NCS2").name == "myriad"
    with pytest.raises(UserError, match=r"Unknown device 'edgetpuu'.*Did you mean edgetpu"):
        base.get_validator("edgetpuu")


def test_duplicate_names_are_refused(registry):
    with pytest.raises(ValueError, match="already registered"):
        registry.register(MissingLibraryValidator(name="EdgeTPU"))
    registry.register(MissingLibraryValidator())
    with pytest.raises(ValueError, match="already registered"):
        registry.register(BrokenCheckValidator(name="test:other"), aliases=("TEST:DEVICE",))


def test_a_validator_that_cannot_run_is_listed_unavailable_with_the_reason(registry, tmp_path):
    registry.register(MissingLibraryValidator())
    registry.register(BrokenCheckValidator())
    choices = {c.name: c for c in registry.device_choices()}
    assert not choices["test:device"].available
    assert choices["test:device"].reason == "the Python package 'edgewizard_no_such_module_for_tests' is not installed"
    assert not choices["test:broken"].available and "driver query crashed" in choices["test:broken"].reason
    assert choices["edgetpu"].available
    model = vm.rule_graph(tmp_path, "softmax_1000")
    missing, tpu = validate(str(model), LoadOptions(), Selection(), ["test:device", "edgetpu"], run_compiler=False)
    assert missing.status == "unavailable" and "is not installed" in missing.reason
    assert missing.summary().startswith("A test device: A test device cannot be checked here")
    assert tpu.status == "checked"


def test_a_crash_checking_one_device_keeps_the_others(registry, tmp_path):
    registry.register(CrashingValidator())
    model = vm.rule_graph(tmp_path, "softmax_1000")
    crashed, lite = validate(str(model), LoadOptions(), Selection(), ["test:crash", "tflite:CPU"])
    assert crashed.status == "failed" and "RuntimeError: segfault-like failure" in crashed.reason
    assert "this is a bug" in crashed.reason and "Traceback" in crashed.details and not crashed.notes
    assert lite.status == "checked" and lite.runs_entirely_on_device


# ---------------------------------------------------------------- the tables themselves

@pytest.mark.parametrize("name", TABLES)
def test_every_table_row_names_its_source_and_status(name):
    data = load_table(name)
    rows = data.get("op", []) + data.get("not_supported", []) + data.get("custom_op", [])
    assert rows
    for row in rows:
        src = data["sources"][row["source"]]
        assert src["document"] and src["url"] and src["version"] and src["date"]
        assert row["status"] in ("confirmed", "unconfirmed")


def test_the_edge_tpu_table_uses_only_checks_that_exist():
    table = load_table("edgetpu")
    used = {c for row in table["op"] for c in row.get("checks", [])}
    assert used <= set(CHECKS), used - set(CHECKS)
    assert {r["fix"] for r in table["not_supported"]} <= {"replace_activation", "fix_batch", "cut_tail", "quantize_fully"}


def test_a_row_without_a_known_source_is_refused():
    bad = {"table": {}, "sources": {"a": {}}, "op": [{"tflite": "ADD", "source": "b", "status": "confirmed"}]}
    with pytest.raises(InternalError, match="ADD: source 'b'"):
        _check("edgetpu", bad)


def test_listing_devices_and_building_the_command_import_no_heavy_library():
    code = ("import sys, json\n"
            "import edgewizard.core.validate.run, edgewizard.core.validate.edgetpu_compile\n"
            "from edgewizard.core.validate.base import device_choices, validators\n"
            "validators(); device_choices()\n"
            "from edgewizard.core.cli import build_parser; build_parser().parse_args(['validate', '--list-devices'])\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    loaded = {m.split(".")[0] for m in json.loads(out.stdout.strip().splitlines()[-1])}
    assert not loaded & {"tensorflow", "keras", "openvino", "ai_edge_litert", "onnx", "PySide6"}
