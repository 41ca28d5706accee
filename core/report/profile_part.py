"""The report's per-op part of the benchmarks: the slowest ops of each run that measured them, and, for
two runs of the same model file, the time per op type side by side (float vs int8, CPU vs GPU)."""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from ..bench.profile import Profile, compare, make_profile, with_sources
from .html import esc, pct, table

TOP = 10


def profile_of(run: dict) -> Optional[Profile]:
    """A bench JSON's profile: BenchResult.to_dict()'s object, or the command line's rows with profile_info."""
    from ..codec import from_data

    p = run.get("profile")
    try:
        if isinstance(p, dict):
            return from_data(Profile, p)
        if isinstance(p, list):
            info = run.get("profile_info") if isinstance(run.get("profile_info"), dict) else {}
            rows = [(r["node"], r["op"], float(r["ms"]), r.get("precision", ""), r.get("block", "")) for r in p]
            made = make_profile(str(info.get("source", "")), int(info.get("runs", 0)), rows,
                                latency_ms=info.get("latency_ms"), note=str(info.get("note", "")))
            sources = {r["node"]: tuple(s for s in str(r.get("source_node") or "").split(";") if s) for r in p}
            return replace(with_sources(made, sources), available=bool(info.get("available", True)))
    except (KeyError, TypeError, ValueError):
        return None
    return None


def profiles_part(runs: list[dict], name) -> str:
    """HTML for the runs that carry a per-op profile ('' when none does). `name(run)` names a run."""
    have = [(r, profile_of(r)) for r in runs]
    have = [(r, p) for r, p in have if p is not None]
    if not have:
        return ""
    out = ["<h3>Where the time goes</h3>"]
    for r, p in have:
        if not p.available or not p.ops:
            out.append(f"<p><b>{esc(name(r))}</b>: {esc(p.note or 'no per-op times were measured.')}</p>")
            continue
        measured = f", {p.latency_ms:.3f} ms measured for the whole model" if p.latency_ms else ""
        out.append(f"<p><b>{esc(name(r))}</b>: {len(p.ops)} ops, {p.total_ms:.3f} ms in total{measured} "
                   f"({esc(p.source)}, {p.runs} inferences). {esc(p.note)}</p>")
        rows = [[esc(o.node), esc(o.op), f"{o.ms:.4f}", pct(o.share), esc(o.precision or o.block)] for o in p.ops[:TOP]]
        out.append(table(["node", "op", "ms", "share", "precision"], rows, {2, 3}, "compact"))
    out.extend(_comparisons(have, name))
    return "".join(out)


def _comparisons(have, name) -> list[str]:
    by_model: dict[str, list] = {}
    for r, p in have:
        if p.available and p.ops:
            by_model.setdefault(str(r.get("model") or ""), []).append((r, p))
    out = []
    for model, pairs in by_model.items():
        if len(pairs) < 2:
            continue
        (ra, a), (rb, b) = pairs[0], pairs[1]
        same = {o.node for o in a.ops} & {o.node for o in b.ops}
        per_node = len(same) * 2 >= min(len(a.ops), len(b.ops))  # the same runtime names the same ops alike
        found = _by_node(a, b) if per_node else compare(a, b)
        rows = [[esc(op), "" if x is None else f"{x:.4f}", "" if y is None else f"{y:.4f}", "" if q is None else f"{q:.2f}×"]
                for op, x, y, q in found[:TOP * 2]]
        out.append(f"<p>Per {'op' if per_node else 'op type'}, {esc(_label(ra, name))} (A) against "
                   f"{esc(_label(rb, name))} (B):</p>")
        out.append(table(["op" if per_node else "op type", "A ms", "B ms", "B / A"], rows, {1, 2, 3}, "compact"))
    return out


def _by_node(a: Profile, b: Profile) -> list:
    tb = {o.node: o.ms for o in b.ops}
    rows = [(o.node, o.ms, tb.get(o.node), (tb[o.node] / o.ms) if o.node in tb and o.ms > 0 else None) for o in a.ops]
    seen = {o.node for o in a.ops}
    return rows + [(o.node, None, o.ms, None) for o in b.ops if o.node not in seen]


def _label(run: dict, name) -> str:
    used = run.get("precision")
    return f"{name(run)}, {used}" if used else name(run)
