"""core/plan.py: the plan keys depend on exactly the parts of the plan each result depends on, and a new
model resets the choices that belonged to the old one."""
from __future__ import annotations

from dataclasses import replace

from edgewizard.core.calibrate import CalibrationSpec
from edgewizard.core.plan import (ConvertOptions, LoadOptions, Plan, Selection, Source, bench_key, conversion_key,
                                  default_output_dir, stable_key, validation_key, verify_key)
from edgewizard.core.verify.results import Thresholds

A = Source("/models/a.h5", "h5", "a" * 64)
B = Source("/models/b.keras", "keras", "b" * 64)
PLAN = Plan(source=A, selection=Selection(outputs=("dense_1",)), devices=("edgetpu", "myriad"),
            targets=("edgetpu", "openvino-fp16"), output_dir="/out")


def test_equal_plans_have_equal_keys_and_the_key_is_short_hex():
    same = Plan(source=Source("/models/a.h5", "h5", "a" * 64), selection=Selection(outputs=("dense_1",)),
                devices=("edgetpu", "myriad"), targets=("edgetpu", "openvino-fp16"), output_dir="/out")
    assert validation_key(same) == validation_key(PLAN) and conversion_key(same) == conversion_key(PLAN)
    key = conversion_key(PLAN)
    assert len(key) == 16 and int(key, 16) >= 0
    assert validation_key(PLAN) != conversion_key(PLAN)  # different kinds of result never share a key


def test_devices_change_the_validation_key_only():
    other = PLAN.with_devices(("edgetpu",))
    assert validation_key(other) != validation_key(PLAN)
    assert conversion_key(other) == conversion_key(PLAN)
    assert validation_key(PLAN.with_devices(("myriad", "edgetpu"))) == validation_key(PLAN)  # the order ticked


def test_targets_change_the_conversion_key_only():
    other = PLAN.with_targets(("tflite-int8",))
    assert conversion_key(other) != conversion_key(PLAN)
    assert validation_key(other) == validation_key(PLAN)


def test_options_change_both_keys():
    # The Edge TPU is judged on the model converted with these options (calibration, int8 I/O type).
    for other in (PLAN.with_options(ConvertOptions(io_type="int8")),
                  PLAN.with_options(ConvertOptions(calibration=CalibrationSpec(sources=((None, "/calib"),))))):
        assert conversion_key(other) != conversion_key(PLAN)
        assert validation_key(other) != validation_key(PLAN)


def test_the_cut_and_the_source_change_both():
    for other in (PLAN.with_selection(Selection(outputs=("conv3",))),
                  PLAN.with_selection(Selection(outputs=("dense_1",), shapes=(("", (1, 32, 32, 3)),))),
                  replace(PLAN, source=replace(A, sha256="c" * 64)),  # the same path, edited
                  replace(PLAN, source=replace(A, load_options=LoadOptions(allow_unsafe=True)))):
        assert validation_key(other) != validation_key(PLAN)
        assert conversion_key(other) != conversion_key(PLAN)


def test_the_output_folder_changes_neither():
    other = PLAN.with_output_dir("/elsewhere")
    assert other != PLAN
    assert validation_key(other) == validation_key(PLAN) and conversion_key(other) == conversion_key(PLAN)


def test_a_new_model_resets_the_cut_and_the_output_folder_and_keeps_the_rest():
    new = PLAN.with_source(B)
    assert new.source == B and new.selection == Selection()
    assert new.output_dir == default_output_dir(B.path) == "/models/b_edgewizard"
    assert (new.devices, new.targets, new.options) == (PLAN.devices, PLAN.targets, PLAN.options)
    assert validation_key(new) != validation_key(PLAN) and conversion_key(new) != conversion_key(PLAN)
    assert PLAN.with_source(Source()).output_dir == ""  # no model, no folder


def test_default_output_dir_of_a_folder_uses_its_name(tmp_path):
    saved = tmp_path / "saved_model"
    saved.mkdir()
    assert default_output_dir(str(saved)) == str(tmp_path / "saved_model_edgewizard")
    assert default_output_dir(str(tmp_path / "m.tflite")) == str(tmp_path / "m_edgewizard")


def test_verify_and_bench_keys_depend_on_their_parts():
    key = verify_key("f" * 64, "the sample's test split", Thresholds())
    assert key == verify_key("f" * 64, "the sample's test split", Thresholds())
    assert key != verify_key("e" * 64, "the sample's test split", Thresholds())
    assert key != verify_key("f" * 64, "64 random samples", Thresholds())
    assert key != verify_key("f" * 64, "the sample's test split", Thresholds(min_cosine=0.5))
    settings = {"seconds": 10.0, "warmup": 5, "threads": None}
    b = bench_key("f" * 64, "tflite:CPU", settings)
    assert b == bench_key("f" * 64, "tflite:CPU", dict(reversed(list(settings.items()))))  # canonical JSON
    assert b != bench_key("f" * 64, "openvino:CPU", settings) and b != bench_key("f" * 64, "tflite:CPU", {**settings, "threads": 2})
    assert stable_key(1, (2, 3)) == stable_key(1, [2, 3])
