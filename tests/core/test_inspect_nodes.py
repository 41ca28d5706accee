"""`edgewizard inspect --nodes` (issue 14, item 7): the node list a CLI user chooses cut points from, as an
aligned table and as JSON, filtered by op type and name, on a Keras model, a TF1 frozen .pb and an ONNX."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgewizard.core.cli.inspect_cmd import nodes_text, select_nodes
from edgewizard.core.graph import Node, TensorInfo
from edgewizard.core.samples import sample_model_path

EXE = str(Path(sys.executable).with_name("edgewizard"))
SAMPLE_CONVS = ["conv1", "conv2", "conv3"]


def ew(*args):
    return subprocess.run([EXE, "inspect", *map(str, args)], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from tests.models import other_formats, tf_graphs

    root = tmp_path_factory.mktemp("models")
    return {"pb": tf_graphs.make_frozen_pb(root / "classifier.pb"), "onnx": other_formats.onnx_model(root)}


def test_keras_table_has_every_layer_aligned():
    r = ew(sample_model_path(), "--nodes")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.rstrip("\n").splitlines()
    header, rows, footer = lines[0], lines[1:-2], lines[-1]
    assert header.split() == ["NAME", "OP", "OUTPUT", "SHAPES", "INPUTS"]
    assert footer == "13 nodes."
    assert [row.split()[0] for row in rows][:4] == ["image", "conv1", "relu1", "pool1"]
    conv1 = next(row for row in rows if row.startswith("conv1 "))
    assert conv1.split() == ["conv1", "Conv2D", "[?,", "32,", "32,", "16]", "float32", "image"]
    for column in ("OP", "OUTPUT SHAPES", "INPUTS"):  # every row's cell starts under its heading
        at = header.index(column)
        assert all(row[at - 2: at] == "  " and row[at] != " " for row in rows if len(row) > at), column


def test_keras_json_filtered_by_op_case_insensitive():
    r = ew(sample_model_path(), "--op", "conv2d", "--json")
    assert r.returncode == 0, r.stderr
    nodes = json.loads(r.stdout)
    assert [n["name"] for n in nodes] == SAMPLE_CONVS
    assert nodes[0] == {"name": "conv1", "op": "Conv2D", "inputs": ["image"],
                        "outputs": [{"name": "conv1", "shape": [None, 32, 32, 16], "dtype": "float32"}]}


def test_tf1_graph_filters_by_op_list_and_name(models):
    r = ew(models["pb"], "--op", "Conv2D,biasadd", "--name", "CONV1", "--json")
    assert r.returncode == 0, r.stderr
    nodes = json.loads(r.stdout)
    assert [(n["name"], n["op"]) for n in nodes] == [("conv1/Conv2D", "Conv2D"), ("conv1/BiasAdd", "BiasAdd")]
    assert nodes[0]["inputs"] == ["input:0", "conv1/weights/read:0"]
    assert nodes[0]["outputs"] == [{"name": "conv1/Conv2D:0", "shape": [None, 32, 32, 8], "dtype": "float32"}]

    r = ew(models["pb"], "--op", "Relu", "--op", "Softmax", "--name", "conv?/*", "--name", "output")
    assert r.returncode == 0, r.stderr
    names = [line.split()[0] for line in r.stdout.splitlines()[1:-2]]
    assert names == ["conv1/Relu", "conv2/Relu", "output"]
    assert r.stdout.splitlines()[-1] == "3 of 24 nodes."


def test_onnx_nodes_with_generated_names(models):
    r = ew(models["onnx"], "--nodes", "--json")
    assert r.returncode == 0, r.stderr
    nodes = json.loads(r.stdout)
    assert [(n["name"], n["op"]) for n in nodes] == [("conv", "Conv"), ("Relu_1", "Relu"), ("flatten", "Flatten"), ("fc", "Gemm")]
    assert nodes[0]["inputs"] == ["x", "conv_w", "conv_b"]
    assert nodes[3]["outputs"] == [{"name": "y", "shape": [None, 5], "dtype": "float32"}]


def test_a_filter_matching_nothing_is_one_sentence_and_exit_0(models):
    r = ew(models["pb"], "--op", "Conv3D")
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.strip() == "No node matches op type Conv3D (the model has 24 nodes); did you mean op type Conv2D?"
    r = ew(models["pb"], "--op", "Pool")
    assert r.stdout.strip() == ("No node matches op type Pool (the model has 24 nodes); its op types are BiasAdd, Const, "
                                "Conv2D, Identity, MatMul, Mean, Placeholder, Relu, Softmax.")
    r = ew(sample_model_path(), "--name", "stage9", "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == []
    assert r.stderr.strip() == ("No node matches a name containing stage9 (the model has 13 nodes); run inspect --nodes "
                                "without filters to see them all.")


def test_help_says_what_no_match_does():
    r = ew("--help")
    text = " ".join(r.stdout.split())
    assert "When no node matches the filters, that is said in one sentence on stderr (--json prints []) and the exit code is still 0." in text


def node(name: str, op: str, inputs=(), shape=(1, 4)) -> Node:
    return Node(name, op, tuple(inputs), (TensorInfo(name + ":0", shape, "float32"),))


def test_long_names_and_ops_get_their_own_line_and_keep_the_columns():
    long_name = "model/backbone/stage_4/block_17/depthwise_separable_conv/BatchNormalization"
    nodes = [node("a", "Conv2D"), node(long_name, "FusedBatchNormV3", ["a:0"]),
             node("b", "SomeVeryLongCustomOperationTypeName", ["a:0", "c:0"], None)]
    lines = nodes_text(nodes, total=10).splitlines()
    assert lines[0].split() == ["NAME", "OP", "OUTPUT", "SHAPES", "INPUTS"]
    assert lines[1].split() == ["a", "Conv2D", "[1,", "4]", "float32", "-"]
    assert lines[2] == long_name  # too long for the column: alone on its line, its cells below
    op_at, shapes_at = lines[0].index("OP"), lines[0].index("OUTPUT SHAPES")
    assert lines[3][:op_at].strip() == "" and lines[3][op_at:].startswith("FusedBatchNormV3")
    assert lines[3][shapes_at:].startswith("[1, 4] float32  a:0")
    assert lines[4].split() == ["b", "SomeVeryLongCustomOperationTypeName"]
    assert lines[5][:shapes_at].strip() == "" and lines[5][shapes_at:].split() == ["?", "float32", "a:0,", "c:0"]
    assert lines[-1] == "3 of 10 nodes."


def test_filters_combine_op_or_op_and_name_or_name():
    nodes = [node("conv1/Conv2D", "Conv2D"), node("conv1/Relu", "Relu"), node("conv2/Conv2D", "Conv2D"), node("head", "Relu")]
    pick = lambda ops, names: [n.name for n in select_nodes(nodes, ops, names)]  # noqa: E731
    assert pick([], []) == [n.name for n in nodes]
    assert pick(["relu", "CONV2D"], []) == [n.name for n in nodes]
    assert pick(["conv*"], ["conv2/"]) == ["conv2/Conv2D"]
    assert pick([], ["conv1", "HEAD"]) == ["conv1/Conv2D", "conv1/Relu", "head"]
    assert pick([], ["conv1"]) == pick([], ["conv1/*"]) and pick([], ["onv1/*"]) == []  # a pattern is for the whole name
    assert pick(["Relu"], ["conv2"]) == []
