"""The Edge TPU's advice, reasons and notes, and the errors convert raises, are sentences the wizard shows
as they are: they name no command-line option. The command line still names the option that carries each
one out: validate on a line under each suggestion ("command line: ..."), an error in brackets at its end."""
from __future__ import annotations

import re

import pytest

from edgewizard.core.cli import main, report
from edgewizard.core.cli.validate_cmd import option_hint, report_text
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.convert.edgetpu_compiler import EdgeTpuOptions
from edgewizard.core.convert.run import check_output_folder
from edgewizard.core.errors import EdgeWizardError, UserError
from edgewizard.core.graph import Graph
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.validate.edgetpu import _FIXES, suggest
from edgewizard.core.validate.report import MemoryEstimate, Suggestion
from edgewizard.core.validate.run import validate
from tests.models import validate_models as vm

# "--outputs", "-a": an option of ours or of the compiler, not a hyphenated word or a negative number.
OPTION = re.compile(r"(?<![\w-])--?[a-z][\w-]*")


def options_named(texts) -> list[str]:
    return [t for t in texts if OPTION.search(t)]


def sentences(report) -> list[str]:
    """Every sentence of a report the wizard shows: the summary, each node's reason, advice and notes."""
    return [report.summary(), report.judged, *(n.reason for n in report.nodes), *(s.text for s in report.suggestions),
            *report.notes]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("advice words")


def edgetpu(path, **edgetpu_options):
    (r,) = validate(str(path), LoadOptions(), Selection(), ["edgetpu"],
                    ConvertOptions(edgetpu=EdgeTpuOptions(**edgetpu_options)), run_compiler=False)
    assert r.status == "checked", r.reason
    return r


def test_the_validators_advice_names_no_option_and_the_command_line_adds_it(folder):
    cases = [  # (model, Edge TPU options, the advice it triggers, the option the command line adds)
        (vm.rule_graph(folder, "conv_then_big_softmax"), {"min_runtime_version": 14, "num_segments": 2},
         "cut_tail", "--outputs Reshape"),
        (vm.dynamic_batch_int8_tflite(folder / "dynamic.tflite"), {}, "fix_batch", "--shape 1,H,W,C"),
        (vm.float_tflite(folder / "float.tflite"), {"allow_multiple_subgraphs": True}, "quantize_fully",
         "--io-type uint8"),
        (vm.rule_graph(folder, "softmax_1000"), {"intermediate_tensors": ("tfl.quantize",)}, None, None),
    ]
    for path, opts, kind, option in cases:
        r = edgetpu(path, **opts)
        assert options_named(sentences(r)) == [], path.name
        if kind is None:
            assert any(n.rule == "intermediate" for n in r.nodes)  # its reason was among the sentences
            continue
        advice = next(s for s in r.suggestions if s.kind == kind)
        text = report_text(r)
        assert f"    - {advice.text}\n      command line: {option}" in text, text


def test_every_kind_of_advice_the_validator_writes_has_its_option_for_the_command_line():
    memory = MemoryEstimate(parameter_bytes=9 * 2 ** 20, cache_bytes=8 * 2 ** 20)
    written = suggest([], [], None, memory, Graph(nodes=(), inputs=(), outputs=()))
    assert [s.kind for s in written] == ["memory"]
    assert options_named(s.text for s in written) == [] and options_named(_FIXES.values()) == []
    for kind in [*_FIXES, "memory"]:
        if kind != "activation_fused":  # rewriting the model is advice no option carries out
            assert option_hint(Suggestion(kind, _FIXES.get(kind, ""))).startswith("--"), kind
    assert "--edgetpu-segments N" in option_hint(written[0])


def test_the_command_prints_the_cut_option_under_the_advice(folder, capsys):
    model = vm.rule_graph(folder, "conv_then_big_softmax")
    assert main(["validate", str(model), "-d", "edgetpu", "--no-compiler", "--calib", "synthetic"]) == 0
    out = capsys.readouterr().out
    advice = next(ln for ln in out.splitlines() if "Only post-processing follows the partition point" in ln)
    assert "cut the model so that it ends at node 'Reshape'" in advice and not OPTION.search(advice)
    assert out.splitlines()[out.splitlines().index(advice) + 1] == "      command line: --outputs Reshape"


def test_an_error_names_its_option_only_on_the_command_lines_own_line(tmp_path, capsys):
    (tmp_path / "m_float.tflite").write_bytes(b"kept")
    with pytest.raises(UserError) as err:
        check_output_folder(tmp_path, ["m_float.tflite"], tmp_path / "model.h5", force=False)
    exc = err.value
    assert exc.message == (f"m_float.tflite already exists in {tmp_path}; choose to replace it, or choose another "
                           "output folder.")
    assert not OPTION.search(exc.message) and "--force" in exc.cli_hint
    again = EdgeWizardError.from_dict(exc.to_dict())  # as it comes back from the worker process
    assert type(again) is UserError and again.cli_hint == exc.cli_hint
    report(again, debug=False)  # one line, one sentence, the option in brackets at its end
    assert capsys.readouterr().err == (f"edgewizard: m_float.tflite already exists in {tmp_path}; choose to replace "
                                       "it, or choose another output folder (--force replaces it).\n")
