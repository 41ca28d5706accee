"""Both plug-in registries survive a backend module that fails to import: its entries are listed as
unavailable with the reason in plain words, and every other entry still works."""
from __future__ import annotations

import json

import pytest

from edgewizard.core.convert import base as convert_base
from edgewizard.core.convert.run import convert
from edgewizard.core.errors import MissingDependency
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.samples import sample_model_path
from edgewizard.core.validate import base as validate_base

BROKEN = "tests.core.broken_backend"
WHY = ("its module failed to load (ModuleNotFoundError: No module named "
       "'edgewizard_no_such_module_for_tests')")


def with_broken_module(monkeypatch, registry, keys: str, name: str):
    """The registry, loaded, then loaded again with the broken module among its built-ins."""
    registry._load_builtin()
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, keys, dict(getattr(registry, keys)))
    monkeypatch.setattr(registry, "_BUILTIN", registry._BUILTIN + ((BROKEN, (name,)),))
    monkeypatch.setattr(registry, "_loaded", False)
    return registry


def test_a_target_module_that_fails_to_import_leaves_the_other_targets(monkeypatch, tmp_path):
    base = with_broken_module(monkeypatch, convert_base, "_ALIASES", "test-broken")
    choices = {c.name: c for c in base.target_choices()}
    assert not choices["test-broken"].available and choices["test-broken"].reason == WHY
    assert all(c.available for name, c in choices.items() if name != "test-broken")
    with pytest.raises(MissingDependency) as err:
        convert(str(sample_model_path()), LoadOptions(), Selection(), ["tflite-float", "test-broken"], str(tmp_path))
    assert str(err.value) == f"The test-broken target cannot be used here: {WHY}."
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [a["target"] for a in manifest["artifacts"]] == ["tflite-float"]
    assert (tmp_path / "digits_cnn_float.tflite").stat().st_size > 0


def test_a_validator_module_that_fails_to_import_leaves_the_other_devices(monkeypatch):
    base = with_broken_module(monkeypatch, validate_base, "_KEYS", "test:broken")
    choices = {c.name: c for c in base.device_choices()}
    assert not choices["test:broken"].available and choices["test:broken"].reason == WHY
    assert choices["edgetpu"].available and choices["edgetpu"].title == "Coral Edge TPU"
