"""The device catalogue: every fact in it names something that exists (a target, a validator, a bench
device), and its titles and install hints are written nowhere else."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgewizard.core import devices as catalogue
from edgewizard.core.bench.runner import canonical_device
from edgewizard.core.convert import base as convert_base
from edgewizard.core.errors import UserError
from edgewizard.core.validate import base as validate_base

ROOT = Path(__file__).resolve().parents[2]


def test_ids_and_aliases_name_one_device_each():
    keys = [k.lower() for d in catalogue.devices() for k in (d.id, *d.aliases)]
    assert len(keys) == len(set(keys))
    assert catalogue.device("CORAL").id == "edgetpu" and catalogue.device("ncs2").id == "myriad"
    assert catalogue.device("tflite:cpu").id == "tflite:CPU"
    with pytest.raises(UserError, match=r"Unknown device 'tpu'; choose from edgetpu, myriad, ncs, openvino:CPU"):
        catalogue.device("tpu")


def test_every_target_of_a_device_is_a_conversion_target_and_every_target_runs_somewhere():
    # Targets tests register for fault injection ("test-fault-...") are not the product's.
    registered = {n: t for n, t in convert_base.targets().items() if not n.startswith("test-")}
    named = {t for d in catalogue.devices() for t in d.targets}
    assert named <= set(registered), named - set(registered)
    assert set(registered) <= named, set(registered) - named
    assert [d.id for d in catalogue.for_target("openvino-fp16")] == ["myriad", "openvino:CPU", "openvino:GPU",
                                                                     "openvino:NPU"]
    assert [d.id for d in catalogue.for_target("edgetpu")] == ["edgetpu"]


def test_a_device_name_converts_to_the_devices_first_target():
    for d in catalogue.devices():
        for name in (d.id, *d.aliases):
            if d.targets and name not in convert_base.targets():
                assert convert_base.get_target(name).name == d.default_target, name


def test_every_validator_is_catalogued_with_the_same_title():
    registered = validate_base.validators()
    assert list(registered) == list(catalogue.validator_ids())
    for name, validator in registered.items():
        d = catalogue.by_validator(name)
        assert validator.title == d.title
        assert validate_base.get_validator(d.id) is validator
        assert all(validate_base.get_validator(a) is validator for a in d.aliases)


def test_each_registry_lists_its_modules_targets_for_when_one_fails_to_load():
    assert [n for _, names in validate_base._BUILTIN for n in names] == list(catalogue.validator_ids())
    assert sorted(n for _, names in convert_base._BUILTIN for n in names) == sorted(
        n for n in convert_base.targets() if not n.startswith("test-"))  # not the fault-injection targets of tests


def test_every_bench_kind_is_what_the_bench_runner_calls_it():
    kinds = catalogue.bench_kinds()
    assert kinds and all(canonical_device(k) == k for k in kinds)
    assert catalogue.by_bench("edgetpu:usb:0").id == "edgetpu"
    assert catalogue.by_bench(canonical_device("ncs2")).id == "myriad"
    assert catalogue.by_bench("openvino:HDDL") is None
    assert catalogue.device("ncs").bench == "" and not catalogue.device("ncs").targets


def test_families_group_the_devices_the_wizard_offers_together():
    found = {f.id: f for f in catalogue.families()}
    assert list(found) == ["edgetpu", "myriad", "ncs", "openvino", "tflite"]
    assert found["openvino"].validators == ("openvino:CPU", "openvino:GPU", "openvino:NPU")
    assert found["openvino"].targets == ("openvino-fp32", "openvino-fp16", "openvino-int8")
    assert found["edgetpu"].title == catalogue.device("edgetpu").title
    assert [v for f in found.values() for v in f.validators] == list(catalogue.validator_ids())


def test_what_a_device_loads():
    assert catalogue.device("myriad").loads("m_fp16.XML") and not catalogue.device("myriad").loads("m.tflite")
    assert catalogue.device("edgetpu").loads("m_int8_edgetpu.tflite")
    assert all(d.file_kinds for d in catalogue.devices() if d.bench)


def test_the_agent_table_is_plain_json_with_every_usb_id_once():
    table = catalogue.agent_table()
    assert json.loads(json.dumps(table)) == table
    usb = [u["id"] for entry in table for u in entry["usb"]]
    assert len(usb) == len(set(usb)) and "18d1:9302" in usb
    assert all(u["kind"] and u["name"] for entry in table for u in entry["usb"])
    assert [e["device"] for e in table if e["device"] in catalogue.bench_kinds()] == list(catalogue.bench_kinds())


def test_the_catalogue_imports_nothing_but_itself():
    code = "import sys, edgewizard.core.devices; print(sorted(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    loaded = set(ast.literal_eval(out.stdout.strip()))
    assert {m for m in loaded if m.startswith("edgewizard")} <= {"edgewizard", "edgewizard.core",
                                                                  "edgewizard.core.devices", "edgewizard.core.errors"}
    assert "numpy" not in loaded


# ---------------------------------------------------------------- written only in the catalogue

def _catalogued_words() -> tuple[set[str], set[str]]:
    """(sentences only the catalogue writes: each device's and family's title, install hint and
    description; names a string may say in prose but not be: the USB names). Short names ("Edge TPU", "NCS2") are ordinary
    words in prose and are not counted."""
    words, names = set(), set()
    for d in catalogue.devices():
        words.update((d.title, d.install_hint, d.description))
        names.update(name for _, name in d.usb_ids)
    for f in catalogue.families():
        words.update((f.title, f.description))
    return {w for w in words if w}, names


def _writers(folder: str, exempt: tuple[str, ...]) -> list[str]:
    words, names = _catalogued_words()
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(exempt):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                found += [f"{rel}:{node.lineno}: {w!r}" for w in words if w in text]
                if text in names:
                    found.append(f"{rel}:{node.lineno}: {text!r}")
    return found


def test_no_module_of_core_writes_a_device_title_or_install_hint():
    # The bench agent runs where EdgeWizard is not installed: it is given the catalogue's table when it is
    # assembled, and keeps a copy for when it is run by hand.
    assert _writers("core", ("core/devices.py", "core/bench/agent")) == []


def test_no_module_of_the_gui_writes_a_device_title_or_install_hint():
    assert _writers("gui", ()) == []
