"""Edge TPU rules: each one broken by a small model built to break exactly it, next to a control
model that keeps it, judged through the whole validate() step (load, cut, int8 conversion, table).

Rules the TFLite converter cannot be made to produce (StridedSlice masks, a fused activation on a
concatenation, ...) are checked on hand-built operator descriptions instead, and say so."""
from __future__ import annotations

import numpy as np
import pytest

from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.convert.edgetpu_compiler import EdgeTpuOptions
from edgewizard.core.graph import Graph, Node, TensorInfo
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.validate.edgetpu import estimate_memory, suggest
from edgewizard.core.validate.edgetpu_rules import applicable_rows, judge, judge_node
from edgewizard.core.validate.report import CPU, DEVICE, UNSUPPORTED, NodeVerdict
from edgewizard.core.validate.run import validate
from edgewizard.core.validate.tables import load_table
from tests.models import validate_models as vm


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("rules")


def edgetpu(path, runtime=None, multiple=False, outputs=(), intermediate=()):
    # Runtime 12 predates the Quantize row: judge those with int8 input/output, which needs none.
    options = ConvertOptions(io_type="int8" if runtime is not None and runtime < 13 else "uint8",
                             edgetpu=EdgeTpuOptions(min_runtime_version=runtime, allow_multiple_subgraphs=multiple,
                                                    intermediate_tensors=intermediate))
    (report,) = validate(str(path), LoadOptions(), Selection(outputs=tuple(outputs)), ["edgetpu"], options,
                         run_compiler=False)
    assert report.status == "checked", report.reason
    return report


def transpose_runtime() -> int:
    _, rows = applicable_rows("TRANSPOSE", 99)
    return min(r.get("min_runtime", 0) for r in rows)


BROKEN = [  # model, the rule it breaks, the op that breaks it, Edge TPU runtime to judge for
    ("avgpool_fused_relu", "check:no_fused_activation", "AVERAGE_POOL_2D", None),
    ("maxpool_fused_relu", "check:no_fused_activation", "MAX_POOL_2D", None),
    ("concat_ones", "check:concat_constant_zero", "CONCATENATION", None),
    ("concat3_zeros", "check:concat_constant_zero", "CONCATENATION", None),
    ("softmax_20000", "check:softmax_1d", "SOFTMAX", None),
    ("softmax_2d", "check:softmax_1d", "SOFTMAX", None),
    ("strided_slice_2", "check:strides_one", "STRIDED_SLICE", None),
    ("pad_channels", "check:xy_only", "PAD", 12),
    ("mean_z8", "check:xy_only", "MEAN", 12),
    ("mean_z6", "check:z_multiple", "MEAN", None),
    ("fully_connected_3d", "check:output_1d", "FULLY_CONNECTED", None),
    ("rank5_relu", "general:rank", "RESHAPE", None),
    ("pad_batch", "general:rank", "PAD", None),  # a batch pad makes the batch 2, breaking the rank rule too
    ("hard_swish", "op:HARD_SWISH", "HARD_SWISH", None),
    ("leaky_relu", "op:LEAKY_RELU", "LEAKY_RELU", None),
    ("transpose", "runtime:{transpose}", "TRANSPOSE", "{transpose-1}"),
]
KEPT = [  # the same ops, keeping the rules
    ("maxpool_plain", None), ("concat_zeros", None), ("softmax_1000", None), ("pad_channels", None),
    ("mean_xy", None), ("mean_xy", 12), ("mean_z8", None), ("transpose", "{transpose}"),
]


def _runtime(value):
    if isinstance(value, str):
        t = transpose_runtime()
        return t - 1 if value == "{transpose-1}" else t
    return value


@pytest.mark.parametrize("model,rule,op,runtime", BROKEN, ids=[f"{m}-{r}" for m, r, _, _ in BROKEN])
def test_each_rule_flags_the_op_that_breaks_it_as_the_partition_point(folder, model, rule, op, runtime):
    report = edgetpu(vm.rule_graph(folder, model), runtime=_runtime(runtime))
    rule = rule.replace("{transpose}", str(transpose_runtime()))
    point = report.partition_point
    assert point is not None and point.op == op
    assert point.where == UNSUPPORTED and point.rule == rule, point.reason
    assert point.reason and op in point.reason
    assert all(v.where == DEVICE for v in report.nodes if v.index < point.index)
    assert all(v.where in (CPU, UNSUPPORTED) for v in report.nodes if v.index > point.index)
    assert not report.runs_entirely_on_device


@pytest.mark.parametrize("model,runtime", KEPT, ids=[f"{m}-rt{r}" for m, r in KEPT])
def test_the_same_ops_within_the_rules_map_entirely(folder, model, runtime):
    report = edgetpu(vm.rule_graph(folder, model), runtime=_runtime(runtime))
    assert report.runs_entirely_on_device, [(v.op, v.reason) for v in report.nodes if v.where != DEVICE]
    assert report.partition_index is None
    assert report.summary() == f"{len(report.nodes)} of {len(report.nodes)} ops on the Edge TPU"


def test_reasons_are_plain_words_with_the_numbers_that_break_the_rule(folder):
    big = edgetpu(vm.rule_graph(folder, "softmax_20000")).partition_point
    assert "20,000 elements, more than 16,000" in big.reason
    strided = edgetpu(vm.rule_graph(folder, "strided_slice_2")).partition_point
    assert "strides [1, 2, 1, 1]" in strided.reason
    fused = edgetpu(vm.rule_graph(folder, "maxpool_fused_relu"))
    assert "fused a RELU activation" in fused.partition_point.reason
    assert any(s.kind == "activation_fused" for s in fused.suggestions)
    swish = edgetpu(vm.rule_graph(folder, "hard_swish"))
    assert swish.partition_point.reason == ("HARD_SWISH is not an Edge TPU op: MobileNetV3 variants for the "
                                            "Edge TPU replace it with ReLU.")
    assert [s.kind for s in swish.suggestions][0] == "replace_activation"
    batch_pad = edgetpu(vm.rule_graph(folder, "pad_batch")).partition_point
    assert "pads the batch dimension" in batch_pad.reason


def test_int8_everywhere_a_float_model_falls_off_at_its_first_op(folder):
    report = edgetpu(vm.float_tflite(folder / "float.tflite"))
    assert report.judged.startswith("the .tflite file as given")
    assert report.partition_index == 0
    first = report.nodes[0]
    assert first.rule == "general:int8" and "float32" in first.reason
    assert all(v.where != DEVICE for v in report.nodes)
    assert any(s.kind == "quantize_fully" for s in report.suggestions)


def test_static_shapes_a_dynamic_batch_is_flagged_with_the_fix(folder):
    report = edgetpu(vm.dynamic_batch_int8_tflite(folder / "dynamic.tflite"))
    ops = [v.op for v in report.nodes]
    assert ops[:3] == ["QUANTIZE", "CONV_2D", "SHAPE"]
    point = report.partition_point
    assert point.op == "SHAPE" and point.rule == "op:SHAPE" and "dynamic dimension" in point.reason
    assert [v.where for v in report.nodes[:2]] == [DEVICE, DEVICE]
    fix = [s for s in report.suggestions if s.kind == "fix_batch"]
    assert len(fix) == 1 and "Fix the batch" in fix[0].text and point.name in fix[0].nodes
    assert any("batch dimension is dynamic" in n for n in report.notes)


def test_one_partition_unless_multiple_subgraphs_are_allowed(folder):
    path = vm.rule_graph(folder, "hard_swish_then_conv")
    one = edgetpu(path)
    conv_after = [v for v in one.nodes if v.op == "CONV_2D" and v.index > one.partition_index]
    assert conv_after and all(v.where == CPU and v.rule == "partition" for v in conv_after)
    assert "after the partition point run on the CPU" in one.summary()
    many = edgetpu(path, multiple=True)
    assert many.partition_index == one.partition_index
    assert all(v.where == DEVICE for v in many.nodes if v.op == "CONV_2D")
    assert any("More than one Edge TPU subgraph" in n for n in many.notes)


def test_intermediate_tensors_stop_the_mapping(folder):
    report = edgetpu(vm.rule_graph(folder, "softmax_1000"), intermediate=("tfl.quantize",))
    assert [v.where for v in report.nodes] == [DEVICE, CPU, CPU]
    assert all(v.rule == "intermediate" for v in report.nodes[1:])


def test_cut_before_a_post_processing_tail_and_the_cut_maps_entirely(folder):
    path = vm.rule_graph(folder, "conv_then_big_softmax")
    report = edgetpu(path)
    assert report.partition_point.op == "SOFTMAX"
    tail = [s for s in report.suggestions if s.kind == "cut_tail"]
    assert len(tail) == 1 and tail[0].outputs == ("Reshape",), tail
    assert "ends at node 'Reshape'" in tail[0].text and "--" not in tail[0].text
    assert edgetpu(path, outputs=tail[0].outputs).runs_entirely_on_device


def test_no_cut_tail_suggestion_when_real_work_follows_the_partition(folder):
    report = edgetpu(vm.rule_graph(folder, "hard_swish_then_conv"))
    assert not any(s.kind == "cut_tail" for s in report.suggestions)


# ---------------------------------------------------------------- hand-built operators
# The converter never writes these forms from a graph we can build (it rewrites new-axis slices
# into RESHAPE and does not fuse ReLU into a concatenation); the rules are checked on operator
# descriptions shaped exactly as the TFLite loader produces them.

class FixedConstants:
    """Test double for ConstantReader: constant inputs given per (op index, position)."""

    def __init__(self, values=None):
        self.values = values or {}

    def value(self, op_index, position):
        return self.values.get((op_index, position))


def _op(op, inputs, outputs, options=None, constant=(), version=1):
    attrs = {"index": 0, "version": version, "input_tensors": tuple(inputs), "options": options or {},
             "constant_inputs": tuple(t.name for t in constant)}
    return Node(name=outputs[0].name, op=op, inputs=tuple(t.name for t in inputs), outputs=tuple(outputs),
                attrs=attrs)


def _t(name, shape, dtype="int8"):
    return TensorInfo(name, shape, dtype)


def _judge(node, consts=None, runtime=14):
    graph = Graph(nodes=(node,), inputs=(), outputs=())
    return judge_node(node, graph, consts or FixedConstants(), runtime)


def test_strided_slice_masks_rule_on_a_hand_built_op():
    x, begin, end = _t("x", (1, 8, 8, 4)), _t("b", (4,), "int32"), _t("e", (4,), "int32")
    strides = _t("s", (4,), "int32")
    ones = FixedConstants({(0, 3): np.ones(4, np.int32)})
    for mask in ("ellipsis_mask", "new_axis_mask"):
        node = _op("STRIDED_SLICE", [x, begin, end, strides], [_t("y", (1, 8, 8, 4))], {mask: 1},
                   constant=(begin, end, strides))
        j = _judge(node, ones)
        assert (j.where, j.rule) == (UNSUPPORTED, "check:no_ellipsis_new_axis"), j.reason
    plain = _op("STRIDED_SLICE", [x, begin, end, strides], [_t("y", (1, 8, 8, 4))], {}, constant=(begin, end, strides))
    assert _judge(plain, ones).where == DEVICE


def test_fused_activation_on_a_concatenation_hand_built():
    a, b = _t("a", (1, 4, 4, 2)), _t("b", (1, 4, 4, 2))
    node = _op("CONCATENATION", [a, b], [_t("y", (1, 4, 4, 4))], {"fused_activation_function": "RELU", "axis": -1})
    j = _judge(node)
    assert (j.where, j.rule) == (UNSUPPORTED, "check:no_fused_activation")
    node = _op("CONCATENATION", [a, b], [_t("y", (1, 4, 4, 4))], {"fused_activation_function": "NONE", "axis": -1})
    assert _judge(node).where == DEVICE


def test_squeeze_dilation_and_prelu_alpha_hand_built():
    leading = _op("SQUEEZE", [_t("x", (1, 1, 8))], [_t("y", (1, 8))], {"squeeze_dims": (0,)})
    assert _judge(leading).where == DEVICE
    inner = _op("SQUEEZE", [_t("x", (1, 8, 1, 4))], [_t("y", (1, 8, 4))], {"squeeze_dims": (2,)})
    assert _judge(inner).rule == "check:squeeze_leading"
    w, bias = _t("w", (4, 3, 3, 2)), _t("bias", (4,), "int32")
    conv = _op("CONV_2D", [_t("x", (1, 8, 8, 2)), w, bias], [_t("y", (1, 8, 8, 4))],
               {"dilation_h_factor": 2, "dilation_w_factor": 1}, constant=(w, bias))
    assert _judge(conv).rule == "check:same_dilation"
    alpha = _t("alpha", (1, 8, 4))
    prelu = _op("PRELU", [_t("x", (1, 8, 8, 4)), alpha], [_t("y", (1, 8, 8, 4))], constant=(alpha,))
    assert _judge(prelu).rule == "check:alpha_1d"
    assert _judge(prelu, runtime=12).rule.startswith("runtime:")


def test_unknown_op_and_already_compiled_op():
    unknown = _op("FLOOR_MOD", [_t("x", (1, 8))], [_t("y", (1, 8))])
    j = _judge(unknown)
    assert j.where == UNSUPPORTED and "not an Edge TPU op" in j.reason
    compiled = _op("edgetpu-custom-op", [_t("x", (1, 8), "uint8")], [_t("y", (1, 8), "uint8")])
    assert _judge(compiled).where == DEVICE


def test_memory_beyond_the_on_chip_cache_is_flagged():
    general = load_table("edgetpu")["general"]
    weights = _t("w", (2100, 4096))  # about 8.2 MiB of int8 weights
    bias = _t("bias", (2100,), "int32")
    fc = _op("FULLY_CONNECTED", [_t("x", (1, 4096)), weights, bias], [_t("y", (1, 2100))], constant=(weights, bias))
    graph = Graph(nodes=(fc,), inputs=(), outputs=())
    judgements = judge(graph, FixedConstants(), 14)
    verdicts = [NodeVerdict(0, fc.name, fc.op, judgements[0].where, judgements[0].reason)]
    memory = estimate_memory(graph, verdicts, general)
    assert memory.parameter_bytes == 2100 * 4096 + 4 * 2100
    assert not memory.fits and memory.cache_bytes == 8 * 2 ** 20
    kinds = [s.kind for s in suggest(verdicts, judgements, None, memory, graph)]
    assert kinds == ["memory"]
    small = estimate_memory(graph, [NodeVerdict(0, fc.name, fc.op, CPU, "")], general)
    assert small.parameter_bytes == 0 and small.fits  # ops off the Edge TPU use no on-chip memory


def test_unconfirmed_table_rows_are_marked_in_the_verdict():
    quantize = _op("QUANTIZE", [_t("x", (1, 8), "uint8")], [_t("y", (1, 8))])
    assert _judge(quantize, runtime=14).confirmed  # row read in Coral's table; the current runtime has it
    older = _judge(quantize, runtime=13)  # whether runtime 13 already had it is not confirmed
    assert older.where == DEVICE and not older.confirmed and "unconfirmed" in older.reason
    perm = _t("perm", (4,), "int32")
    transpose = _op("TRANSPOSE", [_t("x", (1, 8, 6, 4)), perm], [_t("y", (1, 6, 8, 4))], constant=(perm,))
    assert not _judge(transpose).confirmed  # a row recalled, not read: reported as such
