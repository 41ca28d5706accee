"""The error doctor's sentences and the device tables' reasons and advice are shared by the command line and
the wizard, so they name no command-line option, no `edgewizard` command and no conversion target's id (issue
16). Where an option helps, the entry's `cli_hint` holds it, and only the command line shows it, in brackets."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from edgewizard.core import doctor
from edgewizard.core.cli import report, with_hint
from edgewizard.core.errors import EdgeWizardError, InternalError, UserError

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = doctor.signatures()
# "--shape", "-t": an option, not a hyphenated word ("ai-edge-litert") or a number ("-1").
OPTION = re.compile(r"(?<![\w-])--?[a-z][\w-]*")
COMMAND = re.compile(r"\bedgewizard (?:inspect|validate|convert|verify|bench|report|gui|doctor|self-test)\b")
TARGET_ID = re.compile(r"(?<![\w.-])(?:tflite-(?:float|fp16|dynamic|int8)|openvino-(?:fp32|fp16|int8))(?![\w-])")
# The entries whose sentence named an option before the option moved into cli_hint.
HAD_AN_OPTION = {"edgetpu.dynamic_tensors", "edgetpu.large_activations", "edgetpu.internal_error",
                 "edgetpu.compiler_crashed", "edgetpu.runtime_too_old", "openvino.device_dynamic_rank",
                 "openvino.device_dynamic_shape", "openvino.input_shape_mismatch", "nncf.empty_dataset",
                 "keras.unknown_class", "keras.lambda_unsafe"}
# Device sentences the validators show (core/validate/*): reasons, advice, limits and notes.
DEVICE_SENTENCES = {"reason", "suggestion", "limitation", "note", "flex_reason", "flex_suggestion", "custom_reason",
                    "judged_on", "title"}


def command_line_words(text: str) -> list[str]:
    return [m.group(0) for rx in (OPTION, COMMAND, TARGET_ID) for m in rx.finditer(text)]


@pytest.mark.parametrize("sig", ENTRIES, ids=lambda s: s.id)
def test_no_sentence_names_an_option_a_command_or_a_target_id(sig):
    assert command_line_words(sig.sentence) == [], sig.id
    if sig.cli_hint:
        assert OPTION.search(sig.cli_hint), f"{sig.id}: a cli_hint names the option that helps"


def test_the_entries_that_named_an_option_carry_it_as_their_hint():
    hints = {s.id: s.cli_hint for s in ENTRIES}
    assert HAD_AN_OPTION <= set(hints)
    assert [i for i in sorted(HAD_AN_OPTION) if not hints[i].count("-")] == []
    assert hints["edgetpu.dynamic_tensors"] == "--shape 1,H,W,C"
    assert hints["keras.lambda_unsafe"] == "--allow-unsafe"
    assert hints["nncf.empty_dataset"] == "--calib PATH"
    assert "--edgetpu-intermediate" in hints["edgetpu.large_activations"]
    assert "--edgetpu-search-delegate" in hints["edgetpu.large_activations"]
    assert hints["edgetpu.not_quantized"] == "-t edgetpu or -t tflite-int8"  # was the targets' ids in the sentence


def test_the_hint_is_filled_like_the_sentence_and_reaches_the_command_line_only(capsys):
    quote = next(s for s in ENTRIES if s.id == "edgetpu.runtime_too_old").provenance["quote"]
    err = doctor.explain(quote, "edgetpu", UserError("fallback"))
    assert err.message == ("The model was compiled for Edge TPU runtime 14 but the runtime installed here (libedgetpu) "
                           "is version 13; update the Edge TPU runtime to version 14 or newer.")
    assert err.cli_hint == "or compile the model again with --edgetpu-min-runtime 13"
    again = EdgeWizardError.from_dict(err.to_dict())  # as it comes back from the worker process
    assert (again.message, again.cli_hint, again.message_id) == (err.message, err.cli_hint, "edgetpu.runtime_too_old")
    report(again, debug=False)
    assert capsys.readouterr().err == f"edgewizard: {with_hint(err.message, err.cli_hint)}\n"
    assert "(or compile the model again with --edgetpu-min-runtime 13)." in with_hint(err.message, err.cli_hint)


def test_a_callers_lead_keeps_the_hint():
    quote = next(s for s in ENTRIES if s.id == "edgetpu.dynamic_tensors").provenance["quote"]
    err = doctor.explain(quote, "edgetpu_compiler", UserError("fallback"), {"model": "m.tflite"},
                         lead="The Edge TPU cannot take m.tflite")
    assert err.message.startswith("The Edge TPU cannot take m.tflite: ") and not OPTION.search(err.message)
    assert err.cli_hint == "--shape 1,H,W,C" and err.message_id == "edgetpu.dynamic_tensors"


def test_a_hint_may_use_only_values_its_sentence_names():
    entry = ('[[error]]\nid = "x.a"\ntool = "x"\nkind = "user"\nmatch = "a"\nsentence = "A {b}."\n'
             'cli_hint = "--c {d}"\nprovenance = {test = "t"}\n')
    with pytest.raises(InternalError, match="cli_hint"):
        doctor.parse_table("x", entry)
    (ok,) = doctor.parse_table("x", entry.replace("{d}", "{b}"))
    assert ok.cli_hint == "--c {b}"


def _device_sentences(value, key=None):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _device_sentences(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _device_sentences(v, key)
    elif isinstance(value, str) and key in DEVICE_SENTENCES:
        yield value


def test_the_device_tables_name_no_option_nor_target_id():
    tomllib = doctor._toml()
    tables = sorted((ROOT / "resources" / "devices").glob("*.toml"))
    assert len(tables) >= 3
    found = []
    for path in tables:
        texts = list(_device_sentences(tomllib.loads(path.read_text(encoding="utf-8"))))
        assert texts, path.name
        found += [f"{path.name}: {t}" for t in texts if command_line_words(t)]
    assert found == []
