"""Both plug-in registries survive a backend module that fails to import: its entries are listed as
unavailable with the reason in plain words, and every other entry still works."""
from __future__ import annotations

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


def with_broken_module(monkeypatch, module, name: str):
    """The module's registry, loaded, then loaded again with the broken module among its built-ins."""
    monkeypatch.setattr(module, "REGISTRY", module.REGISTRY.copy(((BROKEN, (name,)),)))
    return module


def test_a_target_module_that_fails_to_import_leaves_the_other_targets(monkeypatch, tmp_path):
    base = with_broken_module(monkeypatch, convert_base, "test-broken")
    choices = {c.name: c for c in base.target_choices()}
    assert not choices["test-broken"].available and choices["test-broken"].reason == WHY
    assert all(c.available for name, c in choices.items() if name != "test-broken")
    # Refused before anything is loaded or written, not after the targets listed before it ran.
    with pytest.raises(MissingDependency) as err:
        convert(str(sample_model_path()), LoadOptions(), Selection(), ["tflite-float", "test-broken"], str(tmp_path / "a"))
    assert str(err.value) == f"The test-broken target cannot be used here: {WHY}."
    assert not (tmp_path / "a").exists()
    # The other targets still convert.
    manifest = convert(str(sample_model_path()), LoadOptions(), Selection(), ["tflite-float"], str(tmp_path / "b"))
    assert [a.target for a in manifest.artifacts] == ["tflite-float"]
    assert (tmp_path / "b" / "digits_cnn_float.tflite").stat().st_size > 0


def test_a_validator_module_that_fails_to_import_leaves_the_other_devices(monkeypatch):
    base = with_broken_module(monkeypatch, validate_base, "test:broken")
    choices = {c.name: c for c in base.device_choices()}
    assert not choices["test:broken"].available and choices["test:broken"].reason == WHY
    assert choices["edgetpu"].available and choices["edgetpu"].title == "Coral Edge TPU"
