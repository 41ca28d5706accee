"""Shapes as people type them and the one static-shape rule (core/shapes.py), which the Nodes step and
the command line both use: -1, ? and None leave a size open (not static); zero and other negative
sizes are refused with a sentence; a model's own negative sizes are unknown too."""
from __future__ import annotations

import pytest

from edgewizard.core.errors import UserError
from edgewizard.core.graph import Graph, Node, TensorInfo
from edgewizard.core.plan import Selection
from edgewizard.core.shapes import (CLI_ASK, cut_inputs, default_shape, parse_shape, parse_static_shape,
                                    shape_problem, shape_text, static_shape, why_not_static)


@pytest.mark.parametrize("text, shape", [
    ("1,224,224,3", (1, 224, 224, 3)), ("1x224x224x3", (1, 224, 224, 3)), ("1 X 224 × 3", (1, 224, 3)),
    (" 1, 224, 224, 3 ", (1, 224, 224, 3)), ("[1, 224, 224, 3]", (1, 224, 224, 3)), ("(1,8)", (1, 8)),
    ("1 224 3", (1, 224, 3)), ("7", (7,)),
    ("-1,224,224,3", (None, 224, 224, 3)), ("1,?,?,3", (1, None, None, 3)), ("None,8", (None, 8)),
    ("[?, 32, 32, 1]", (None, 32, 32, 1)), ("1,,,3", (1, None, None, 3)),
])
def test_what_a_person_types_is_read(text, shape):
    assert parse_shape(text) == shape


@pytest.mark.parametrize("text, words", [
    ("", "is empty"), ("  [ ] ", "is empty"),
    ("1,a,3", "has 'a', which is not a size; sizes are whole numbers"), ("1.5,2", "'1.5'"),
    ("1,0,3", "has the size 0; a size is a positive whole number"), ("1,-2,3", "has the size -2"),
    ("-3", "has the size -3"),
])
def test_zero_other_negatives_and_words_are_refused_with_a_sentence(text, words):
    with pytest.raises(UserError) as err:
        parse_shape(text, "The shape for 'image'")
    assert err.value.message.startswith("The shape for 'image' ") and words in err.value.message
    assert err.value.message.endswith(".") and "\n" not in err.value.message


def test_static_means_every_size_known_and_says_which_are_missing():
    assert why_not_static((1, 224, 224, 3)) is None
    assert why_not_static((1, None, 224, 3), "X") == "X leaves dimension 1 open (1,?,224,3); give every size."
    assert "dimensions 0, 1 and 2 open (?,?,?,3)" in why_not_static((-1, None, -1, 3))  # a model's -1 is unknown
    assert "unknown number of dimensions" in why_not_static(None)
    assert parse_static_shape("1x8") == (1, 8)
    with pytest.raises(UserError, match=r"^--shape '1,-1' leaves dimension 1 open \(1,\?\)"):
        parse_static_shape("1,-1", "--shape '1,-1'")


def test_a_shape_reads_back_as_it_is_shown():
    for shape in [(1, 224, 224, 3), (1, None, None, 3), (None,)]:
        assert parse_shape(shape_text(shape)) == shape
    assert shape_text((-1, 4)) == "?,4" and shape_text(None) == "?"


def test_the_default_fixes_only_the_batch_and_treats_negative_sizes_as_unknown():
    assert default_shape(TensorInfo("x", (None, 32, 32, 1), "float32")) == (1, 32, 32, 1)
    assert default_shape(TensorInfo("x", (-1, -1, 8), "float32")) == (1, None, 8)
    assert default_shape(TensorInfo("x", None, "float32")) is None


def test_static_shape_asks_where_the_caller_asks():
    t = TensorInfo("image", (None, None, None, 3), "float32")
    with pytest.raises(UserError, match=r"give its full shape with --shape image=1,H,W,3\.$"):
        static_shape(t, None)
    with pytest.raises(UserError, match=r"give its full shape in the table, like 1,H,W,3\.$"):
        static_shape(t, None, ask="in the table, like {example}")
    assert static_shape(t, (2, 8, 8, 3)) == (2, 8, 8, 3)  # the batch may change
    with pytest.raises(UserError, match="dimension 3 fixed to 3 in the model"):
        static_shape(t, (1, 8, 8, 4))
    assert static_shape(TensorInfo("v", (-1, 10), "float32"), None) == (1, 10)


def test_the_inputs_of_a_cut_and_what_their_shapes_lack():
    x = TensorInfo("x", (None, None, 3), "float32")
    g = Graph((Node("x", "InputLayer", (), (x,)), Node("conv", "Conv", ("x",), (TensorInfo("conv", (None, 8, 8), "float32"),))),
              (x,), (TensorInfo("conv", (None, 8, 8), "float32"),))
    assert cut_inputs(g, Selection()) == [x]
    assert cut_inputs(g, Selection(("conv:0", "nope"))) == [TensorInfo("conv:0", (None, 8, 8), "float32"),
                                                            TensorInfo("nope", None, "float32")]
    assert "Input 'x' has dimensions of unknown size [?, ?, 3]; give its full shape with --shape x=1,D1,3." \
        == shape_problem(g, Selection(), CLI_ASK)
    assert shape_problem(g, Selection(shapes=(("", (1, 5, 3)),))) is None  # one unnamed shape fits the only input
    assert shape_problem(g, Selection(("conv",), ())) is None  # its own shape with the batch fixed to 1
    assert "4 dimensions" not in (shape_problem(g, Selection(("conv",), (), (("conv", (1, 8)),))) or "")


CASES = ["1,224,224,3", "1x8", "[1, 8]", "1 8", "1,,3", "1,?,3", "-1,8", "1,0", "1,a", ""]


def test_the_cli_reads_a_shape_as_the_nodes_step_does():
    """The Nodes step reads a typed shape with parse_static_shape (gui/pages/nodes_page.py); --shape must
    accept and refuse exactly the same texts, with the same sentence."""
    from edgewizard.core.cli.options import parse_shapes

    for text in CASES:
        label = f"--shape {text!r}"
        try:
            expected = (("", parse_static_shape(text, label)),)
        except UserError as exc:
            with pytest.raises(UserError) as err:
                parse_shapes([text])
            assert err.value.message == exc.message
        else:
            assert parse_shapes([text]) == expected
            assert parse_shapes([f"img={text}"]) == (("img", expected[0][1]),)
