"""Run the whole `edgewizard` command line on every model of the real-model corpus and print a matrix.

For each model (tests/real/corpus.toml, fetched by corpus.py): `inspect`; `validate` on every device the CLI
lists; `convert` to every target that applies to the model's format; `verify` of what was converted; `bench` on
the CPU (a .tflite on tflite:CPU, an OpenVINO IR on openvino:CPU) with a small count. Every step is a real
subprocess of the CLI with a timeout. A cell is ok, or `exit N: <the sentence>` for exit 2/3, or BAD: exit 1,
any other non-zero code, a timeout, a traceback, raw tool text (C++ source paths, OpenVINO "Check ... failed",
MLIR diagnostics, log lines of TensorFlow/absl), or an error that is not one line. The matrix is printed as a
Markdown table (sentences as numbered notes below it); --json FILE keeps every cell's command, exit code, time,
stdout and stderr. Exit 0 when no cell is BAD, else 1.

To save TensorFlow imports, validation runs all devices in one call and conversion all targets but edgetpu in
one call; a device or target that did not come back ok from that call is run again on its own, so its exit code
and sentence are its own. --separately runs every device and target on its own from the start.

    python tests/real/run_matrix.py [--only ID] [--steps inspect,validate,convert,verify,bench] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402  (a sibling script, not a package)

STEPS = ("inspect", "validate", "convert", "verify", "bench")
ALL_TARGETS = ("tflite-float", "tflite-fp16", "tflite-dynamic", "tflite-int8", "edgetpu",
               "openvino-fp32", "openvino-fp16", "openvino-int8")
OPENVINO_TARGETS = ("openvino-fp32", "openvino-fp16", "openvino-int8")
# Which targets convert from which kind of source (core/convert: the TFLite targets start from a TensorFlow
# graph; OpenVINO reads TFLite and ONNX; edgetpu compiles a .tflite as it is).
TARGETS_BY_KIND = {
    "keras2-h5": ALL_TARGETS, "keras3": ALL_TARGETS, "savedmodel": ALL_TARGETS,
    "tflite-float": (*OPENVINO_TARGETS, "edgetpu"), "tflite-dynamic": (*OPENVINO_TARGETS, "edgetpu"),
    "tflite-int8": (*OPENVINO_TARGETS, "edgetpu"), "onnx": OPENVINO_TARGETS,
}
CALIBRATED = {"tflite-int8", "edgetpu", "openvino-int8"}
BENCH_DEVICES = ("tflite:CPU", "openvino:CPU")

# Raw tool text that must never reach a person (core/errors.py: one plain sentence; the raw text is --debug's).
RAW_TEXT = [
    (re.compile(r"Traceback \(most recent call last\)"), "a Python traceback"),
    (re.compile(r"^\s*File \"[^\"]+\", line \d+", re.M), "a Python stack frame"),
    (re.compile(r"Check '.*?' failed"), "OpenVINO's \"Check ... failed\" text"),
    (re.compile(r"\bsrc/(?:frontends|core|plugins|inference|common|bindings)/"), "an OpenVINO source path"),
    (re.compile(r"[\w./-]+\.(?:cpp|cc|cxx|hpp|hh|h|c):\d+"), "a C/C++ source path"),
    (re.compile(r"(?:tensorflow|third_party|external)/[\w/]+\.(?:cc|h|py)\b"), "a TensorFlow source path"),
    (re.compile(r"\bloc\(\"|<unknown>:\d+: error:|\berror: '(?:tf|tfl)\."), "an MLIR diagnostic"),
    (re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+", re.M), "a TensorFlow/absl log line"),
    (re.compile(r"^WARNING: All log messages before absl", re.M), "an absl log line"),
    (re.compile(r"\[ (?:ERROR|WARNING|INFO) \]"), "an OpenVINO log line"),
    (re.compile(r"^INFO:nncf:|^WARNING:nncf:", re.M), "an NNCF log line"),
    (re.compile(r"<(?:KerasTensor |tf\.Tensor |keras\.src\.)"), "a Keras/TensorFlow object's repr"),
]
# stderr lines a command may print besides its one error sentence.
OUR_LINES = ("edgewizard: ", "Warning: ", "Note: ", "Kept in ", "Converting the bundled sample")
URL = re.compile(r"https?://\S+")  # a cited source (a support table's provenance) is not raw tool text


@dataclass
class Cell:
    model: str
    step: str  # "inspect", "validate:edgetpu", "convert:tflite-int8", "verify", "bench:tflite:CPU"
    verdict: str  # ok | sentence | BAD | n/a
    exit_code: Optional[int] = None
    sentence: str = ""  # what the command said (its error sentence), or why the cell is n/a
    why: str = ""  # why the cell is BAD
    argv: list = field(default_factory=list)
    seconds: float = 0.0
    stdout: str = ""
    stderr: str = ""
    via: str = ""  # "combined" when the cell was read from a call that ran several devices/targets
    detail: str = ""  # what an ok cell found (verify: artifacts ok/flagged/skipped; bench: the latency)

    def text(self, note: Optional[int] = None) -> str:
        ref = f" [{note}]" if note is not None else ""
        if self.verdict == "ok":
            return "ok"
        if self.verdict == "n/a":
            return "n/a"
        code = "timeout" if self.exit_code is None else f"exit {self.exit_code}"
        return f"BAD {code}{ref}" if self.verdict == "BAD" else f"{code}{ref}"


@dataclass
class Run:
    argv: list
    exit_code: Optional[int]  # None: timed out and killed
    stdout: str
    stderr: str
    seconds: float


def run(argv: list, timeout: float) -> Run:
    """One CLI call in its own session, so a timeout kills it and every process it started."""
    started = time.monotonic()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace", env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        code = None
    return Run([str(a) for a in argv], code, out, err, time.monotonic() - started)


def raw_text(text: str) -> Optional[str]:
    text = URL.sub("<url>", text)
    for pattern, what in RAW_TEXT:
        m = pattern.search(text)
        if m:
            return f"{what}: {text[max(0, m.start() - 40):min(m.end() + 60, m.start() + 160)].strip()!r}"
    return None


def judge(model: str, step: str, r: Run, scanned: Optional[str] = None, said: str = "") -> Cell:
    """The cell for one call: ok, a plain sentence (exit 2/3), or BAD with the reason. `said` is the answer a
    command gives in its result rather than on stderr (validate --json: a report's summary)."""
    sentences = [ln[len("edgewizard: "):].strip() for ln in r.stderr.splitlines() if ln.startswith("edgewizard: ")]
    sentence = sentences[-1] if sentences else said
    cell = Cell(model, step, "ok", exit_code=r.exit_code, sentence=sentence, argv=r.argv, seconds=round(r.seconds, 1),
                stdout=r.stdout, stderr=r.stderr)
    others = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith(OUR_LINES)]
    raw = raw_text(scanned if scanned is not None else _without_details(r.stdout) + "\n" + r.stderr)
    if r.exit_code is None:
        cell.verdict, cell.why = "BAD", f"no answer within {r.seconds:.0f} s (killed)"
    elif raw:
        cell.verdict, cell.why = "BAD", f"raw tool text, {raw}"
    elif r.exit_code == 0:
        if others:
            cell.verdict, cell.why = "BAD", f"tool text on stderr: {others[0][:200]!r} (+{len(others) - 1} lines)"
    elif r.exit_code in (2, 3):
        if not sentence:
            cell.verdict, cell.why = "BAD", f"exit {r.exit_code} without a sentence saying why"
        elif others:
            cell.verdict, cell.why = "BAD", f"more than one sentence: also {others[0][:200]!r}"
        else:
            cell.verdict = "sentence"
    else:
        cell.verdict, cell.why = "BAD", f"exit {r.exit_code}"
        if not sentence:
            cell.sentence = (r.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1][:300]
    return cell


def _without_details(stdout: str) -> str:
    """--json output less its "details" fields: they are where the raw tool text belongs (core/errors.py), as
    --debug shows it; everything else a script or a person reads must be plain."""
    try:
        data = json.loads(stdout)
    except ValueError:
        return stdout

    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k != "details"}
        return [strip(v) for v in x] if isinstance(x, list) else x

    return json.dumps(strip(data), indent=1, ensure_ascii=False)


def na(model: str, step: str, why: str) -> Cell:
    return Cell(model, step, "n/a", sentence=why)


# --------------------------------------------------------------------------- the steps


class Matrix:
    def __init__(self, cli: list, work: Path, timeout: float, separately: bool, bench_count: int) -> None:
        self.cli, self.work, self.timeout, self.separately, self.bench_count = cli, work, timeout, separately, bench_count
        self.cells: list[Cell] = []
        self.devices = self._devices()
        self.targets = self._targets()

    def _devices(self) -> list[str]:
        r = run([*self.cli, "validate", "--list-devices", "--json"], self.timeout)
        if r.exit_code != 0:
            raise SystemExit(f"edgewizard validate --list-devices failed (exit {r.exit_code}): {r.stderr.strip()}")
        return [d["name"] for d in json.loads(r.stdout)]

    @staticmethod
    def _targets() -> list[str]:
        try:
            from edgewizard.core.convert.base import targets
        except ImportError:
            return list(ALL_TARGETS)
        names = list(targets())
        unknown = [t for t in names if t not in ALL_TARGETS]
        if unknown:  # a new target is run on every model rather than left out silently
            print(f"note: targets not in this script's table, run on every model: {', '.join(unknown)}", file=sys.stderr)
        return names

    def add(self, cell: Cell) -> Cell:
        self.cells.append(cell)
        mark = "" if cell.verdict in ("ok", "n/a") else f": {(cell.why or cell.sentence)[:160]}"
        print(f"  {cell.step:<24} {cell.text():<14} {cell.seconds:6.1f} s{mark}", file=sys.stderr, flush=True)
        return cell

    def model(self, entry: corpus.Entry, steps: list[str]) -> None:
        print(f"== {entry.id} ({entry.requirement}, {entry.kind})", file=sys.stderr, flush=True)
        try:
            path = corpus.ensure(entry)
        except (corpus.CorpusError, OSError, subprocess.SubprocessError) as exc:
            self.add(Cell(entry.id, "fetch", "BAD", why=f"the corpus could not provide the model: {exc}"))
            return
        shapes = [a for s in entry.shape for a in ("--shape", s)]
        out = self.work / entry.id
        if "inspect" in steps:
            self.add(judge(entry.id, "inspect", run([*self.cli, "inspect", path], self.timeout)))
        if "validate" in steps:
            self.validate(entry, path, shapes)
        targets = [t for t in self.targets if t in TARGETS_BY_KIND[entry.kind] or t not in ALL_TARGETS]
        if "convert" in steps:
            self.convert(entry, path, shapes, targets, out)
        folders = sorted({p.parent for p in out.rglob("manifest.json")}) if out.exists() else []
        artifacts = [p for f in folders for p in sorted(f.iterdir()) if p.suffix in (".tflite", ".xml")]
        if "verify" in steps:
            if folders:
                r = run([*self.cli, "verify", path, *folders, "--json"], self.timeout)
                cell = judge(entry.id, "verify", r)
                cell.detail = _verify_detail(r.stdout)
                self.add(cell)
            else:
                self.add(na(entry.id, "verify", "nothing was converted"))
        if "bench" in steps:
            self.bench(entry, path, artifacts)

    def validate(self, entry: corpus.Entry, path: Path, shapes: list[str]) -> None:
        devices = list(self.devices)
        if not self.separately:
            r = run([*self.cli, "validate", path, *[a for d in devices for a in ("-d", d)], *shapes, "--json"], self.timeout)
            reports = _reports(r.stdout)
            if reports is None and _json_error(r.stdout) and r.exit_code in (2, 3):
                # The model itself failed (load, cut) before any device was judged: the same answer for each.
                for d in devices:
                    cell = judge(entry.id, f"validate:{d}", r)
                    cell.via = "combined"
                    self.add(cell)
                return
            if r.exit_code == 0 and reports is not None and judge(entry.id, "validate", r, scanned=r.stderr).verdict == "ok":
                for report in reports:
                    if report.get("status") in ("checked", "not_checked"):
                        cell = judge(entry.id, f"validate:{report['device']}", r,
                                     scanned=_without_details(json.dumps(report, ensure_ascii=False)) + "\n" + r.stderr)
                        cell.via = "combined"
                        self.add(_not_checked(cell, report))
                        devices.remove(report["device"])
        for d in devices:
            r = run([*self.cli, "validate", path, "-d", d, *shapes, "--json"], self.timeout)
            report = (_reports(r.stdout) or [{}])[0]
            self.add(_not_checked(judge(entry.id, f"validate:{d}", r, said=report.get("summary", "")), report))

    def convert(self, entry: corpus.Entry, path: Path, shapes: list[str], targets: list[str], out: Path) -> None:
        for t in self.targets:
            if t not in targets:
                self.add(na(entry.id, f"convert:{t}", f"{t} does not convert from {entry.kind}"))
        todo = list(targets)
        together = [t for t in todo if t != "edgetpu"]
        if not self.separately and len(together) > 1:
            folder = out / "all"
            r = run(self._convert_argv(entry, path, shapes, together, folder), self.timeout)
            whole = judge(entry.id, "convert", r)
            # A BAD combined call is not pinned on any target: each runs again on its own. After a plain
            # sentence, the targets the manifest records as finished are ok; the rest run on their own.
            done = _finished(folder) if whole.verdict != "BAD" else set()
            if not done:  # what a broken call kept would be verified twice beside the targets' own folders
                shutil.rmtree(folder, ignore_errors=True)
            for t in together:
                if t in done:
                    self.add(Cell(entry.id, f"convert:{t}", "ok", exit_code=0, argv=r.argv, seconds=round(r.seconds, 1),
                                  stdout=r.stdout, stderr=r.stderr, via="combined"))
                    todo.remove(t)
        for t in todo:
            folder = out / t
            self.add(judge(entry.id, f"convert:{t}", run(self._convert_argv(entry, path, shapes, [t], folder), self.timeout)))

    def _convert_argv(self, entry, path, shapes, targets, folder) -> list:
        calib = ["--calib", entry.calib] if CALIBRATED & set(targets) else []
        return [*self.cli, "convert", path, *[a for t in targets for a in ("-t", t)], "-o", folder, *shapes, *calib, "--force"]

    def bench(self, entry: corpus.Entry, path: Path, artifacts: list[Path]) -> None:
        original = [path] if path.suffix in (".tflite", ".onnx") else []
        choices = {
            # float first: it is the artifact every runtime takes; the source itself when it is a .tflite
            "tflite:CPU": sorted((p for p in artifacts if p.suffix == ".tflite" and "_edgetpu" not in p.name),
                                 key=lambda p: ("_float" not in p.name, p.name)) + [p for p in original if p.suffix == ".tflite"],
            "openvino:CPU": sorted((p for p in artifacts if p.suffix == ".xml"), key=lambda p: ("_fp32" not in p.name, p.name))
            + original,
        }
        for device in BENCH_DEVICES:
            files = choices.get(device) or []
            if not files:
                self.add(na(entry.id, f"bench:{device}", "no model in a format this device runs"))
                continue
            r = run([*self.cli, "bench", files[0], "-d", device, "-n", self.bench_count, "--warmup", 3, "--json"],
                    self.timeout)
            cell = judge(entry.id, f"bench:{device}", r)
            cell.via = files[0].name
            cell.detail = _bench_detail(r.stdout, files[0].name)
            self.add(cell)


def _reports(stdout: str) -> Optional[list]:
    try:
        data = json.loads(stdout)
    except ValueError:
        return None
    return data.get("reports") if isinstance(data, dict) else None


def _verify_detail(stdout: str) -> str:
    try:
        artifacts = json.loads(stdout).get("artifacts") or []
    except (ValueError, AttributeError):
        return ""
    parts = []
    for a in artifacts:
        text = f"{a.get('file')} {a.get('status')}"
        if a.get("status") == "skipped":
            text += f" ({' '.join(a.get('notes') or [])})"
        elif a.get("status") == "flagged":
            text += f" ({'; '.join(sorted({f.get('kind', '?') for f in a.get('flags') or []}))})"
        parts.append(text)
    return ", ".join(parts)


def _bench_detail(stdout: str, name: str) -> str:
    try:
        b = json.loads(stdout)
        return f"{name}: median {b['median_ms']:.3f} ms over {b['count']} runs" + (f", {b['precision']}" if b.get("precision") else "")
    except (ValueError, KeyError, TypeError):
        return ""


def _not_checked(cell: Cell, report: dict) -> Cell:
    """A device that was not checked answers with a sentence and exit 0, by design (core/validate/report.py,
    NOT_CHECKED): shown as that sentence, not as ok."""
    if cell.verdict == "ok" and report.get("status") == "not_checked":
        cell.verdict, cell.sentence = "sentence", report.get("summary", "")
    return cell


def _json_error(stdout: str) -> bool:
    try:
        return "error" in json.loads(stdout)
    except (ValueError, TypeError):
        return False


def _finished(folder: Path) -> set:
    """Targets the manifest in folder records as written (edgetpu's not_compiled is its own cell)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {a["target"] for a in manifest.get("artifacts", []) if a.get("status") in ("ok", "compiled") and a.get("files")}


# --------------------------------------------------------------------------- output


def markdown(cells: list[Cell], models: list[str]) -> str:
    """model x step table; each distinct sentence once, as a numbered note under the table."""
    steps: list[str] = []
    for c in cells:
        if c.step not in steps:
            steps.append(c.step)
    notes: dict[str, int] = {}
    grid: dict[tuple[str, str], str] = {}
    for c in cells:
        note = None
        if c.verdict in ("sentence", "BAD"):
            said = c.sentence.replace("\n", " / ") or "(no sentence)"
            note = notes.setdefault(said if c.verdict == "sentence" else f"{said} -- BAD: {c.why}", len(notes) + 1)
        grid[(c.model, c.step)] = c.text(note)
    lines = ["| model | " + " | ".join(steps) + " |", "|---|" + "---|" * len(steps)]
    for m in models:
        lines.append(f"| {m} | " + " | ".join(grid.get((m, s), "") for s in steps) + " |")
    if notes:
        lines.append("")
        lines += [f"[{n}] {s}" for s, n in notes.items()]
    details = [f"- {c.model} {c.step}: {c.detail}" for c in cells if c.detail]
    if details:
        lines += ["", "What the ok cells found:", *details]
    return "\n".join(lines)


def cli_command(given: Optional[str]) -> list:
    if given:
        return [given]
    script = Path(sys.executable).with_name("edgewizard")  # the console script of this interpreter's install
    return [str(script)] if script.exists() else [sys.executable, "-m", "edgewizard.gui.launch"]


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", default=[], metavar="MODEL_ID", help="only this model (repeatable)")
    ap.add_argument("--steps", default=",".join(STEPS), help=f"comma list of steps (default {','.join(STEPS)})")
    ap.add_argument("--json", metavar="FILE", help="write every cell with its command, output and time to FILE")
    ap.add_argument("--timeout", type=float, default=600, metavar="S", help="limit of one CLI call (default 600 s)")
    ap.add_argument("--bench-count", type=int, default=30, metavar="N", help="inferences per bench (default 30)")
    ap.add_argument("--separately", action="store_true", help="run every device and target in a call of its own")
    ap.add_argument("--edgewizard", metavar="PATH", help="the edgewizard command (default: the one beside this Python)")
    ap.add_argument("--work", metavar="DIR", help="keep the converted models in DIR (default: a temporary folder)")
    args = ap.parse_args(argv)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    wrong = [s for s in steps if s not in STEPS]
    if wrong:
        ap.error(f"unknown step(s) {', '.join(wrong)}; choose from {', '.join(STEPS)}")
    entries = corpus.load()
    unknown = [i for i in args.only if i not in {e.id for e in entries}]
    if unknown:
        ap.error(f"no model {', '.join(unknown)} in corpus.toml")
    entries = [e for e in entries if not args.only or e.id in args.only]
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="edgewizard-matrix-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        matrix = Matrix(cli_command(args.edgewizard), work, args.timeout, args.separately, args.bench_count)
        for e in entries:
            matrix.model(e, steps)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    wall = time.monotonic() - started
    bad = [c for c in matrix.cells if c.verdict == "BAD"]
    print(markdown(matrix.cells, [e.id for e in entries]))
    print(f"\n{len(matrix.cells)} cells, {len(bad)} BAD, {wall / 60:.1f} min wall time.")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "wall_seconds": round(wall, 1), "models": [asdict(e) for e in entries], "devices": matrix.devices,
            "targets": matrix.targets, "cells": [asdict(c) for c in matrix.cells]}, indent=2, ensure_ascii=False, default=str),
            encoding="utf-8")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
