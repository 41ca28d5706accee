"""Render the report's sections to one self-contained HTML page (see sources.py for the inputs).

Everything is escaped; images are data: URIs from verify.json; charts are inline SVG (svg.py); a
Content-Security-Policy forbids the page from loading anything at all."""
from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import Optional

from ..codec import from_data
from ..files import human_bytes
from ..manifest import CutRecord, Manifest, SourceRecord
from ..verify.results import ArtifactCheck, DataSummary, VerifyReport, WorstSample
from . import svg
from .sources import ReportInputs
from .style import CSS

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
# The report is saved from the command line and from the wizard alike, so it says what to do in words that
# fit both, naming the wizard's step (no command line).
VERIFY_WHERE = "in the wizard: the Verify step"
GOOD_STATES = {"device", "accelerator", "supported", "mapped", "ok", "on_device", "tpu", "edgetpu"}


def esc(v) -> str:
    return escape("" if v is None else str(v))


def pct(v, digits: int = 1) -> str:
    return "" if v is None else f"{100 * v:.{digits}f}%"


def table(headers: list[str], rows: list[list], numeric: set[int] = frozenset(), cls: str = "") -> str:
    head = "".join(f'<th class="num">{esc(h)}</th>' if i in numeric else f"<th>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def kv(pairs: list[tuple[str, str]]) -> str:
    return '<table class="kv">' + "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in pairs if v) + "</table>"


def badge(status: str) -> str:
    words = {"ok": "OK", "flagged": "FLAGGED", "not_compiled": "NOT COMPILED", "skipped": "SKIPPED", "compiled": "COMPILED",
             "not_checked": "NOT CHECKED", "unavailable": "UNAVAILABLE", "failed": "FAILED"}
    return f'<span class="badge {esc(status)}">{esc(words.get(status, status.replace("_", " ").upper()))}</span>'


def ops_text(counts: dict, limit: int = 8) -> str:
    if not counts:
        return ""
    items = sorted(counts.items(), key=lambda kv_: (-kv_[1], kv_[0]))
    shown = " · ".join(f"{esc(k)}&nbsp;{v}" for k, v in items[:limit])
    more = f" · {len(items) - limit} more types" if len(items) > limit else ""
    return f'<span class="mono">{shown}</span>{esc(more)} <span class="muted">({sum(counts.values())} ops)</span>'


def figure(svg_text: str, caption: str) -> str:
    return f'<div class="figure">{svg_text}<div class="caption">{esc(caption)}</div></div>'


def _record(cls, data):
    """A SourceRecord / CutRecord from verify.json's plain source and cut (those of a manifest are typed already)."""
    try:
        return from_data(cls, data if isinstance(data, dict) else {})
    except ValueError:
        return cls()


def render(found: ReportInputs, version: str) -> str:
    m, v = found.manifest, found.verify
    src = m.source if m is not None else _record(SourceRecord, v.source)
    tools = (m.tools if m is not None else None) or (v.tools if v is not None else {})
    cut = m.cut if m is not None and (m.cut.inputs or m.cut.outputs) else _record(CutRecord, v.cut if v else None)
    m_created, v_created = (m.created if m is not None else ""), (v.created if v is not None else "")
    name = Path(src.path or str(found.folder)).name
    created = m_created or v_created
    parts = [f'<header class="top"><h1>EdgeWizard report: {esc(name)}</h1><div class="meta">'
             f'Output folder <code>{esc(found.folder.resolve())}</code> · converted {esc(created)} · EdgeWizard {esc(version)}'
             "</div></header>"]
    parts.append(_glance(found))
    for p in found.problems:
        parts.append(f'<div class="note">{esc(p)}</div>')
    parts.append(_source(src, tools))
    parts.append(_cut(cut))
    if found.validations:
        parts.append(_validation(found.validations))
    if m is not None and m.artifacts:
        parts.append(_artifacts(m))
    if m_created and v_created and v_created < m_created:
        parts.append('<div class="note">The verification results are older than the last conversion into this folder; '
                     f'verify again for figures of the current models ({VERIFY_WHERE}).</div>')
    parts.append(_verification(v) if v is not None else
                 '<section><h2>Verification</h2><p class="muted">Not verified yet: verify the converted models '
                 f'({VERIFY_WHERE}), then make the report again.</p></section>')
    if found.benches:
        parts.append(_benchmarks(found.benches))
    parts.append(f"<footer>Made by EdgeWizard {esc(version)}. This file is self-contained: it loads nothing from "
                 "anywhere, and prints to PDF from any browser.</footer>")
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>EdgeWizard report: {esc(name)}</title><style>{CSS}</style></head>"
            f"<body><main>{''.join(parts)}</main></body></html>\n")


def _glance(found: ReportInputs) -> str:
    m, v = found.manifest, found.verify
    cells = []
    if m is not None and m.artifacts:
        cells.append((str(len(m.artifacts)), "conversion targets made"))
    checked = [a for a in (v.artifacts if v is not None else []) if a.status != "skipped"]
    if checked:
        flagged = sum(1 for a in checked if a.flags)
        cells.append((f"{len(checked) - flagged} of {len(checked)}", "verified models within thresholds"))
        drops = [(o.accuracy_drop, a.file) for a in checked for o in a.outputs if o.accuracy_drop is not None]
        if drops:
            worst = max(drops, key=lambda d: d[0])
            if worst[0] > 0:
                cells.append((f"{100 * worst[0]:.2f} points", f"largest accuracy drop ({worst[1]})"))
            else:
                cells.append(("none", "accuracy lost by any converted model"))
    medians = [(b.get("median_ms"), _run_name(b)) for b in found.benches if isinstance(b.get("median_ms"), (int, float))]
    if medians:
        best = min(medians)
        cells.append((f"{svg.fmt_number(best[0])} ms", f"fastest median latency ({best[1]})"))
    if not cells:
        return ""
    return '<div class="glance">' + "".join(f"<div><b>{esc(a)}</b><span>{esc(b)}</span></div>" for a, b in cells) + "</div>"


def _source(src: SourceRecord, tools: dict) -> str:
    rows = [
        ("Path", f"<code>{esc(src.path)}</code>"),
        ("Format", esc(src.format)),
        ("Size", esc(human_bytes(src.size_bytes) if src.size_bytes else "")),
        ("SHA-256", f"<code>{esc(src.sha256)}</code>" if src.sha256 else ""),
        ("Ops", ops_text(src.op_counts or {}, 12)),
        ("Tools", esc(", ".join(f"{k} {val}" for k, val in tools.items() if val))),
    ]
    return "<section><h2>Source model</h2>" + kv(rows) + "</section>"


def _cut(cut: CutRecord) -> str:
    if not cut.inputs and not cut.outputs:
        return ""
    given = cut.source_nodes or {}
    renamed = any(given.get(t.name, t.name) != t.name for t in cut.inputs + cut.outputs)

    def rows(items):  # "chosen as": the node the person named, when the cut's tensor is called otherwise
        return [[f"<code>{esc(t.name)}</code>"] + ([esc(given.get(t.name, ""))] if renamed else [])
                + [esc(None if t.shape is None else list(t.shape)), esc(t.dtype)] for t in items]
    headers = ["name"] + (["chosen as"] if renamed else []) + ["shape", "dtype"]
    out = ["<section><h2>The cut</h2><p>What was converted: the part of the model between these inputs and outputs, "
           "with static input shapes.</p>"]
    out.append("<h4>Inputs</h4>" + table(headers, rows(cut.inputs)))
    out.append("<h4>Outputs</h4>" + table(headers, rows(cut.outputs)))
    if cut.removed_inputs:
        out.append(f'<p class="muted">Inputs the cut dropped (nothing chosen depends on them): '
                   f'{esc(", ".join(cut.removed_inputs))}</p>')
    return "".join(out) + "</section>"


def _artifacts(m: Manifest) -> str:
    rows, bars = [], []
    for a in m.artifacts:
        files = "<br>".join(f"<code>{esc(f.name)}</code> {esc(human_bytes(f.size_bytes))}" for f in a.files)
        notes = "".join(f'<div class="muted">{esc(n)}</div>' for n in a.notes)
        rows.append([f"<b>{esc(a.target)}</b><div class='muted'>{esc(a.title)}</div>", badge(a.status),
                     files + notes, ops_text(a.op_counts_after, 6), esc(f"{a.seconds:.1f} s")])
        models = [f for f in a.files if f.name.endswith((".tflite", ".bin", ".onnx"))]
        if models:
            bars.append((a.target, sum(f.size_bytes for f in models) / 1024, svg.PALETTE[len(bars) % 8]))
    out = ["<section><h2>Converted models</h2>", table(["target", "status", "files", "ops after conversion", "time"], rows, {4})]
    c = m.options.get("calibration")
    if isinstance(c, dict):
        srcs = ", ".join(f"{s.get('input') or ''}{'=' if s.get('input') else ''}{s.get('source')}" for s in c.get("sources", []))
        out.append(f"<p>Calibration for integer models: <code>{esc(srcs)}</code>, {esc(c.get('samples'))} samples, "
                   f"preprocessing {esc(c.get('preset'))}.</p>")
    if len(bars) > 1:
        vmax = max(b[1] for b in bars) * 1.15
        out.append(figure(svg.hbars(bars, "Model size per target (KB)", vmax, lambda x: f"{x:,.1f} KB"),
                          "Size of the weights file per target (.tflite, or .bin of OpenVINO IR)."))
    return "".join(out) + "</section>"


def _verification(v: VerifyReport) -> str:
    data, th = v.data, v.thresholds
    out = ["<section><h2>Verification</h2>",
           f"<p>Original: <code>{esc(v.source.get('path'))}</code>. Inputs: {esc(data.description)}.</p>"]
    if data.note:
        out.append(f'<div class="note">{esc(data.note)}</div>')
    rule = f"top-1 agreement below {pct(th.min_top1_agreement, 0)} or cosine similarity below {th.min_cosine}"
    if th.max_accuracy_drop is not None:
        rule += f", or accuracy dropping by more than {100 * th.max_accuracy_drop:g} points"
    out.append(f'<p class="muted">A result is flagged at {esc(rule)}.</p>')
    rows, agree_bars, acc_bars, original_acc = [], [], [], None
    for a in v.artifacts:
        label = f"<b>{esc(a.file)}</b><div class='muted'>{esc(', '.join(t for t in a.targets if t) or a.precision)}</div>"
        if a.status == "skipped":
            rows.append([label, badge("skipped"), "", "", "", "", "", ""])
            continue
        for o in a.outputs:
            acc = ""
            if o.accuracy_artifact is not None:
                original_acc = o.accuracy_original
                acc = f"{pct(o.accuracy_artifact, 2)} <span class='muted'>({0.0 - 100 * o.accuracy_drop:+.2f})</span>"
                acc_bars.append((a.file, o.accuracy_artifact, svg.RED if a.flags else svg.BLUE))
            if o.top1_agreement is not None:
                agree_bars.append((a.file + (f" · {o.name}" if len(a.outputs) > 1 else ""), o.top1_agreement,
                                   svg.RED if o.top1_agreement < th.min_top1_agreement else svg.BLUE))
            rows.append([label, badge(a.status), f"<code>{esc(o.name)}</code>", pct(o.top1_agreement), acc,
                         esc(svg.fmt_number(o.max_abs_error)), esc(svg.fmt_number(o.mean_abs_error)), esc(f"{o.cosine:.5f}")])
            label = ""
    out.append(table(["model", "result", "output", "top-1 agreement", "accuracy (change, points)", "max |err|", "mean |err|", "cosine"],
                     rows, {3, 4, 5, 6, 7}))
    if original_acc is not None:
        out.append(f"<p>Accuracy of the original model on these labelled inputs: <b>{pct(original_acc, 2)}</b>.</p>")
    if agree_bars:
        lo = _axis_floor([b[1] for b in agree_bars] + [th.min_top1_agreement])
        out.append(figure(svg.hbars(agree_bars, "Top-1 agreement with the original", 1.0, lambda x: pct(x), th.min_top1_agreement,
                                    f"threshold {pct(th.min_top1_agreement, 0)}", vmin=lo),
                          f"Share of samples where the converted model picks the same class as the original (axis from {pct(lo, 0)})."))
    if acc_bars and original_acc is not None:
        bars = [("original", original_acc, svg.GREY)] + acc_bars
        lo = _axis_floor([b[1] for b in bars])
        out.append(figure(svg.hbars(bars, "Accuracy on the labelled inputs", 1.0, lambda x: pct(x, 2), vmin=lo),
                          f"Accuracy of the original and of each converted model (axis from {pct(lo, 0)})."))
    for a in v.artifacts:
        out.append(_artifact_detail(a, data))
    return "".join(out) + "</section>"


def _axis_floor(values) -> float:
    return max(0.0, math.floor((min(values) - 0.02) * 20) / 20)


def _artifact_detail(a: ArtifactCheck, data: DataSummary) -> str:
    out = [f'<div class="artifact-verify"><h3>{esc(a.file)} {badge(a.status)}</h3>']
    if a.status == "skipped":
        return "".join(out) + "".join(f"<p>{esc(n)}</p>" for n in a.notes) + "</div>"
    meta = [f"precision {esc(a.precision)}", f"run with {esc(a.runtime)}"]
    for i in a.inputs:  # the runner's facts about each input: a plain dict by design (quantization, when any)
        if "scale" in i:
            meta.append(f"input <code>{esc(i['name'])}</code> {esc(i['dtype'])}, scale {i['scale']:.5g}, zero point "
                        f"{i['zero_point']} (holds {i['range'][0]:.4g} to {i['range'][1]:.4g})")
    out.append(f'<p class="muted">{"; ".join(meta)}.</p>')
    for n in a.notes:
        out.append(f'<div class="note">{esc(n)}</div>')
    if a.flags:
        fixes = list(dict.fromkeys(r for f in a.flags for r in f.remedies))
        out.append('<div class="flag">' + "".join(f"<p><b>{esc(f.message)}</b></p>" for f in a.flags) +
                   ("<p>What to try:</p><ul>" + "".join(f"<li>{esc(r)}</li>" for r in fixes) + "</ul>" if fixes else "") + "</div>")
    for o in a.outputs:
        out.append(f"<h4>Output <code>{esc(o.name)}</code> {esc(o.shape)}</h4>")
        h = o.histogram
        if h is not None and h.counts:
            out.append(figure(svg.histogram(h.edges, h.counts, f"Error histogram of {o.name}"),
                              f"Absolute differences of every output value over all samples; the original's values range "
                              f"from {svg.fmt_number(o.reference_range[0])} to {svg.fmt_number(o.reference_range[1])}."))
        if o.worst and o.classifier and not o.disagreements and not a.flags:
            w = o.worst[0]
            out.append(f"<p class='muted'>Every sample gets the same top class; the largest difference is on sample "
                       f"#{esc(w.index)} (mean |err| {esc(svg.fmt_number(w.error))}).</p>")
        elif o.worst:
            out.append(f"<p class='muted'>The {len(o.worst)} samples that agree least (sample number in the data):</p>")
            out.append('<div class="worst">' + "".join(_worst_card(w, data.class_names) for w in o.worst) + "</div>")
    return "".join(out) + "</div>"


def _class(i, names) -> str:
    if i is None:
        return "?"
    return esc(names[i]) if names and 0 <= i < len(names) else esc(i)


def _worst_card(w: WorstSample, names: Optional[list]) -> str:
    differ = w.original_top1 is not None and w.original_top1 != w.artifact_top1
    img = f'<img alt="sample {esc(w.index)}" src="{esc(w.image)}">' if w.image else ""
    lines = [f"#{esc(w.index)}"]
    if w.original_top1 is not None:
        lines.append(f"<span class='k'>orig</span> {_class(w.original_top1, names)} ({w.original_score or 0:.2f})")
        lines.append(f"<span class='k'>conv</span> {_class(w.artifact_top1, names)} ({w.artifact_score or 0:.2f})")
    if w.label is not None:
        lines.append(f"<span class='k'>label</span> {_class(w.label, names)}")
    lines.append(f"<span class='k'>|err|</span> {esc(svg.fmt_number(w.error))}")
    return f'<figure class="{"differ" if differ else ""}">{img}{"<br>".join(lines)}</figure>'


def _validation(items: list[dict]) -> str:
    out = ["<section><h2>Device validation</h2>"]
    for v in items:
        title = v.get("title") or v.get("device") or v.get("_file")
        status = v.get("status", "")
        out.append(f"<h3>{esc(title)} {badge(status) if status and status != 'checked' else ''}</h3>")
        summary = v.get("summary")
        if isinstance(summary, str) and summary:
            out.append(f"<p><b>{esc(summary)}</b></p>")
        point = v.get("partition_point") if isinstance(v.get("partition_point"), dict) else None
        memory = v.get("memory") if isinstance(v.get("memory"), dict) else None
        rows = [
            ("Device", f"<code>{esc(v.get('device'))}</code>"),
            ("Judged", esc(v.get("judged"))),
            ("Decided by", esc(v.get("source_of_truth"))),
            ("Partition point", f"node {esc(point.get('index'))}: <code>{esc(point.get('name'))}</code> ({esc(point.get('op'))})"
             + (f", from <code>{esc(point.get('source_node'))}</code>" if point.get("source_node") else "") if point else ""),
            ("Parameter memory", f"{esc(human_bytes(memory.get('parameter_bytes')))} of {esc(human_bytes(memory.get('cache_bytes')))} "
             f"on-chip cache ({'fits' if memory.get('fits') else 'does not fit: weights stream over USB on every inference'})"
             if memory else ""),
            ("Why not", esc(v.get("reason"))),
        ]
        if isinstance(summary, dict):  # another producer's summary: show its plain fields
            rows += [(k.replace("_", " "), esc(val)) for k, val in summary.items() if isinstance(val, (str, int, float, bool))]
        rows += [(k.replace("_", " "), esc(val)) for k, val in v.items() if not k.startswith("_") and k not in _SHOWN
                 and isinstance(val, (str, int, float, bool)) and val != ""][:8]
        out.append(kv(rows))
        for key in ("suggestions", "notes", "disagreements"):
            texts = [x.get("text") if isinstance(x, dict) else x for x in v.get(key) or []]
            if texts:
                label = {"suggestions": "What would help", "notes": "Notes", "disagreements": "Compiler vs table"}[key]
                out.append(f"<h4>{label}</h4><ul>" + "".join(f"<li>{esc(t)}</li>" for t in texts if t) + "</ul>")
        nodes = v.get("nodes")
        if isinstance(nodes, list) and nodes and all(isinstance(r, dict) for r in nodes):
            out.append(_node_table(nodes))
    return "".join(out) + "</section>"


_SHOWN = {"device", "title", "status", "summary", "judged", "source_of_truth", "partition_point", "partition_index",
          "memory", "reason", "nodes", "suggestions", "notes", "disagreements", "totals", "seconds", "short",
          "source_verdicts", "table_sources"}


def _node_table(rows: list[dict]) -> str:
    key = next((k for k in ("where", "status", "verdict", "runs_on") if k in rows[0]), None)
    out = []
    if key:
        counts: dict = {}
        for r in rows:
            counts[str(r.get(key))] = counts.get(str(r.get(key)), 0) + 1
        out.append("<p>" + " · ".join(f"{esc(k)}: <b>{n}</b>" for k, n in counts.items()) + f" (of {len(rows)} ops)</p>")
        rows = [r for r in rows if str(r.get(key)).lower() not in GOOD_STATES]
    if not rows:
        return "".join(out)
    preferred = ["index", "name", "node", "op", key, "reason", "source_nodes"]
    cols = [c for c in preferred if c and c in rows[0]] or [c for c in rows[0] if isinstance(rows[0][c], (str, int, float))][:6]
    shown = rows[:40]
    cell = lambda v: esc(", ".join(map(str, v)) if isinstance(v, list) else v)  # noqa: E731
    out.append("<h4>Ops not on the device</h4>" + table([c.replace("_", " ") for c in cols], [[cell(r.get(c)) for c in cols] for r in shown]))
    if len(rows) > len(shown):
        out.append(f"<p class='muted'>... and {len(rows) - len(shown)} more.</p>")
    return "".join(out)


def _run_name(b: dict) -> str:
    model = b.get("model") or b.get("artifact") or b.get("model_path") or ""
    model = Path(str(model)).name if model else ""
    device = b.get("device") or "?"
    host = b.get("host") or ""
    where = f"{device} ({host})" if host and not host.startswith("this computer") else device  # ssh runs name their host
    return f"{model} on {where}" if model else str(where)


def _precision(run: dict) -> str:
    used, asked = run.get("precision"), run.get("precision_requested")
    if not used:
        return "as converted" if not str(run.get("device", "")).startswith("openvino:") else ""
    return f"{used} ({'asked for' if asked else 'device default'})"


def _benchmarks(runs: list[dict]) -> str:
    cols = [("first_ms", "first"), ("mean_ms", "mean"), ("median_ms", "median"), ("p90_ms", "p90"), ("p99_ms", "p99"),
            ("min_ms", "min"), ("max_ms", "max")]
    base = next((r.get("median_ms") for r in runs if isinstance(r.get("median_ms"), (int, float))), None)
    rows, ranges, series = [], [], []
    for r in runs:
        num = lambda k: svg.fmt_number(r[k]) if isinstance(r.get(k), (int, float)) else ""  # noqa: E731
        speed = f"{base / r['median_ms']:.2f}×" if base and isinstance(r.get("median_ms"), (int, float)) and r["median_ms"] > 0 else ""
        rows.append([esc(_run_name(r)), esc(r.get("runtime", "")), esc(_precision(r)), esc(r.get("count", ""))] + [num(k) for k, _ in cols] +
                    [num("throughput_fps"), speed])
        ranges.append({"name": _run_name(r), "median": r.get("median_ms"), "p90": r.get("p90_ms"), "p99": r.get("p99_ms"),
                       "min": r.get("min_ms"), "max": r.get("max_ms")})
        if r.get("latencies_ms"):
            series.append((_run_name(r), [float(x) for x in r["latencies_ms"] if isinstance(x, (int, float))]))
    out = ["<section><h2>Benchmarks</h2>",
           table(["run", "runtime", "precision", "count"] + [f"{t} ms" for _, t in cols] + ["fps", "speed-up"], rows,
                 set(range(3, 13)), "compact"),
           f"<p class='muted'>Speed-up: median latency relative to the first run ({esc(_run_name(runs[0]))}). Precision: "
           "what the device computed in, as OpenVINO reported it; a TensorFlow Lite model runs as it was converted.</p>"]
    if any(x["median"] is not None for x in ranges):
        out.append(figure(svg.latency_ranges(ranges, "Latency per run"), "Latency per inference, per run (ms)."))
    if series:
        out.append(figure(svg.traces(series, "Latency per inference"), "Each inference's latency in the order they ran."))
    from .profile_part import profiles_part

    out.append(profiles_part(runs, _run_name))
    return "".join(out) + "</section>"
