"""Which nodes a cut keeps (core.graph.kept_nodes) and what the Nodes step highlights for a selection
(core.cut.cut_nodes): one walk, pinned on small graphs the way the loaders describe models."""
from __future__ import annotations

from edgewizard.core.cut import cut_nodes
from edgewizard.core.graph import Graph, Node, TensorInfo, kept_nodes
from edgewizard.core.plan import Selection


def _graph(edges: dict[str, tuple[str, ...]], inputs=("x",), outputs=("out",), tensor=lambda n: n) -> Graph:
    """Nodes in order, each reading the tensors of the nodes named; a node writes one tensor."""
    t = lambda name: TensorInfo(tensor(name), (1, 4), "float32")  # noqa: E731
    nodes = tuple(Node(name, "Op", tuple(tensor(r) for r in reads), (t(name),)) for name, reads in edges.items())
    return Graph(nodes, tuple(t(n) for n in inputs), tuple(t(n) for n in outputs))


# x -> a -> b -> out, with a side branch a -> side that reaches no output, and mask feeding only side.
BRANCHED = {"x": (), "mask": (), "a": ("x",), "side": ("a", "mask"), "b": ("a",), "out": ("b",)}


def test_the_whole_model_keeps_what_its_outputs_need():
    g = _graph(BRANCHED, inputs=("x", "mask"))
    assert kept_nodes(g) == {"x", "a", "b", "out"}  # the branch to no output, and its input, are left out


def test_an_input_in_the_middle_drops_what_feeds_it():
    g = _graph(BRANCHED)
    assert kept_nodes(g, ["a"], ["out"]) == {"a", "b", "out"}
    assert kept_nodes(g, ["b"], ["b"]) == {"b"}


def test_outputs_in_the_middle_drop_what_comes_after():
    g = _graph(BRANCHED)
    assert kept_nodes(g, ["x"], ["a"]) == {"x", "a"}
    assert kept_nodes(g, ["x"], ["side"]) == {"x", "a", "side", "mask"}  # mask is needed, though not chosen


def test_a_diamond_is_kept_whole_and_op_graph_tensor_names_are_followed():
    """TF graphs name tensors "op:0" and control inputs "^op"; both lead to the op."""
    edges = {"x": (), "l": ("x",), "r": ("x",), "join": ("l", "r"), "out": ("join",), "init": ()}
    g = _graph(edges, tensor=lambda n: f"{n}:0")
    assert kept_nodes(g) == {"x", "l", "r", "join", "out"}
    ctrl = Graph(g.nodes[:-2] + (Node("out", "Identity", ("join:0", "^init"), g.nodes[-2].outputs), g.nodes[-1]),
                 g.inputs, g.outputs)
    assert kept_nodes(ctrl, ["join"], ["out"]) == {"join", "out", "init"}


def test_cut_nodes_resolve_names_as_the_cut_does():
    g = _graph(BRANCHED, inputs=("x", "mask"))
    assert set(cut_nodes(g, Selection()).removed) == {"mask", "side"}  # the whole model: only the dead branch
    assert cut_nodes(_graph({"x": (), "out": ("x",)}), Selection()).removed == ()
    marks = cut_nodes(g, Selection(("a:0",), ("b",)))
    assert marks.inputs == ("a",) and marks.outputs == ("b",)
    assert set(marks.removed) == {"x", "mask", "side", "out"}
    assert cut_nodes(g, Selection(("no_such_node",), ("b",))).inputs == ()
