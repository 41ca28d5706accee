"""Per-op time of one benchmark: which ops of the converted model cost the time on the device.

The bench agent measures it after the latency run, in a separate phase (so the latency figures are
untouched): OpenVINO's performance counters, or LiteRT's op profiling (the litert-benchmark tool).
`Profile` is what a BenchResult carries; `map_profile` (run in the worker) names, for each op, the
original model's nodes it came from, so the Nodes step can colour the original graph by time."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional


@dataclass(frozen=True)
class OpTime:
    node: str  # the converted model's op as the runtime names it (OpenVINO friendly name; TFLite op name)
    op: str  # op type: "CONV_2D", "Convolution"
    ms: float  # average milliseconds per inference
    share: float  # of Profile.total_ms, 0..1
    precision: str = ""  # what it ran in, where the runtime says ("I8", "FP32", "int8", ...)
    source_nodes: tuple[str, ...] = ()  # the original model's nodes (filled by map_profile)
    block: str = ""  # "" or the block it belongs to ("Edge TPU subgraph", "XNNPACK delegate", ...)


@dataclass(frozen=True)
class Profile:
    source: str  # "OpenVINO performance counters" | "LiteRT op profiling" (its tool) | "LiteRT, each op timed alone" | ""
    runs: int  # inferences profiled (after warm-up)
    ops: tuple[OpTime, ...] = ()  # slowest first
    total_ms: float = 0.0  # sum of the ops' ms (per inference)
    latency_ms: Optional[float] = None  # mean wall latency of the profiled inferences
    available: bool = True  # False: no per-op time here; `note` says why in one plain sentence
    note: str = ""

    def by_type(self) -> list[tuple[str, float, float, int]]:
        """(op type, ms, share, count) per op type, slowest first."""
        groups: dict[str, list[float]] = {}
        for o in self.ops:
            groups.setdefault(o.op, []).append(o.ms)
        total = self.total_ms or sum(o.ms for o in self.ops)
        rows = [(op, sum(v), (sum(v) / total if total > 0 else 0.0), len(v)) for op, v in groups.items()]
        return sorted(rows, key=lambda r: (-r[1], r[0]))

    def heat(self) -> dict[str, float]:
        """Original node -> 0..1: its time (an op's time split evenly over the nodes it came from)
        over the slowest original node's. Empty when no op is mapped to the original model."""
        times: dict[str, float] = {}
        for o in self.ops:
            if o.source_nodes:
                part = o.ms / len(o.source_nodes)
                for name in o.source_nodes:
                    times[name] = times.get(name, 0.0) + part
        top = max(times.values(), default=0.0)
        return {k: (v / top if top > 0 else 0.0) for k, v in times.items()}


def make_profile(source: str, runs: int, ops, latency_ms: Optional[float] = None, note: str = "") -> Profile:
    """A Profile from (node, op, ms, precision, block) rows: shares computed, slowest first."""
    rows = [tuple(r) + ("",) * (5 - len(r)) for r in ops]
    total = sum(float(r[2]) for r in rows)
    items = tuple(sorted((OpTime(node=str(n), op=str(t), ms=float(ms), share=(float(ms) / total if total > 0 else 0.0),
                                 precision=str(p or ""), block=str(b or "")) for n, t, ms, p, b in rows),
                         key=lambda o: (-o.ms, o.node)))
    return Profile(source=source, runs=int(runs), ops=items, total_ms=total, latency_ms=latency_ms, note=note)


def with_sources(profile: Profile, sources: dict[str, tuple[str, ...]]) -> Profile:
    """`profile` with each op's source_nodes taken from `sources` (converted op name -> original nodes)."""
    ops = tuple(replace(o, source_nodes=tuple(sources.get(o.node, o.source_nodes))) for o in profile.ops)
    return replace(profile, ops=ops)


def from_message(message: dict) -> Profile:
    """The agent's 'profile' message (protocol 1, agent 1.2) as a Profile; ValueError on a bad row."""
    rows = []
    for row in message.get("ops") or []:
        if not (isinstance(row, list) and len(row) == 5 and isinstance(row[2], (int, float)) and not isinstance(row[2], bool)
                and row[2] >= 0 and all(isinstance(row[i], str) for i in (0, 1, 3, 4))):
            raise ValueError(f"a per-op row that is not [node, op type, ms, precision, block]: {str(row)[:100]}")
        rows.append(row)
    latency = message.get("latency_ms")
    latency = float(latency) if isinstance(latency, (int, float)) and not isinstance(latency, bool) else None
    made = make_profile(message["source"], message["runs"], rows, latency_ms=latency, note=message.get("note") or "")
    return replace(made, available=bool(message.get("available", True)) and bool(rows))


def map_profile(profile: Profile, source: str, load_options, selection, model_file: str) -> Profile:
    """`profile` with each op's source_nodes: the original model's nodes it comes from (runs in the worker;
    TensorFlow and OpenVINO are imported lazily by core/graph_pairs). Ops nothing maps back keep none."""
    from ..graph_pairs import node_pairs

    if not profile.ops:
        return profile
    return with_sources(profile, node_pairs(source, load_options, selection, model_file))


def json_rows(profile: Profile) -> list[dict]:
    """The command line's --json rows: {node, op, ms, share, precision, source_node}."""
    return [{"node": o.node, "op": o.op, "ms": round(o.ms, 6), "share": round(o.share, 6), "precision": o.precision,
             "source_node": ";".join(o.source_nodes), "block": o.block} for o in profile.ops]


def compare(a: Profile, b: Profile) -> list[tuple[str, Optional[float], Optional[float], Optional[float]]]:
    """(op type, ms in a, ms in b, b / a) per op type of either, slowest in a first: two runs of the same
    model compared (float vs int8, CPU vs GPU). By op type, since two runtimes name their ops differently."""
    ta = {k: ms for k, ms, _, _ in a.by_type()}
    tb = {k: ms for k, ms, _, _ in b.by_type()}
    keys = sorted(set(ta) | set(tb), key=lambda k: (-ta.get(k, 0.0), -tb.get(k, 0.0), k))
    return [(k, ta.get(k), tb.get(k), (tb[k] / ta[k]) if ta.get(k) and k in tb else None) for k in keys]


def summary(profile: Profile) -> str:
    """One plain sentence: how much of the measured time the ops account for, or why there is no profile."""
    if not profile.available:
        return profile.note or "No per-op times were measured."
    text = f"{len(profile.ops)} ops timed over {profile.runs} inferences ({profile.source}): {profile.total_ms:.3f} ms in total"
    if profile.latency_ms:
        text += f", against {profile.latency_ms:.3f} ms measured for the whole model"
    return text + "."
