"""The converted model's nodes, as the graph names them, paired with the original model's nodes they come
from (core/graph_pairs.py), for the bundled sample converted for real to float and int8 TFLite and an
OpenVINO IR."""
from __future__ import annotations

import pytest

from edgewizard.core.calibrate import CalibrationSpec
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.convert.run import convert
from edgewizard.core.errors import UserError
from edgewizard.core.graph_pairs import invert, node_pairs
from edgewizard.core.loaders import load
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.samples import sample_calibration_path, sample_model_path

CALIB = CalibrationSpec(sources=((None, str(sample_calibration_path())),))
COMPUTE = {"conv1", "conv2", "conv3", "dense", "probabilities"}
TARGETS = ["tflite-float", "tflite-int8", "openvino-fp32"]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    out = tmp_path_factory.mktemp("pairs")
    manifest = convert(str(sample_model_path()), LoadOptions(), Selection(), TARGETS, str(out),
                       ConvertOptions(calibration=CALIB))
    return {target: path for path, target in manifest.converted_files(str(out))}


def pairs_of(path):
    return node_pairs(str(sample_model_path()), LoadOptions(), Selection(), str(path))


@pytest.mark.parametrize("target", TARGETS)
def test_every_compute_layer_has_its_converted_nodes(converted, target):
    pairs = pairs_of(converted[target])
    graph = load(converted[target]).info.graph
    names = {n.name for n in graph.nodes}
    assert set(pairs) <= names  # keyed by the converted graph's own node names
    original = {n.name for n in load(sample_model_path()).info.graph.nodes}
    assert all(set(v) <= original and v for v in pairs.values())
    back = invert(pairs)
    assert COMPUTE <= set(back), f"{target}: no converted node for {COMPUTE - set(back)}"
    ops = {n.name: n.op for n in graph.nodes}
    # The convolutions come from the convolution layers, in the model's order.
    convs = [pairs[n.name] for n in graph.nodes if n.op in ("CONV_2D", "Convolution") and n.name in pairs]
    assert [c[0] for c in convs] == ["conv1", "conv2", "conv3"], convs
    # Most compute nodes map back; weights are not nodes of the graph.
    compute = [n for n in names if ops[n] in ("CONV_2D", "Convolution", "FULLY_CONNECTED", "MatMul", "MAX_POOL_2D",
                                              "MaxPool")]
    assert sum(n in pairs for n in compute) >= 0.8 * len(compute)
    assert not any(ops[n] == "Constant" for n in pairs)


def test_the_int8_quantize_op_has_no_counterpart(converted):
    pairs = pairs_of(converted["tflite-int8"])
    graph = load(converted["tflite-int8"]).info.graph
    first = graph.nodes[0]
    assert first.op == "QUANTIZE" and first.name not in pairs


def test_a_file_that_is_not_a_converted_model_says_so(tmp_path):
    with pytest.raises(UserError, match="not a converted model"):
        node_pairs(str(sample_model_path()), LoadOptions(), Selection(), str(sample_model_path()))
