"""The error doctor's tables and machinery, without running any tool: every entry names a real
message (a test that makes the tool print it, or a quote from a public issue tracker), every quote
is diagnosed as its own entry, and a diagnosis becomes the right error with its id kept everywhere.

The messages made by the real tools are tested in test_doctor_tools.py."""
from __future__ import annotations

import ast
import json
import pickle
import re
from pathlib import Path

import pytest

from edgewizard.core import doctor
from edgewizard.core.errors import EdgeWizardError, InternalError, MissingDependency, UserError

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = doctor.signatures()
QUOTED = [s for s in ENTRIES if "quote" in s.provenance]
# What a caller adds for entries that need more than the message (see each entry's `requires`).
CONTEXT = {
    "edgetpu.not_quantized_float_tensors": {"model": "net_int8.tflite",
                                            "float_tensors": ["model/softmax", "model/conv/Relu"]},
}
ISSUE_URL = re.compile(r"^https://github\.com/[\w.-]+/[\w.-]+/(issues|pull)/\d+$")


def one_sentence(text: str) -> bool:
    """Ends with a full stop and no full stop inside is followed by a new sentence."""
    return text.endswith(".") and not re.search(r"[.!?]\s+[A-Z]", text[:-1])


def test_the_tables_load_with_unique_ids_and_every_family():
    ids = [s.id for s in ENTRIES]
    assert len(ids) == len(set(ids)) >= 20
    assert {s.table for s in ENTRIES} == set(doctor.TABLES)
    assert {s.tool for s in ENTRIES} >= {"openvino", "openvino_device", "tensorflow", "keras", "nncf", "litert",
                                         "edgetpu_compiler", "edgetpu"}
    for s in ENTRIES:
        assert s.id.split(".")[0] in (s.table, s.tool.split("_")[0]), s.id


@pytest.mark.parametrize("sig", ENTRIES, ids=lambda s: s.id)
def test_every_entry_names_where_its_message_comes_from(sig):
    prov = sig.provenance
    assert "test" in prov or "quote" in prov, sig.id
    if "quote" in prov:
        assert ISSUE_URL.match(prov.get("source", "")), f"{sig.id}: a quote needs its issue-tracker thread"
    if "test" in prov:
        file, _, name = prov["test"].partition("::")
        tree = ast.parse((ROOT / file).read_text(encoding="utf-8"))
        func = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
        assert func is not None, f"{sig.id}: {prov['test']} does not exist"
        # The test must check this very entry, not just exist.
        assert sig.id in ast.get_source_segment((ROOT / file).read_text(encoding="utf-8"), func), sig.id
    placeholders = set(re.findall(r"\{(\w+)\}", sig.sentence))
    known = set(sig.match.groupindex) | set(sig.collect) | set(sig.defaults) | set(sig.requires)
    known |= {"model_has"} if sig.model_has else set()
    known |= {"model", "device", "float_tensors", "custom_objects", "keras", "saved_by"}  # context the callers give
    assert placeholders <= known, (sig.id, placeholders - known)


@pytest.mark.parametrize("sig", QUOTED, ids=lambda s: s.id)
def test_every_quoted_message_is_diagnosed_as_its_entry(sig):
    found = doctor.diagnose(sig.provenance["quote"], sig.tool, CONTEXT.get(sig.id))
    assert found is not None and found.id == sig.id, found
    assert found.kind == sig.kind and found.tool == sig.tool
    assert "{" not in found.sentence.replace("{'", "") and one_sentence(found.sentence), found.sentence
    for value in found.args.values():
        assert value in found.sentence
    # The raw tool text stays out of the sentence: no C++ source locations, no "Check '...' failed".
    assert not re.search(r"\.(cpp|hpp|cc):\d+|Check '", found.sentence)


def test_quoted_messages_give_the_names_and_versions_in_them():
    def args(entry_id):
        sig = next(s for s in ENTRIES if s.id == entry_id)
        return doctor.diagnose(sig.provenance["quote"], sig.tool, CONTEXT.get(entry_id)).args

    assert args("edgetpu.op_version") == {"model": "The model", "op": "EXP", "version": "2"}
    assert args("edgetpu.runtime_too_old") == {"needed": "14", "have": "13"}
    assert args("edgetpu.delegate_not_loaded") == {"library": "libedgetpu.so.1"}
    assert args("openvino.device_opset") == {"device": "NPU", "op": "MaxPool", "node": "aten::max_pool2d/MaxPool",
                                             "opset": "opset14"}
    assert args("openvino.device_dynamic_rank") == {"device": "CPU", "op": "Squeeze", "node": "/model/Squeeze"}
    assert args("tensorflow.keras3_save_spec") == {"cls": "Sequential"}
    assert args("keras.legacy_arguments") == {"model": "The model", "layer": "DepthwiseConv2D",
                                              "kwargs": "{'groups': 1}"}
    assert args("edgetpu.not_quantized_float_tensors")["float_tensors"] == "model/softmax and model/conv/Relu"


def test_the_caller_names_the_model_and_the_device():
    quote = next(s for s in ENTRIES if s.id == "edgetpu.internal_error").provenance["quote"]
    found = doctor.diagnose(quote, "edgetpu_compiler", {"model": "pose_int8.tflite"})
    assert found.sentence.startswith("The Edge TPU compiler stopped on pose_int8.tflite with an internal error")
    quote = next(s for s in ENTRIES if s.id == "openvino.device_dynamic_shape").provenance["quote"]
    assert "OpenVINO's GPU.1 plugin" in doctor.diagnose(quote, "openvino_device", {"device": "GPU.1"}).sentence


def test_the_float_tensor_sentence_needs_the_tensors_and_falls_back_without_them():
    quote = next(s for s in ENTRIES if s.id == "edgetpu.not_quantized").provenance["quote"]
    assert doctor.diagnose(quote, "edgetpu_compiler", {"model": "a.tflite"}).id == "edgetpu.not_quantized"
    found = doctor.diagnose(quote, "edgetpu_compiler", {"model": "a.tflite", "float_tensors": ["x"]})
    assert found.id == "edgetpu.not_quantized_float_tensors" and "float tensors (x)" in found.sentence


def test_control_flow_is_named_only_when_the_model_has_it():
    text = ("Model wasn't fully converted. Failed operations detailed log:\n-- Conv-17 with a message:\n"
            "The input data tensor's rank has to be known (static)\n\nSummary:\n-- Conversion is failed for: Conv-17\n")
    assert doctor.try_entry("openvino.control_flow", text, {"model_ops": ["Conv", "Relu"]}) is None
    found = doctor.try_entry("openvino.control_flow", text, {"model_ops": ["Loop", "If", "Conv"]})
    assert found.args == {"ops": "Conv", "model_has": "If and Loop"}


def test_tools_are_asked_in_the_order_given_and_unknown_text_is_not_diagnosed():
    quote = next(s for s in ENTRIES if s.id == "edgetpu.op_version").provenance["quote"]
    assert doctor.diagnose(quote, "edgetpu_compiler").id == "edgetpu.op_version"
    assert doctor.diagnose(quote, ("litert", "edgetpu_compiler")).id == "litert.op_version"
    assert doctor.diagnose(quote, "openvino") is None
    assert doctor.diagnose("Something nobody has seen before.", None) is None
    assert doctor.diagnose("", "openvino") is None


def test_long_lists_are_cut_short():
    assert doctor.listed(["a"]) == "a"
    assert doctor.listed(["a", "b"]) == "a and b"
    assert doctor.listed(list("abcdefghi")) == "a, b, c, d, e, f and 3 more"


def test_explain_gives_the_doctors_error_or_keeps_the_callers():
    quote = next(s for s in ENTRIES if s.id == "edgetpu.runtime_too_old").provenance["quote"]
    err = doctor.explain(RuntimeError(quote), "edgetpu", UserError("fallback"))
    assert isinstance(err, MissingDependency) and err.exit_code == 3
    assert err.message_id == "edgetpu.runtime_too_old" and err.message_args == {"needed": "14", "have": "13"}
    assert err.message.startswith("The model was compiled for Edge TPU runtime 14") and quote in err.details
    fallback = UserError("OpenVINO could not convert this model: it went wrong.")
    same = doctor.explain(RuntimeError("it went wrong"), "openvino", fallback)
    assert same is fallback and same.message_id == "" and "it went wrong" in same.details
    kept = doctor.explain(RuntimeError("x"), "openvino", UserError("m", "the full log"))
    assert kept.details == "the full log"


def test_a_callers_lead_replaces_the_opening_of_the_sentence():
    text = "Some ops in the model are custom ops\nerror: 'tf.Erfinv' op is neither a custom op nor a flex op"
    lead = "TensorFlow Lite cannot convert this model at all, so it cannot run on the Edge TPU"
    err = doctor.explain(text, "tensorflow", UserError("fallback"), lead=lead)
    assert err.message_id == "tensorflow.custom_ops" and err.message_args == {"ops": "Erfinv"}
    assert err.message.startswith(lead + ": it can run Erfinv neither as a builtin") and one_sentence(err.message)


def test_explain_reads_the_causes_of_a_wrapped_exception():
    try:
        try:
            raise ValueError("Unknown layer: 'ScaleLayer'. Please ensure you are using a custom_object_scope.")
        except ValueError as inner:
            raise TypeError("could not be deserialized properly") from inner
    except TypeError as outer:
        err = doctor.explain(outer, "keras", UserError("fallback"), {"model": "m.h5"})
    assert err.message == ("m.h5 uses 'ScaleLayer', which Keras does not know; give a custom objects file, a Python "
                           "file that defines it (in the wizard, under Loading options on the Model step).")
    assert err.cli_hint == "--custom-objects FILE.py"  # the option, for the command line only
    assert "could not be deserialized properly" in err.details and "ScaleLayer" in err.details


@pytest.mark.parametrize("cls", [UserError, MissingDependency, InternalError])
def test_the_message_id_survives_dicts_and_pickles(cls):
    err = cls("A sentence.", "raw text", message_id="openvino.unknown_rank", message_args={"nodes": "'cv' (Conv)"})
    for copy in (EdgeWizardError.from_dict(json.loads(json.dumps(err.to_dict()))), pickle.loads(pickle.dumps(err))):
        assert type(copy) is cls
        assert (copy.message, copy.details, copy.message_id, copy.message_args) == (
            "A sentence.", "raw text", "openvino.unknown_rank", {"nodes": "'cv' (Conv)"})
    assert err.to_dict()["id"] == "openvino.unknown_rank" and err.args == ("A sentence.",)
    plain = cls("Plain.", "log")
    assert plain.to_dict() == {"kind": cls.kind, "message": "Plain.", "details": "log"}
    assert EdgeWizardError.from_dict({"kind": cls.kind, "message": "Old.", "details": ""}).message_id == ""


@pytest.mark.parametrize("entry, problem", [
    ('id = "x.a"\ntool = "x"\nkind = "user"\nmatch = "a"\nsentence = "A."\nprovenance = {test = "t"}\ncolour = 1',
     "unknown fields"),
    ('id = "x.a"\ntool = "x"\nkind = "fatal"\nmatch = "a"\nsentence = "A."\nprovenance = {test = "t"}', "kind"),
    ('id = "x.a"\ntool = "x"\nkind = "user"\nmatch = "a("\nsentence = "A."\nprovenance = {test = "t"}', "bad regex"),
    ('id = "x.a"\ntool = "x"\nkind = "user"\nmatch = "a"\nsentence = "A."', "lacks"),
    ('id = "x.a"\ntool = "x"\nkind = "user"\nmatch = "a"\nsentence = "A."\nprovenance = {test = "t"}\n'
     'collect = {b = {regex = "b", clean = ["shout"]}}', "collect.b"),
    ('id = "x.a"\ntool = "x"\nkind = "user"\nmatch = "a"\nsentence = "A."\nprovenance = {test = "t"}\n'
     'collect = {b = {regex = "(?P<op>b)", format = "{name}"}}', "collect.b with a group"),
])
def test_a_malformed_table_entry_is_refused_by_name(entry, problem):
    with pytest.raises(InternalError, match=re.escape(problem)) as info:
        doctor.parse_table("x", "[[error]]\n" + entry + "\n")
    assert "x.toml [[error]] #1 (x.a)" in info.value.message


def test_the_doctor_imports_nothing_heavy():
    import subprocess
    import sys

    code = ("import sys, edgewizard.core.doctor as d; d.signatures(); "
            "print(sorted(m for m in ('tensorflow', 'keras', 'openvino', 'numpy', 'PySide6', 'nncf') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


OPENVINO_TEXT = """Exception from src/inference/src/cpp/core.cpp:84:
Check 'it != type_map.end()' failed at src/frontends/tensorflow_lite/src/utils.cpp:95:
FrontEnd API failed with GeneralFailure:
Unexpected type: RESOURCE
"""


def test_an_unknown_tool_message_is_cut_to_the_line_that_says_what_is_wrong():
    from edgewizard.core.bench.agent import _first_line

    assert doctor.tool_line(OPENVINO_TEXT) == "Unexpected type: RESOURCE"
    assert _first_line(RuntimeError(OPENVINO_TEXT)) == "Unexpected type: RESOURCE"  # the agent's own copy
    assert doctor.tool_line("plain words\nmore") == "plain words"
    assert doctor.tool_line("Check 'x' failed at a.cpp:1:") == "Check 'x' failed at a.cpp:1:"  # nothing better
