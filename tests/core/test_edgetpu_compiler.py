"""Edge TPU compiler: argv building, log parsing, and running a test double of the compiler.

The real edgetpu_compiler cannot be installed here (x86-64 Debian only, from Google's apt
repository). The logs in tests/fixtures/edgetpu_logs were typed by hand in the exact format that
compiler versions 2.0, 14.1, 15.0 and 16.0 print, as seen in public reports on
github.com/google-coral/edgetpu, with model names and numbers of our own; the numbers expected
below were worked out by hand from those files, not from the parser. compile_model is exercised
with fake_edgetpu_compiler_for_tests.sh, a shell script this file writes that only prints a stored
log and copies files. No test here compiles anything or claims that a compile happened.
"""
from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgewizard.core.convert import edgetpu_compiler as etc
from edgewizard.core.convert.edgetpu_compiler import (
    EdgeTpuOptions, build_argv, compile_model, find_compiler, install_hint)
from edgewizard.core.convert.edgetpu_log import CompilerLog, parse_log, parse_size
from edgewizard.core.errors import Cancelled, MissingDependency, UserError

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "edgetpu_logs"
MAPPED = "Mapped to Edge TPU"
UNSPECIFIED = ("Operation is otherwise supported, but not mapped due to some unspecified "
               "limitation")
ONE_SUBGRAPH = "More than one subgraph is not supported"
DTYPE = "Operation is working on an unsupported data type"
NOT_SUPPORTED = "Operation not supported"
VERSION = "Operation version not supported"
RANK = "Tensor has unsupported rank (up to 3 innermost dimensions mapped)"
PARTIAL_START = "Model successfully compiled but not all operations are supported by the Edge TPU."
posix_only = pytest.mark.skipif(os.name != "posix", reason="the test double is a POSIX sh script")


def load(name: str) -> CompilerLog:
    return parse_log((LOGS / name).read_text(encoding="utf-8"))


def rows(log_or_seg) -> list[tuple[str, int, str]]:
    return [(o.op, o.count, o.status) for o in log_or_seg.ops]


# ---------------------------------------------------------------- parsing the fixtures

def test_all_mapped_mobilenet_v2_compiler_16():
    log = load("mobilenet_v2_all_mapped.log")
    assert log.compiler_version == "16.0.384591198"
    assert log.model_compiled and log.error is None and log.fully_mapped
    assert log.compile_time_ms == 1186
    assert log.input_model == "mobilenet_v2_1.0_224_int8.tflite"
    assert log.output_model == "mobilenet_v2_1.0_224_int8_edgetpu.tflite"
    assert log.operation_log == "mobilenet_v2_1.0_224_int8_edgetpu.log"
    assert (log.input_size_bytes, log.output_size_bytes) == (4089446, 4278190)
    assert log.on_chip_memory_bytes == 3670016            # 3.50 MiB
    assert log.on_chip_memory_remaining_bytes == 4456448  # 4.25 MiB
    assert log.off_chip_memory_bytes == 0
    assert (log.edgetpu_subgraphs, log.total_operations) == (1, 71)
    # The compiler prints no per-device counts when all ops map: they come from the table.
    assert (log.ops_on_tpu, log.ops_on_cpu) == (71, 0)
    assert rows(log) == [("PAD", 4, MAPPED), ("QUANTIZE", 2, MAPPED), ("CONV_2D", 35, MAPPED),
                         ("MEAN", 1, MAPPED), ("SOFTMAX", 1, MAPPED), ("ADD", 10, MAPPED),
                         ("DEPTHWISE_CONV_2D", 17, MAPPED), ("FULLY_CONNECTED", 1, MAPPED)]
    assert all(o.mapped and o.reason == "Runs on the Edge TPU." for o in log.ops)
    assert log.warnings == () and log.segments == ()


def test_partial_mapping_first_unsupported_op_then_one_subgraph_limit():
    log = load("partial_first_unmapped.log")
    assert log.compiler_version == "15.0.340273435"
    assert log.model_compiled and not log.fully_mapped
    assert log.compile_time_ms == 498
    assert (log.input_size_bytes, log.output_size_bytes) == (1698693, 1688207)
    assert log.on_chip_memory_bytes == 16896              # 16.50 KiB
    assert log.on_chip_memory_remaining_bytes == 8063549  # 7.69 MiB
    assert log.off_chip_memory_bytes == 0
    assert (log.total_operations, log.ops_on_tpu, log.ops_on_cpu) == (118, 2, 116)
    assert rows(log) == [
        ("MUL", 21, ONE_SUBGRAPH), ("QUANTIZE", 1, MAPPED), ("QUANTIZE", 1, UNSPECIFIED),
        ("HARD_SWISH", 19, NOT_SUPPORTED), ("CONV_2D", 1, MAPPED), ("CONV_2D", 34, ONE_SUBGRAPH),
        ("DEPTHWISE_CONV_2D", 11, ONE_SUBGRAPH), ("ADD", 6, ONE_SUBGRAPH),
        ("MEAN", 10, ONE_SUBGRAPH), ("RELU", 5, ONE_SUBGRAPH), ("RELU6", 9, ONE_SUBGRAPH)]
    assert [o.op for o in log.ops if o.mapped] == ["QUANTIZE", "CONV_2D"]
    hard_swish = next(o for o in log.ops if o.op == "HARD_SWISH")
    assert "no implementation" in hard_swish.reason
    later = next(o for o in log.ops if o.status == ONE_SUBGRAPH)
    assert "comes after an op that cannot" in later.reason
    assert len(log.warnings) == 1 and log.warnings[0].startswith(PARTIAL_START)
    assert log.warnings[0].endswith("g.co/coral/model-reqs.")


def test_every_status_string_from_the_reference():
    log = load("all_statuses.log")
    assert {o.status for o in log.ops} == {MAPPED, UNSPECIFIED, ONE_SUBGRAPH, DTYPE,
                                           NOT_SUPPORTED, VERSION, RANK}
    for o in log.ops:
        assert o.mapped is (o.status == MAPPED)
        assert o.reason and "does not know this status" not in o.reason
    assert (log.total_operations, log.ops_on_tpu, log.ops_on_cpu) == (120, 98, 22)
    assert sum(o.count for o in log.ops if o.mapped) == 98
    assert log.on_chip_memory_bytes == 6826230           # 6.51 MiB
    assert log.on_chip_memory_remaining_bytes == 1280    # 1.25 KiB
    assert log.off_chip_memory_bytes == 155648           # 152.00 KiB
    by_status = {o.status: o for o in log.ops}
    assert "more than 3 dimensions" in by_status[RANK].reason
    assert "newer version of this op" in by_status[VERSION].reason
    assert "int8" in by_status[DTYPE].reason
    assert len(log.ops) == 17


def test_unknown_status_is_kept_verbatim_and_unmapped():
    text = ("Edge TPU Compiler version 16.0.384591198\n\nModel compiled successfully in 5 ms.\n\n"
            "Input model: m.tflite\nOutput model: m_edgetpu.tflite\nTotal number of operations: 3"
            "\n\nOperator                       Count      Status\n\n"
            "CONV_2D                        2          Mapped to Edge TPU\n"
            "GELU                           1          Operation needs a newer runtime, sorry\n")
    log = parse_log(text)
    gelu = log.ops[1]
    assert (gelu.op, gelu.count, gelu.status, gelu.mapped) == (
        "GELU", 1, "Operation needs a newer runtime, sorry", False)
    assert "does not know this status" in gelu.reason
    assert (log.ops_on_tpu, log.ops_on_cpu) == (2, 1)
    assert any("GELU" in w and "newer runtime, sorry" in w for w in log.warnings)


def test_float_model_is_rejected_as_not_quantized():
    log = load("float_model_not_quantized.log")
    assert log.compiler_version == "16.0.384591198"
    assert not log.model_compiled
    assert log.error == "Model not quantized"
    assert log.ops == () and log.ops_on_tpu is None and log.on_chip_memory_bytes is None


def test_internal_compiler_error_compiler_14():
    log = load("internal_compiler_error.log")
    assert (log.compiler_version, log.model_compiled) == ("14.1.317412892", False)
    assert log.error == "Internal compiler error. Aborting!"


def test_off_chip_memory_in_mib_without_op_table():
    log = load("offchip_mib_no_table.log")
    assert log.model_compiled and log.ops == ()
    assert log.on_chip_memory_bytes == 7549747            # 7.20 MiB
    assert log.on_chip_memory_remaining_bytes == 3328     # 3.25 KiB
    assert log.off_chip_memory_bytes == 5368709           # 5.12 MiB
    assert (log.input_size_bytes, log.output_size_bytes) == (13096714, 13254001)
    # No "not all operations" warning: the compiler mapped all 98.
    assert (log.total_operations, log.ops_on_tpu, log.ops_on_cpu) == (98, 98, 0)


def test_two_pipeline_segments():
    log = load("segments_n2.log")
    assert log.model_compiled and len(log.segments) == 2
    first, second = log.segments
    assert first.input_model == "inception_v3_int8_segment_0_of_2.tflite"
    assert second.output_model == "inception_v3_int8_segment_1_of_2_edgetpu.tflite"
    assert (first.on_chip_memory_bytes, second.on_chip_memory_bytes) == (7361004, 7790920)
    assert (first.on_chip_memory_remaining_bytes, second.on_chip_memory_remaining_bytes) == (
        2560, 1792)
    assert (first.off_chip_memory_bytes, second.off_chip_memory_bytes) == (4666163, 4456448)
    assert (first.total_operations, second.total_operations) == (68, 63)
    assert (first.compile_time_ms, second.compile_time_ms) == (1412, 1297)
    assert rows(first) == [("QUANTIZE", 1, MAPPED), ("CONV_2D", 48, MAPPED),
                           ("AVERAGE_POOL_2D", 5, MAPPED), ("MAX_POOL_2D", 3, MAPPED),
                           ("CONCATENATION", 11, MAPPED)]
    assert len(second.ops) == 6 and second.ops[-1].op == "SOFTMAX"
    assert log.on_chip_memory_bytes == 15151924 and log.off_chip_memory_bytes == 9122611
    assert (log.total_operations, log.ops_on_tpu, log.ops_on_cpu) == (131, 131, 0)
    assert log.input_model is None and log.on_chip_memory_remaining_bytes is None
    assert len(log.ops) == 11


def test_compiler_2_0_prints_available_instead_of_remaining_and_no_blank_lines():
    log = load("compiler_2_0_available.log")
    assert (log.compiler_version, log.model_compiled, log.compile_time_ms) == (
        "2.0.291256449", True, 41)
    assert log.on_chip_memory_available_bytes == 6239027  # 5.95 MiB
    assert log.on_chip_memory_bytes == 906752             # 885.50 KiB
    assert log.on_chip_memory_remaining_bytes is None
    assert [o.op for o in log.ops] == ["SOFTMAX", "FULLY_CONNECTED", "MAX_POOL_2D", "QUANTIZE",
                                       "CONV_2D", "DEPTHWISE_CONV_2D"]
    assert (log.ops_on_tpu, log.ops_on_cpu) == (13, 0)


def test_large_activations_failure():
    log = load("large_activations_failed.log")
    assert not log.model_compiled
    assert log.error == "Compilation failed due to large activation tensors in model."
    assert log.error_detail is None  # "Restored original execution plan" explains nothing


def test_delegate_search_fails_first_then_succeeds_with_intermediate_tensors():
    log = load("delegate_search_recovered.log")
    assert log.model_compiled and log.error is None
    assert log.intermediate_tensors == ("StatefulPartitionedCall:0;head/concat_1",
                                        "head/reshape_3")
    assert (log.total_operations, log.ops_on_tpu, log.ops_on_cpu) == (268, 258, 10)
    assert sum(o.count for o in log.ops if o.mapped) == 258
    assert sum(o.count for o in log.ops if not o.mapped) == 10
    assert log.on_chip_memory_bytes == 4928307 and log.on_chip_memory_remaining_bytes == 2589983


def test_op_version_newer_than_the_compiler():
    log = load("op_version_unparsed.log")
    assert not log.model_compiled
    assert log.error == "Model could not be parsed"
    assert log.error_detail.startswith(
        "Didn't find op for builtin opcode 'FULLY_CONNECTED' version '12'.")
    message = etc.failure_message("dense_head_int8.tflite", log, 1)
    assert "dense_head_int8.tflite" in message and "newer TFLite converter" in message


def test_op_table_comes_from_the_log_file_when_console_has_none():
    console = (LOGS / "console_dynamic_batch_no_table.log").read_text(encoding="utf-8")
    table = (LOGS / "logfile_dynamic_batch_edgetpu.log").read_text(encoding="utf-8")
    assert parse_log(console).ops == ()
    log = parse_log(console, log_files=[table])
    assert rows(log) == [
        ("QUANTIZE", 1, MAPPED), ("CONV_2D", 3, MAPPED), ("MAX_POOL_2D", 2, MAPPED),
        ("SHAPE", 1, DTYPE), ("STRIDED_SLICE", 1, ONE_SUBGRAPH), ("PACK", 1, ONE_SUBGRAPH),
        ("RESHAPE", 1, ONE_SUBGRAPH), ("FULLY_CONNECTED", 1, ONE_SUBGRAPH)]
    assert (log.ops_on_tpu, log.ops_on_cpu, log.total_operations) == (6, 5, 11)
    assert log.on_chip_memory_bytes == 99584 and log.on_chip_memory_remaining_bytes == 8273265
    assert table in log.raw and console in log.raw


def test_log_file_alone():
    log = load("logfile_dynamic_batch_edgetpu.log")
    assert log.model_compiled  # the file is only written by a successful compile
    assert (log.input_model, log.output_model) == ("tiny_cnn_int8.tflite",
                                                   "tiny_cnn_int8_edgetpu.tflite")
    assert (log.ops_on_tpu, log.ops_on_cpu) == (6, 5)
    assert log.on_chip_memory_bytes is None


def test_later_segment_failing_means_not_compiled():
    second_start = ("Started a compilation timeout timer of 180 seconds.\n\n"
                    "Model compiled successfully in 1297")
    first = (LOGS / "segments_n2.log").read_text(encoding="utf-8").split(second_start)[0]
    text = first + ("Started a compilation timeout timer of 180 seconds.\n"
                    "ERROR: Restored original execution plan after delegate application failure.\n"
                    "Compilation failed: Compilation failed due to large activation tensors in "
                    "model.\nCompilation child process completed within timeout period.\n"
                    "Compilation failed! \n")
    log = parse_log(text)
    assert not log.model_compiled
    assert log.error == "Compilation failed due to large activation tensors in model."


def test_segfault_and_wrapped_warning_lines():
    crash = ("Edge TPU Compiler version 16.0.384591198\n/usr/bin/edgetpu_compiler: line 3:  1531 "
             "Segmentation fault      (core dumped) ${d}/edgetpu_compiler_bin/edgetpu_compiler "
             "\"$@\"\n")
    log = parse_log(crash)
    assert not log.model_compiled and "segmentation fault" in log.error
    wrapped = ("Edge TPU Compiler version 14.1.317412892\n\n"
               "Model compiled successfully in 9 ms.\n\n"
               "Input model: a.tflite\nOutput model: a_edgetpu.tflite\n"
               "Total number of operations: 24\n\n"
               "Model successfully compiled but not all operations are supported by the\n"
               "Edge TPU. A percentage of the model will instead run on the CPU, which is\n"
               "slower. For details, visit g.co/coral/model-reqs.\n"
               "Number of operations that will run on Edge TPU: 6\n"
               "Number of operations that will run on CPU: 18\n")
    log = parse_log(wrapped)
    assert (log.ops_on_tpu, log.ops_on_cpu) == (6, 18)
    assert log.warnings == ("Model successfully compiled but not all operations are supported by "
                            "the Edge TPU. A percentage of the model will instead run on the CPU, "
                            "which is slower. For details, visit g.co/coral/model-reqs.",)


def test_empty_output_and_to_dict():
    empty = parse_log("")
    assert not empty.model_compiled and empty.compiler_version is None and empty.ops == ()
    data = load("segments_n2.log").to_dict()
    again = json.loads(json.dumps(data))
    assert again["segments"][1]["ops"][0] == {
        "op": "CONV_2D", "count": 46, "status": MAPPED, "mapped": True,
        "reason": "Runs on the Edge TPU."}
    assert again["ops_on_tpu"] == 131


@pytest.mark.parametrize("text,expected", [
    ("0.00B", 0), ("1.52KiB", 1556), ("7.63MiB", 8000635), ("1.00GiB", 1073741824),
    ("512B", 512), ("n/a", None), ("", None)])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


# ---------------------------------------------------------------- argv

def test_build_argv_defaults(tmp_path):
    argv = build_argv("/opt/edgetpu_compiler", tmp_path / "m.tflite", tmp_path / "out",
                      EdgeTpuOptions())
    assert argv == ["/opt/edgetpu_compiler", "-s", "-o", str(tmp_path / "out"),
                    str(tmp_path / "m.tflite")]


def test_build_argv_every_option(tmp_path):
    options = EdgeTpuOptions(min_runtime_version=13, num_segments=3,
                             intermediate_tensors=["model/conv_5/Relu6:0", "head;concat"],
                             allow_multiple_subgraphs=True, search_delegate=True,
                             delegate_search_step=5, timeout_s=600, show_operations=False)
    assert options.intermediate_tensors == ("model/conv_5/Relu6:0", "head;concat")
    argv = build_argv("edgetpu_compiler", tmp_path / "m.tflite", tmp_path, options)
    assert argv == ["edgetpu_compiler", "-a", "-d", "-o", str(tmp_path), "-m", "13", "-n", "3",
                    "-i", "model/conv_5/Relu6:0,head;concat", "-k", "5", "-t", "600",
                    str(tmp_path / "m.tflite")]


def test_build_argv_keeps_hostile_paths_whole(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "-rf $(touch pwned) 'q' \"dq\" `id` ;x 模型.tflite"
    out = "--out dir; rm -rf ~"
    argv = build_argv("edgetpu_compiler", name, out, EdgeTpuOptions(show_operations=False))
    assert argv == ["edgetpu_compiler", "-o", os.path.join(str(tmp_path), out),
                    os.path.join(str(tmp_path), name)]
    assert not argv[-1].startswith("-") and not argv[2].startswith("-")


def test_delegate_search_reports_only_the_successful_attempts_tensors():
    text = ("Edge TPU Compiler version 16.0.384591198\nSearching for valid delegate with step 1\n"
            "Try to compile segment with 40 ops\nIntermediate tensors: a,b\n"
            "Compilation failed: Compilation failed due to large activation tensors in model.\n"
            "Compilation failed! \nTry to compile segment with 20 ops\n"
            "Model compiled successfully in 7 ms.\nInput model: m.tflite\n"
            "Output model: m_edgetpu.tflite\nTotal number of operations: 40\n")
    log = parse_log(text)
    assert log.model_compiled and log.intermediate_tensors == ()
    failed = parse_log(text.split("Try to compile segment with 20")[0])
    assert not failed.model_compiled and failed.intermediate_tensors == ()


def test_single_tensor_name_given_as_a_string_is_not_split_into_letters():
    assert EdgeTpuOptions(intermediate_tensors="logits").intermediate_tensors == ("logits",)


@pytest.mark.parametrize("kwargs", [
    {"intermediate_tensors": ("a,b",)}, {"intermediate_tensors": ("",)},
    {"num_segments": 0}, {"min_runtime_version": -1}, {"timeout_s": 1.5},
    {"delegate_search_step": True}, {"num_segments": "2"}])
def test_bad_options_are_user_errors(kwargs):
    with pytest.raises(UserError):
        EdgeTpuOptions(**kwargs)


# ---------------------------------------------------------------- finding the compiler

def test_no_compiler_here_gives_install_hint(tmp_path, monkeypatch):
    monkeypatch.delenv(etc.ENV_VAR, raising=False)
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert find_compiler() is None
    assert find_compiler(env_path=str(empty)) is None
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3")
    out = tmp_path / "out"
    with pytest.raises(MissingDependency) as info:
        compile_model(model, out)
    assert install_hint() in info.value.message
    assert info.value.exit_code == 3
    assert "edgetpu_compiler" in info.value.details and str(model) in info.value.details
    assert not out.exists()


def test_install_hint_says_where_and_how():
    hint = install_hint()
    for needle in ("apt-get install edgetpu-compiler", "Coral apt repository", "x86-64",
                   "WSL", "Docker", "edgetpu_compiler <file>", "int8 model was still written"):
        assert needle in hint


def test_finds_compiler_on_given_path_and_via_env_var(tmp_path, monkeypatch):
    monkeypatch.delenv(etc.ENV_VAR, raising=False)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    double = bindir / "edgetpu_compiler"
    double.write_text("#!/bin/sh\n# test double for the PATH lookup only; compiles nothing\n")
    double.chmod(0o755)
    assert find_compiler(env_path=str(bindir)) == str(double)
    monkeypatch.setenv(etc.ENV_VAR, str(double))
    assert find_compiler(env_path=str(tmp_path)) == str(double)
    monkeypatch.setenv(etc.ENV_VAR, str(tmp_path / "missing" / "edgetpu_compiler"))
    assert find_compiler(env_path=str(bindir)) is None  # a wrong override is not ignored
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3")
    with pytest.raises(MissingDependency) as info:
        compile_model(model, tmp_path / "out")
    assert etc.ENV_VAR in info.value.message and install_hint() in info.value.message


def test_module_stays_free_of_tensorflow():
    code = ("import sys, edgewizard.core.convert.edgetpu_compiler; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'numpy', 'openvino') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- running a test double

FAKE_SCRIPT = r"""#!/bin/sh
# fake_edgetpu_compiler_for_tests.sh -- TEST DOUBLE written by tests/core/test_edgetpu_compiler.py.
# It is NOT Google's edgetpu_compiler and compiles nothing: it records its arguments, prints a
# stored log, and copies the input model to <name>_edgetpu.tflite, so that EdgeWizard's own
# run / parse / cancel / failure code can be tested where the real compiler cannot be installed.
printf '%s\0' "$@" > @ARGV@
out_dir=.
segments=1
model=
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out_dir=$2; shift 2 ;;
    -n) segments=$2; shift 2 ;;
    -m|-i|-k|-t) shift 2 ;;
    -*) shift ;;
    *) model=$1; shift ;;
  esac
done
cat @CONSOLE@
if [ @HANG@ = yes ]; then
  sleep 30 &
  echo $! > @PIDFILE@
  wait
fi
if [ @WRITE@ = yes ]; then
  base=$(basename "$model" .tflite)
  if [ "$segments" -gt 1 ]; then
    k=0
    while [ "$k" -lt "$segments" ]; do
      cp "$model" "$out_dir/${base}_segment_${k}_of_${segments}_edgetpu.tflite"
      k=$((k + 1))
    done
  else
    cp "$model" "$out_dir/${base}_edgetpu.tflite"
    if [ -n @LOG@ ]; then cp @LOG@ "$out_dir/${base}_edgetpu.log"; fi
  fi
fi
exit @RC@
"""


def make_fake(tmp_path: Path, console, *, log: str = "", rc: int = 0, write: bool = True,
              hang: bool = False) -> Path:
    path = tmp_path / "fake_edgetpu_compiler_for_tests.sh"
    values = {"@ARGV@": tmp_path / "fake-argv.bin", "@CONSOLE@": LOGS / console,
              "@LOG@": (LOGS / log) if log else "", "@RC@": rc, "@WRITE@": "yes" if write else "no",
              "@HANG@": "yes" if hang else "no", "@PIDFILE@": tmp_path / "fake-sleep.pid"}
    text = FAKE_SCRIPT
    for token, value in values.items():
        text = text.replace(token, shlex.quote(str(value)))
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def fake_argv(tmp_path: Path) -> list[str]:
    return (tmp_path / "fake-argv.bin").read_bytes().decode("utf-8").split("\0")[:-1]


def leftovers(out_dir: Path) -> list[str]:
    return sorted(p.name for p in out_dir.iterdir()) if out_dir.exists() else []


@posix_only
def test_run_hostile_paths_reads_log_file_and_moves_outputs(tmp_path):
    src_dir = tmp_path / "模型 dir $(touch pwned)"
    src_dir.mkdir()
    model = src_dir / "my 'model' \"v2\" `id`.tflite"
    model.write_bytes(b"TFL3 pretend int8 model bytes")
    out = tmp_path / "out dir ü"
    fake = make_fake(tmp_path, "console_dynamic_batch_no_table.log",
                     log="logfile_dynamic_batch_edgetpu.log")
    messages = []
    result = compile_model(model, out, compiler=str(fake),
                           progress=lambda frac, msg: messages.append(msg))
    stem = "my 'model' \"v2\" `id`"
    assert result.edgetpu_model == out / f"{stem}_edgetpu.tflite"
    assert result.edgetpu_models == (result.edgetpu_model,)
    assert result.edgetpu_model.read_bytes() == model.read_bytes()
    assert result.log_files == (out / f"{stem}_edgetpu.log",)
    assert leftovers(out) == sorted([f"{stem}_edgetpu.log", f"{stem}_edgetpu.tflite"])
    assert result.returncode == 0
    received = fake_argv(tmp_path)
    assert received == list(result.argv[1:])
    assert received[0] == "-s" and received[-1] == str(model)
    assert not list(tmp_path.rglob("pwned")) and not Path("pwned").exists()
    log = result.log
    assert log.model_compiled and (log.ops_on_tpu, log.ops_on_cpu) == (6, 5)
    assert [o.op for o in log.ops] == ["QUANTIZE", "CONV_2D", "MAX_POOL_2D", "SHAPE",
                                       "STRIDED_SLICE", "PACK", "RESHAPE", "FULLY_CONNECTED"]
    assert "Edge TPU Compiler version 16.0.384591198" in messages
    assert json.loads(json.dumps(result.to_dict()))["returncode"] == 0


@posix_only
def test_env_var_compiler_and_segments(tmp_path, monkeypatch):
    model = tmp_path / "inception_v3_int8.tflite"
    model.write_bytes(b"TFL3")
    out = tmp_path / "out"
    monkeypatch.setenv(etc.ENV_VAR, str(make_fake(tmp_path, "segments_n2.log")))
    result = compile_model(model, out, EdgeTpuOptions(num_segments=2))
    assert [p.name for p in result.edgetpu_models] == [
        "inception_v3_int8_segment_0_of_2_edgetpu.tflite",
        "inception_v3_int8_segment_1_of_2_edgetpu.tflite"]
    assert result.edgetpu_model == result.edgetpu_models[0]
    assert len(result.log.segments) == 2 and result.log.ops_on_tpu == 131
    assert fake_argv(tmp_path)[:5] == ["-s", "-o", fake_argv(tmp_path)[2], "-n", "2"]


@posix_only
def test_success_in_words_the_parser_does_not_know_is_still_success(tmp_path):
    console = tmp_path / "future-compiler-output.txt"
    console.write_text("Edge TPU Compiler version 17.0.1\nAll done, see you next time.\n")
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3")
    result = compile_model(model, tmp_path / "out", compiler=str(make_fake(tmp_path, console)))
    assert result.log.model_compiled and result.log.compiler_version == "17.0.1"
    assert any("did not recognise" in w for w in result.log.warnings)
    assert result.edgetpu_model.read_bytes() == b"TFL3"


@posix_only
def test_compiler_rejects_float_model(tmp_path):
    model = tmp_path / "keras_mnist_float32.tflite"
    model.write_bytes(b"TFL3")
    out = tmp_path / "out"
    fake = make_fake(tmp_path, "float_model_not_quantized.log", rc=1, write=False)
    with pytest.raises(UserError) as info:
        compile_model(model, out, compiler=str(fake))
    err = info.value
    # The error doctor's sentence (resources/errors/edgetpu.toml), not the compiler's "Model not quantized".
    assert "keras_mnist_float32.tflite" in err.message and "not fully quantized" in err.message
    assert "int8" in err.message and err.exit_code == 2 and err.message_id == "edgetpu.not_quantized"
    assert "Invalid model: keras_mnist_float32.tflite" in err.details
    assert "exit code 1" in err.details
    assert leftovers(out) == []


@posix_only
def test_exit_code_zero_without_output_is_still_a_failure(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3")
    fake = make_fake(tmp_path, "internal_compiler_error.log", rc=0, write=False)
    with pytest.raises(UserError, match="stopped on m.tflite with an internal error"):
        compile_model(model, tmp_path / "out", compiler=str(fake))
    assert leftovers(tmp_path / "out") == []


@posix_only
def test_output_written_but_nonzero_exit_is_a_failure_and_leaves_nothing(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3")
    fake = make_fake(tmp_path, "large_activations_failed.log", rc=1, write=True)
    with pytest.raises(UserError, match="large activation tensors") as info:
        compile_model(model, tmp_path, compiler=str(fake))
    assert "smaller input size" in info.value.message
    assert leftovers(tmp_path) == sorted(["fake-argv.bin", "fake_edgetpu_compiler_for_tests.sh",
                                          "m.tflite"])


@posix_only
def test_nonzero_exit_fails_even_when_the_output_looks_fine(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3")
    fake = make_fake(tmp_path, "mobilenet_v2_all_mapped.log", rc=3, write=True)
    with pytest.raises(UserError, match="exited with code 3") as info:
        compile_model(model, tmp_path / "out", compiler=str(fake))
    assert "(exit code 3)" in info.value.details
    assert leftovers(tmp_path / "out") == []


def _process_gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


@posix_only
def test_cancel_kills_the_compiler_and_its_children(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3")
    out = tmp_path / "out"
    fake = make_fake(tmp_path, "mobilenet_v2_all_mapped.log", hang=True)
    seen, start = [], time.monotonic()
    with pytest.raises(Cancelled):
        compile_model(model, out, compiler=str(fake), progress=lambda f, m: seen.append(m),
                      cancelled=lambda: time.monotonic() - start > 0.5)
    assert time.monotonic() - start < 5
    assert "Edge TPU Compiler version 16.0.384591198" in seen  # streamed while it ran
    pid = int((tmp_path / "fake-sleep.pid").read_text())
    deadline = time.monotonic() + 3
    while not _process_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _process_gone(pid)
    assert leftovers(out) == []


@posix_only
def test_timeout_stops_the_compiler(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3")
    fake = make_fake(tmp_path, "mobilenet_v2_all_mapped.log", hang=True)
    start = time.monotonic()
    with pytest.raises(UserError, match="did not finish within"):
        compile_model(model, tmp_path / "out", compiler=str(fake), timeout=0.5)
    assert time.monotonic() - start < 5
    assert leftovers(tmp_path / "out") == []


@posix_only
def test_unrunnable_compiler_is_a_missing_dependency(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3")
    bogus = tmp_path / "not_a_program_for_tests"
    bogus.write_text("this is text, not a program\n")
    bogus.chmod(0o755)
    with pytest.raises(MissingDependency, match="Could not run the Edge TPU compiler"):
        compile_model(model, tmp_path / "out", compiler=str(bogus))
    assert leftovers(tmp_path / "out") == []


def test_missing_input_model_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        compile_model(tmp_path / "nope.tflite", tmp_path, compiler="/bin/true")
