"""Map the judged model's node names back to the original model's nodes, for the report and the
graph view's colours.

A converted op's name carries the original names it came from: TFLite joins the TensorFlow op
names it fused with ";" ("model/conv1/Relu;model/conv1/BiasAdd"). For a Keras cut, ops live in
name scopes "edgewizard_cut_<n>/<scope>/...", where Keras opens each layer's name scope twice, so
the ops' scope is the layer's name made unique once more: "<layer>_<k>". OpenVINO renames ops
while converting, so IR ops of a converted model map back only where a name survived."""
from __future__ import annotations

import re
from collections import deque
from typing import Callable, Iterable

from ..graph import Graph
from ..plan import CutModel
from .report import worst

_SUFFIX = re.compile(r"^(.*)_\d+$")
_CUT_SCOPE = "edgewizard_cut"
_INPUT_OPS = frozenset({"InputLayer", "Placeholder", "Parameter"})
FILL_HOPS = 3
MIN_MAPPED_FRACTION = 0.5


def mapper(original: Graph, cut: CutModel) -> Callable[[str], tuple[str, ...]]:
    """A function from a judged node name to the original nodes it comes from (maybe none)."""
    names = {n.name for n in original.nodes}
    renamed = {k: v for k, v in cut.source_nodes.items()}

    def resolve(asked: str) -> str:
        if asked in names:
            return asked
        producer = original.producer(asked)
        return producer.name if producer is not None else asked

    def find(name: str) -> tuple[str, ...]:
        found: list[str] = []
        for part in name.split(";"):
            part = part.strip()
            if ":" in part and part.rsplit(":", 1)[1].isdigit():
                part = part.rsplit(":", 1)[0]
            if not part:
                continue
            if part in renamed:
                found.append(resolve(renamed[part]))
            if part in names:
                found.append(part)
                continue
            comps = part.split("/")
            if comps[0].startswith(_CUT_SCOPE) and len(comps) > 1:
                scope = comps[1]
                m = _SUFFIX.match(scope)
                if m and m.group(1) in names:
                    found.append(m.group(1))
                elif scope in names:
                    found.append(scope)
                continue
            # TFLite makes a clashing name unique by appending digits ("Conv2D" -> "Conv2D2").
            digits = len(part) - len(part.rstrip("0123456789"))
            trimmed = next((part[:-k] for k in range(1, digits + 1) if part[:-k] in names), None)
            if trimmed is not None:
                found.append(trimmed)
                continue
            for k in range(len(comps) - 1, 0, -1):  # the longest enclosing scope that is a node
                prefix = "/".join(comps[:k])
                if prefix in names:
                    found.append(prefix)
                    break
        return tuple(dict.fromkeys(f for f in found if f in names))

    return find


def source_verdicts(original: Graph, cut: CutModel, verdicts: Iterable) -> dict[str, str]:
    """Original node name -> where it runs (the worst of its ops), for the graph view.

    Nodes inside the cut that no op names (a convolution folded into the op named after its batch
    norm or activation) take the verdict of the nearest named nodes they feed, at most FILL_HOPS
    away, and only when most ops map back at all: otherwise a few named outputs would colour the
    whole graph with their verdict."""
    verdicts = list(verdicts)
    direct: dict[str, str] = {}
    for v in verdicts:
        for s in v.source_nodes:
            direct[s] = worst(direct.get(s, v.where), v.where)
    mapped = sum(1 for v in verdicts if v.source_nodes)
    if not direct or mapped < MIN_MAPPED_FRACTION * len(verdicts):
        return direct
    by_name = {n.name: n for n in original.nodes}
    consumers: dict[str, list[str]] = {n.name: [] for n in original.nodes}
    producer_of: dict[str, str] = {}
    for n in original.nodes:
        for t in n.outputs:
            producer_of[t.name] = n.name
    for n in original.nodes:
        for t in n.inputs:
            p = producer_of.get(t) or producer_of.get(t.split(":")[0])
            if p is not None and p != n.name:
                consumers[p].append(n.name)
    inside = _inside_cut(original, cut, by_name, consumers, producer_of)
    out = dict(direct)
    for name in inside:
        if name in out or by_name[name].op in _INPUT_OPS:
            continue
        seen, queue, found = {name}, deque((c, 1) for c in consumers[name]), []
        while queue:
            c, hops = queue.popleft()
            if c in seen:
                continue
            seen.add(c)
            if c in direct:
                found.append(direct[c])
            elif hops < FILL_HOPS:
                queue.extend((n, hops + 1) for n in consumers.get(c, ()))
        if found:
            verdict = found[0]
            for f in found[1:]:
                verdict = worst(verdict, f)
            out[name] = verdict
    return out


def _inside_cut(original: Graph, cut: CutModel, by_name, consumers, producer_of) -> set[str]:
    """Nodes between the cut's inputs and outputs (all nodes when the cut names none we know)."""
    def node_of(cut_name: str):
        asked = cut.source_nodes.get(cut_name, cut_name)
        return asked if asked in by_name else producer_of.get(asked)

    starts = [s for s in (node_of(t.name) for t in cut.inputs) if s]
    ends = [e for e in (node_of(t.name) for t in cut.outputs) if e]
    if not starts or not ends:
        return set(by_name)
    down, stack = set(), list(starts)
    while stack:
        n = stack.pop()
        if n not in down:
            down.add(n)
            stack.extend(consumers.get(n, ()))
    up, stack = set(), list(ends)
    while stack:
        n = stack.pop()
        if n in up:
            continue
        up.add(n)
        for t in by_name[n].inputs:
            p = producer_of.get(t) or producer_of.get(t.split(":")[0])
            if p:
                stack.append(p)
    return down & up
