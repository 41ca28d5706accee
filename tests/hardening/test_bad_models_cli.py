"""Every bad model of the corpus through `edgewizard inspect` and `edgewizard convert`: the exit code,
one sentence naming the file and the problem, no traceback, nothing written anywhere, under 60 s
and 2 GB. The CLI runs in this process with one warm worker kept across cases (TensorFlow is
imported once); the worker's peak memory is reset and read around each case."""
from __future__ import annotations

import json
import re
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

from edgewizard.core import jobs, tempdirs
from edgewizard.core.cli import main
from tests.hardening.corpus import BY_ID, IDS, bad_models  # noqa: F401 (bad_models is a fixture)

LIMIT_SECONDS = 60
LIMIT_BYTES = 2 * 2**30
FIGURES: dict[str, dict] = {}  # case id -> what was measured, for the closing table


class KeptWarm:
    """Test double for the CLI's JobRunner lifecycle (our own code): each command gets the same
    warm runner, and its shutdown leaves the worker running for the next case."""

    def __init__(self, runner: jobs.JobRunner) -> None:
        self._runner = runner

    def __getattr__(self, name):
        return getattr(self._runner, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def shutdown(self) -> None:
        pass


@pytest.fixture(scope="module")
def private_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("private_tmp")


@pytest.fixture(scope="module")
def runner(private_tmp):
    r = jobs.JobRunner()
    r.run("edgewizard.core.jobs:_import_heavy")  # the session's temp folders exist before any snapshot
    yield r
    r.shutdown()
    table = os.environ.get("EDGEWIZARD_CORPUS_TABLE")
    if table:  # the figures behind the closing table
        Path(table).write_text(json.dumps(FIGURES, indent=1), encoding="utf-8")


def snapshot(*folders: Path) -> dict:
    out = {}
    for folder in folders:
        for p in sorted(folder.rglob("*")):
            st = p.lstat()
            out[str(p)] = (st.st_size, st.st_mtime_ns) if p.is_file() else "dir"
    return out


def peak_rss(pid: int | None) -> int:
    """The worker's peak resident memory since the last reset_peak (VmHWM), in bytes."""
    if pid is None:
        return 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def reset_peak(pid: int | None) -> None:
    if pid is not None:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # "5" resets VmHWM to the current RSS


@pytest.fixture
def cli(runner, private_tmp, tmp_path, monkeypatch, capsys):
    """Run one `edgewizard ...` command line in this process: (exit code, stderr, seconds, peak bytes)."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setattr(jobs, "JobRunner", lambda *a, **k: KeptWarm(runner))
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))

    def run(*argv, watch: tuple[Path, ...] = ()):
        folders = (workdir, private_tmp, tempdirs.session(), *watch)  # the session holds the worker's temp folder
        before = snapshot(*folders)
        reset_peak(runner.worker_pid)
        capsys.readouterr()
        started = time.monotonic()
        code = main([str(a) for a in argv])
        seconds = time.monotonic() - started
        peak = peak_rss(runner.worker_pid)
        err = capsys.readouterr().err
        assert snapshot(*folders) == before, f"{argv[0]} wrote files"
        return code, err, seconds, peak

    return run


def check_sentence(err: str, case) -> str:
    """The error is one line, `edgewizard: ...`, naming the file and saying the problem."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("edgewizard: ") and "Traceback" not in err, err
    assert case.path.name in line, line
    assert case.word.lower() in line.lower(), (case.word, line)
    # One sentence: once the paths (which hold dots) are taken out, no full stop is followed by a new one.
    text = line[len("edgewizard: "):]
    for p in sorted({str(case.path), str(case.path.parent), str(case.path.with_suffix(""))}, key=len, reverse=True):
        text = text.replace(p, "PATH")
    assert text.endswith(".") and not re.search(r"[.!?]\s+[A-Z]", text[:-1]), line
    return line


def record(case_id: str, step: str, code: int, err: str, seconds: float, peak: int) -> None:
    FIGURES.setdefault(case_id, {})[step] = {"exit": code, "message": err.strip(), "seconds": round(seconds, 2),
                                             "peak_mb": round(peak / 2**20)}


@pytest.mark.parametrize("case_id", IDS)
def test_inspect_refuses_with_one_sentence(case_id, bad_models, cli):
    case = bad_models[case_id]
    code, err, seconds, peak = cli("inspect", case.path, *case.extra, watch=(case.path.parent,))
    record(case_id, "inspect", code, err, seconds, peak)
    assert code == case.inspect_code, err
    if code:
        check_sentence(err, case)
    assert seconds < LIMIT_SECONDS and peak < LIMIT_BYTES


@pytest.mark.parametrize("case_id", IDS)
def test_convert_refuses_and_creates_no_output_folder(case_id, bad_models, cli, tmp_path):
    case = bad_models[case_id]
    out = tmp_path / "out"
    code, err, seconds, peak = cli("convert", case.path, "-t", "tflite-float", "-o", out, *case.extra,
                                   watch=(case.path.parent,))
    record(case_id, "convert", code, err, seconds, peak)
    assert code == case.code, err
    check_sentence(err, case)
    assert not out.exists()
    assert seconds < LIMIT_SECONDS and peak < LIMIT_BYTES


@pytest.mark.parametrize("case_id", ["truncated.keras", "zip-bomb.keras", "cycle.pb", "truncated-checkpoint-data.meta"])
def test_convert_leaves_an_existing_output_folder_as_it_was(case_id, bad_models, cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier result.txt").write_text("keep me")
    code, err, _, _ = cli("convert", bad_models[case_id].path, "-t", "tflite-float", "-o", out, watch=(out,))
    assert code == 2, err


def test_a_lambda_model_loads_and_converts_when_unsafe_loading_is_allowed(bad_models, cli, tmp_path):
    path = bad_models["lambda.keras"].path
    code, err, _, _ = cli("inspect", path, "--allow-unsafe")
    assert code == 0, err
    out = tmp_path / "out"
    code, err, _, _ = cli("convert", path, "--allow-unsafe", "-t", "tflite-float", "-o", out)
    assert code == 0, err
    assert (out / "with_lambda_float.tflite").is_file()


# The TensorFlow graphs pay TensorFlow's import in a fresh process (~10 s each here): CI only. The
# in-process tests above measure the same loads' peak memory in the warm worker.
MEASURED_FRESH = [pytest.param(i, marks=pytest.mark.longrun) if i.endswith(".pb") else i for i in IDS if BY_ID[i].heavy]


@pytest.mark.parametrize("case_id", MEASURED_FRESH)
def test_heavy_cases_stay_under_2_gb_in_a_fresh_process(case_id, bad_models, tmp_path):
    """A fresh `edgewizard inspect` (CLI process and worker) measured from outside: the peak RSS of
    the largest process in the tree (RUSAGE_CHILDREN of a wrapper that runs nothing else)."""
    import subprocess

    exe = str(Path(sys.executable).with_name("edgewizard"))
    wrapper = ("import resource, subprocess, sys, time; t = time.monotonic(); "
               "r = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=120); "
               "print(r.returncode, time.monotonic() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
               "print(r.stderr, end='')")
    env = dict(os.environ, TMPDIR=str(tmp_path))
    r = subprocess.run([sys.executable, "-c", wrapper, exe, "inspect", str(bad_models[case_id].path)],
                       capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)
    first, _, err = r.stdout.partition("\n")
    code, seconds, maxrss_kb = first.split()
    FIGURES.setdefault(case_id, {})["fresh"] = {"exit": int(code), "seconds": round(float(seconds), 2),
                                                "peak_mb": int(maxrss_kb) // 1024}
    assert int(code) == 2, err
    assert bad_models[case_id].path.name in err
    assert float(seconds) < LIMIT_SECONDS
    assert int(maxrss_kb) * 1024 < LIMIT_BYTES
    # The per-user parent of EdgeWizard's private temp folders may stay; the session folder may not.
    left = [p for p in tmp_path.rglob("*") if not (p.name.startswith("edgewizard-") and p.parent == tmp_path)]
    assert left == []
