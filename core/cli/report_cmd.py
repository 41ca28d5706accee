"""`edgewizard report`: one self-contained HTML file from an output folder's results."""
from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report",
        help="write a self-contained HTML report of an output folder",
        description=(
            "Write one HTML file (images and styles inlined, charts drawn in the page, nothing loaded from the "
            "network; print it to PDF from a browser) from the results in OUTDIR: manifest.json from convert, "
            "verify.json from verify, validation*.json and bench*.json (with bench*.csv latencies) when present. "
            "Default output: OUTDIR/report.html. --json prints {\"report\": path, \"sections\": [...]}."
        ),
    )
    p.add_argument("outdir", metavar="OUTDIR", help="an output folder of `edgewizard convert`")
    p.add_argument("-o", "--output", metavar="FILE", help="where to write the report (default: OUTDIR/report.html)")
    p.add_argument("--json", action="store_true", help="print where the report went, as JSON")
    p.add_argument("--debug", action="store_true", help="show details on errors")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..report import collect, write_report

    path = write_report(args.outdir, args.output)
    if args.json:
        found = collect(args.outdir)
        m = found.manifest
        cut = bool(m.cut.inputs or m.cut.outputs) if m is not None else bool(found.verify and found.verify.cut)
        sections = [name for name, present in (
            ("source", True), ("cut", cut),
            ("validation", bool(found.validations)), ("artifacts", m is not None and bool(m.artifacts)),
            ("verification", found.verify is not None), ("benchmarks", bool(found.benches)),
        ) if present]
        print(json.dumps({"report": str(path), "sections": sections, "problems": found.problems}, ensure_ascii=False))
    else:
        print(f"Wrote {path}")
    return 0
