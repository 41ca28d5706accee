"""Small inline SVG charts for the report: drawn here, so the file needs no script and no network.

Each function returns one <svg> element that scales to the page width (viewBox) and prints sharply."""
from __future__ import annotations

import math
from html import escape
from typing import Optional, Sequence

BLUE, ORANGE, RED, GREY, GREEN = "#2f6db5", "#e08a1e", "#c0392b", "#8a8f98", "#2e8b57"
PALETTE = (BLUE, ORANGE, GREEN, "#8e44ad", "#16a085", RED, "#7f8c8d", "#d35400")


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}" font-family="sans-serif" font-size="12">'
        f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, s: str, anchor: str = "start", size: int = 12, fill: str = "#222", weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}" '
            f'font-weight="{weight}">{escape(s)}</text>')


def fmt_number(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a < 0.01:
        return f"{v:.2g}"
    return f"{v:.3g}"


def hbars(rows: Sequence[tuple[str, float, str]], label: str, vmax: float, unit_fmt=fmt_number,
          threshold: Optional[float] = None, threshold_label: str = "", vmin: float = 0.0, width: int = 720) -> str:
    """Horizontal bars: rows of (name, value, colour), drawn from vmin to vmax."""
    left, right, row_h, top = 230, 70, 22, 10
    height = top + row_h * len(rows) + (28 if threshold is not None else 12)
    span = (vmax - vmin) or 1.0
    x = lambda v: left + (width - left - right) * (min(max(v, vmin), vmax) - vmin) / span  # noqa: E731
    body = []
    for i, (name, value, colour) in enumerate(rows):
        y = top + i * row_h
        short = name if len(name) <= 34 else name[:31] + "..."
        body.append(_text(left - 8, y + 15, short, "end"))
        body.append(f'<rect x="{left}" y="{y + 3}" width="{max(0.5, x(value) - left):.1f}" height="{row_h - 6}" fill="{colour}"/>')
        body.append(_text(x(value) + 5, y + 15, unit_fmt(value)))
    body.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + row_h * len(rows)}" stroke="#555"/>')
    if threshold is not None:
        tx = x(threshold)
        body.append(f'<line x1="{tx:.1f}" y1="{top - 4}" x2="{tx:.1f}" y2="{top + row_h * len(rows) + 4}" '
                    f'stroke="{RED}" stroke-dasharray="4 3"/>')
        body.append(_text(tx, top + row_h * len(rows) + 20, threshold_label, "middle", 11, RED))
    return _svg(width, height, body, label)


def histogram(edges: Sequence[float], counts: Sequence[int], label: str, width: int = 460, height: int = 170) -> str:
    """Bars of counts per bin, on a logarithmic count axis (errors pile up near zero)."""
    left, right, top, bottom = 46, 14, 10, 34
    n = len(counts)
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(counts) if counts else 0
    scale = math.log10(peak + 1) or 1.0
    body = [f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafbfc" stroke="#ccc"/>']
    for i, c in enumerate(counts):
        if c <= 0:
            continue
        h = plot_h * math.log10(c + 1) / scale
        bx = left + plot_w * i / n
        body.append(f'<rect x="{bx + 0.5:.1f}" y="{top + plot_h - h:.1f}" width="{max(0.5, plot_w / n - 1):.1f}" '
                    f'height="{h:.1f}" fill="{BLUE}"><title>{escape(fmt_number(edges[i]))} to '
                    f'{escape(fmt_number(edges[i + 1]))}: {c}</title></rect>')
    for value, pos, anchor in ((edges[0], 0.0, "start"), (edges[n // 2] if n else 0, 0.5, "middle"), (edges[-1] if edges else 0, 1.0, "end")):
        body.append(_text(left + plot_w * pos, height - bottom + 15, fmt_number(value), anchor, 11, "#444"))
    body.append(_text(left + plot_w / 2, height - 4, "|converted - original| per output value", "middle", 11, "#444"))
    for frac in (0.0, 1.0):
        v = round(10 ** (scale * frac) - 1)
        body.append(_text(left - 5, top + plot_h * (1 - frac) + 4, f"{v:,}", "end", 10, "#444"))
    body.append(_text(12, top + plot_h / 2, "count (log)", "middle", 10, "#444").replace(
        "<text ", f'<text transform="rotate(-90 12 {top + plot_h / 2:.1f})" ', 1))
    return _svg(width, height, body, label)


def latency_ranges(rows: Sequence[dict], label: str, width: int = 720) -> str:
    """Per run: a bar to the median, a line from min to p99 with ticks at p90 and p99 (ms)."""
    left, right, row_h, top = 290, 90, 26, 8
    vmax = max((r.get("p99") or r.get("max") or r.get("median") or 0 for r in rows), default=1) or 1
    vmax *= 1.08
    x = lambda v: left + (width - left - right) * v / vmax  # noqa: E731
    body = []
    for i, r in enumerate(rows):
        y = top + i * row_h
        colour = PALETTE[i % len(PALETTE)]
        name = r["name"] if len(r["name"]) <= 44 else r["name"][:41] + "..."
        body.append(_text(left - 8, y + 17, name, "end"))
        med = r.get("median")
        if med is not None:
            body.append(f'<rect x="{left}" y="{y + 5}" width="{max(0.5, x(med) - left):.1f}" height="{row_h - 10}" fill="{colour}" opacity="0.85"/>')
        lo, hi = r.get("min"), r.get("p99")
        if lo is not None and hi is not None:
            body.append(f'<line x1="{x(lo):.1f}" y1="{y + row_h / 2:.1f}" x2="{x(hi):.1f}" y2="{y + row_h / 2:.1f}" stroke="#333"/>')
        for key in ("p90", "p99"):
            if r.get(key) is not None:
                body.append(f'<line x1="{x(r[key]):.1f}" y1="{y + 6}" x2="{x(r[key]):.1f}" y2="{y + row_h - 6}" stroke="#333"/>')
        if med is not None:
            body.append(_text(x(max(med, hi or med)) + 6, y + 17, f"{fmt_number(med)} ms"))
    base = top + row_h * len(rows)
    body.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="#555"/>')
    body.append(_text(left, base + 16, "bar: median; line: min to p99; ticks: p90, p99 (ms)", "start", 11, "#444"))
    return _svg(width, base + 24, body, label)


def traces(series: Sequence[tuple[str, Sequence[float]]], label: str, width: int = 720, height: int = 220) -> str:
    """Latency per inference for each run (ms), thinned to at most ~600 points keeping the peaks."""
    left, right, top, bottom = 64, 12, 10, 50
    legend_rows = _legend_rows([name for name, _ in series], width - left)
    height += 16 * (len(legend_rows) - 1)
    plot_w, plot_h = width - left - right, height - top - bottom - 16 * (len(legend_rows) - 1)
    longest = max((len(v) for _, v in series), default=0)
    peak = max((max(v) for _, v in series if len(v)), default=1.0) * 1.05 or 1.0
    body = [f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafbfc" stroke="#ccc"/>']
    for k, (name, values) in enumerate(series):
        if not len(values):
            continue
        step = max(1, math.ceil(len(values) / 600))
        pts = []
        for start in range(0, len(values), step):
            chunk = values[start:start + step]
            v = max(chunk)  # a spike must stay visible after thinning
            px = left + plot_w * (start / max(1, longest - 1))
            pts.append(f"{px:.1f},{top + plot_h * (1 - v / peak):.1f}")
        colour = PALETTE[k % len(PALETTE)]
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.2" points="{" ".join(pts)}"/>')
    for row, items in enumerate(legend_rows):
        y = top + plot_h + 30 + 16 * row
        for k, x0 in items:
            body.append(f'<rect x="{left + x0}" y="{y}" width="10" height="10" fill="{PALETTE[k % len(PALETTE)]}"/>')
            body.append(_text(left + x0 + 14, y + 9, series[k][0], "start", 11))
    for frac in (0.0, 0.5, 1.0):
        body.append(_text(left - 5, top + plot_h * (1 - frac) + 4, f"{fmt_number(peak * frac)} ms", "end", 10, "#444"))
    body.append(_text(left + plot_w / 2, top + plot_h + 16, f"inference 1 to {longest:,}", "middle", 11, "#444"))
    return _svg(width, height, body, label)


def _legend_rows(names: Sequence[str], room: float) -> list[list[tuple[int, float]]]:
    """Legend entries (series index, x offset) laid out in rows that fit `room` pixels."""
    rows: list[list[tuple[int, float]]] = [[]]
    x = 0.0
    for k, name in enumerate(names):
        w = 14 + 6.0 * len(name) + 18  # swatch, text at ~6 px per character at 11 px, gap
        if x and x + w > room:
            rows.append([])
            x = 0.0
        rows[-1].append((k, x))
        x += w
    return rows
