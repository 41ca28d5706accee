"""The report's stylesheet, inlined into the page (no external file, no web font), with print rules."""

CSS = """
:root { --ink: #1d2330; --muted: #5b6472; --line: #d9dde3; --ok: #2e8b57; --warn: #b9770e; --bad: #c0392b;
        --accent: #2f6db5; --soft: #f4f6f9; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK JP", sans-serif;
       color: var(--ink); margin: 0; background: #fff; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 28px 48px; }
header.top { border-bottom: 3px solid var(--accent); padding-bottom: 10px; margin-bottom: 18px; }
header.top h1 { margin: 0 0 4px; font-size: 24px; }
header.top .meta { color: var(--muted); font-size: 12.5px; }
h2 { font-size: 19px; margin: 30px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15.5px; margin: 20px 0 8px; }
h4 { font-size: 14px; margin: 14px 0 6px; color: var(--muted); }
p { margin: 6px 0; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px;
              overflow-wrap: break-word; }
table.kv code, header code { overflow-wrap: anywhere; }  /* long paths and hashes may break anywhere */
table { border-collapse: collapse; width: 100%; margin: 8px 0 12px; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.compact { font-size: 12px; } table.compact th, table.compact td { padding: 4px 5px; }
table.kv th { width: 190px; background: none; color: var(--muted); font-weight: 500; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 11.5px; font-weight: 600;
         color: #fff; background: var(--muted); white-space: nowrap; }
.badge.ok { background: var(--ok); } .badge.flagged { background: var(--bad); }
.badge.not_compiled, .badge.skipped, .badge.not_checked, .badge.unavailable { background: var(--warn); }
.badge.failed { background: var(--bad); }
.glance { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 10px; margin: 12px 0; }
.glance div { background: var(--soft); border-radius: 6px; padding: 10px 12px; }
.glance b { display: block; font-size: 18px; }
.glance span { color: var(--muted); font-size: 12px; }
.flag { border-left: 4px solid var(--bad); background: #fdf1ef; padding: 8px 12px; margin: 8px 0; border-radius: 3px; }
.note { border-left: 4px solid var(--warn); background: #fdf7ea; padding: 6px 12px; margin: 8px 0; border-radius: 3px; }
.flag ul { margin: 4px 0 0 18px; padding: 0; }
.figure { margin: 8px 0 14px; page-break-inside: avoid; break-inside: avoid; }
.figure .caption { color: var(--muted); font-size: 12px; margin-top: 2px; }
svg.chart { max-width: 100%; height: auto; display: block; }
.outputs { display: grid; grid-template-columns: minmax(0, 1fr); gap: 6px; }
.worst { display: grid; grid-template-columns: repeat(auto-fill, minmax(104px, 1fr)); gap: 8px; margin: 6px 0 10px; }
.worst figure { margin: 0; border: 1px solid var(--line); border-radius: 4px; padding: 5px;
                font-size: 11.5px; text-align: center; page-break-inside: avoid; break-inside: avoid; }
.worst figure.differ { border-color: var(--bad); }
.worst img { width: 96px; height: 96px; image-rendering: pixelated; display: block; margin: 0 auto 3px;
             background: #000; object-fit: contain; }
.worst .k { color: var(--muted); }
.muted { color: var(--muted); }
section { page-break-inside: auto; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { font-size: 11.5px; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  main { max-width: none; padding: 0; }
  h2 { page-break-after: avoid; break-after: avoid; }
  h3, h4 { page-break-after: avoid; break-after: avoid; }
  tr, .flag, .note, .glance div { page-break-inside: avoid; break-inside: avoid; }
  .artifact-verify { page-break-inside: auto; }
}
"""
