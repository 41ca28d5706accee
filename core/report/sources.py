"""The result files a report is made from, read from an EdgeWizard output folder.

  manifest.json        written by `edgewizard convert` (required unless verify.json exists)
  verify.json          written by `edgewizard verify` (core/verify/results.py)
  validation*.json     `edgewizard validate --json > OUTDIR/validation.json`: {"reports": [...]} of
                       core/validate's ValidationReport.to_dict() (also one report, or a list of them)
  bench*.json          `edgewizard bench --json > OUTDIR/bench.json`: BenchResult.to_dict(); also a list
                       of them or {"runs": [...]}; per-inference latencies from a "latencies_ms" list or
                       from the CSV of the same name (`--csv OUTDIR/bench.csv`; warm-up rows skipped)
A file that cannot be read is reported in the page, never fatal."""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import UserError
from ..manifest import Manifest
from ..manifest import from_dict as manifest_from_dict
from ..verify.results import VerifyReport


@dataclass
class ReportInputs:
    folder: Path
    manifest: Optional[Manifest] = None
    verify: Optional[VerifyReport] = None
    validations: list[dict] = field(default_factory=list)
    benches: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # files that could not be read, in plain words


def collect(folder: str | Path) -> ReportInputs:
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder; give the folder the converted models were saved in.",
                        cli_hint="the OUTDIR given to convert -o")
    found = ReportInputs(folder=folder)
    found.manifest = _typed(folder / "manifest.json", found, manifest_from_dict, "a manifest")
    found.verify = _typed(folder / "verify.json", found, VerifyReport.from_dict, "verification results")
    if found.manifest is None and found.verify is None:
        raise UserError(f"{folder} holds no manifest.json or verify.json; convert (and verify) into it first.")
    for p in sorted(folder.glob("validation*.json")):
        data = _read(p, found, (dict, list))
        for item in _items(data, "reports"):
            found.validations.append({"_file": p.name, **item})
    for p in sorted(folder.glob("bench*.json")):
        data = _read(p, found, (dict, list))
        runs = _items(data, "runs")
        for k, run in enumerate(runs):
            run = {"_file": p.name, **run}
            if "latencies_ms" not in run and len(runs) == 1:
                samples = _csv_latencies(p.with_suffix(".csv"), found)
                if samples:
                    run["latencies_ms"] = samples
            found.benches.append(run)
    return found


def _typed(path: Path, found: ReportInputs, build, what: str):
    """manifest.json or verify.json as its typed result (core/codec.py), or None with the problem noted."""
    data = _read(path, found, dict)
    if data is None:
        return None
    try:
        return build(data)
    except ValueError as exc:
        found.problems.append(f"{path.name} does not hold {what} EdgeWizard can read ({exc}); it is left out.")
        return None


def _items(data, key: str) -> list[dict]:
    if isinstance(data, dict) and isinstance(data.get(key), list):
        data = data[key]
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return [d for d in data if isinstance(d, dict)]
    return []


def _read(path: Path, found: ReportInputs, kinds):
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        found.problems.append(f"{path.name} could not be read ({exc}); it is left out.")
        return None
    if not isinstance(data, kinds):
        found.problems.append(f"{path.name} does not hold the expected JSON object; it is left out.")
        return None
    return data


def _csv_latencies(path: Path, found: ReportInputs) -> list[float]:
    """The latency column of a benchmark CSV: one named like latency_ms, else the last numeric one."""
    if not path.is_file():
        return []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        found.problems.append(f"{path.name} could not be read ({exc}).")
        return []
    if len(rows) < 2:
        return []
    header = [h.strip().lower() for h in rows[0]]
    col = next((i for i, h in enumerate(header) if "latency" in h or h in ("ms", "time_ms")), None)
    phase = header.index("phase") if "phase" in header else None
    values = []
    for row in rows[1:]:
        if phase is not None and phase < len(row) and row[phase].strip().lower() == "warmup":
            continue  # warm-up runs are not part of the measurement
        try:
            cells = [float(c) for c in row] if col is None else [float(row[col])]
        except (ValueError, IndexError):
            continue
        if cells:
            values.append(cells[-1] if col is None else cells[0])
    return values
