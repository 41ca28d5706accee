"""`edgewizard convert A B C`: each model into OUTDIR/<name>/ by one warm worker; a bad model is
reported in one sentence while the others convert, and the exit code is the worst of them."""
from __future__ import annotations

import json
import shutil

import pytest

from edgewizard.core.cli import main
from edgewizard.core.cli.convert_cmd import worst_exit
from edgewizard.core.jobs import JobRunner
from edgewizard.core.samples import sample_model_path


@pytest.fixture
def models(tmp_path):
    """The sample twice (one under a name with a space and non-ASCII letters) and a text file named .keras."""
    folder = tmp_path / "in"
    folder.mkdir()
    first = shutil.copy(sample_model_path(), folder / "digits.keras")
    bad = folder / "broken.keras"
    bad.write_text("not a model\n")
    second = shutil.copy(sample_model_path(), folder / "zweites Modell 二.keras")
    return [str(first), str(bad), str(second)]


def test_a_bad_model_is_reported_and_the_others_convert_in_one_worker(models, tmp_path, capsys, monkeypatch):
    pids = []
    submit = JobRunner.submit

    def spy(self, func, *args, **kwargs):  # records which worker ran each model
        job = submit(self, func, *args, **kwargs)
        pids.append((func.rsplit(":", 1)[-1], self.worker_pid))
        return job

    monkeypatch.setattr(JobRunner, "submit", spy)
    out = tmp_path / "out"
    code = main(["convert", *models, "-t", "tflite-float", "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 2  # the broken file is the person's input
    # Warmed up once; the broken file is refused while its plan is made (its format), before it reaches the worker.
    assert [f for f, _ in pids] == ["_import_heavy", "convert_plan", "convert_plan"], pids
    assert len({pid for _, pid in pids}) == 1, pids
    assert sorted(p.name for p in out.iterdir()) == ["digits", "zweites Modell 二"]  # no folder for the bad one
    for stem in ("digits", "zweites Modell 二"):
        assert (out / stem / f"{stem}_float.tflite").stat().st_size > 10_000
        manifest = json.loads((out / stem / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["artifacts"][0]["status"] == "ok" and manifest["source"]["path"].endswith(f"{stem}.keras")
    errors = [ln for ln in captured.err.splitlines() if ln.startswith("edgewizard:")]
    # One sentence naming the file (its wording is the loader's, tested with the bad-input corpus).
    assert len(errors) == 1 and errors[0].startswith(f"edgewizard: [2/3] {models[1]} ") and errors[0].endswith("."), errors
    lines = captured.out.splitlines()
    assert [ln for ln in lines if ln.startswith("[")] == [f"[{i}/3] {m} -> {out / s}" for i, (m, s) in
                                                           enumerate(zip(models, ("digits", "broken", "zweites Modell 二")), 1)]
    assert lines[-1] == f"3 models into {out}: 2 converted, 1 failed (broken.keras)."


def test_json_lists_each_model_with_its_status(models, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["convert", models[1], str(tmp_path / "missing.h5"), "-t", "tflite-float", "-o", str(out), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 2 and report["converted"] == 0 and report["failed"] == 2
    assert [e["status"] for e in report["models"]] == ["failed", "failed"]
    assert "missing.h5" in report["models"][1]["error"]
    assert all("error_id" in e for e in report["models"])  # the doctor's id where it knew the message, else null
    assert not out.exists()  # nothing converted: not even the folder is left


def test_a_clash_of_names_is_refused_before_any_work(tmp_path, capsys):
    a, b = tmp_path / "a" / "net.keras", tmp_path / "b" / "NET.h5"  # one folder on Windows and macOS
    code = main(["convert", str(a), str(b), "-t", "tflite-float", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == (f"edgewizard: {a} and {b} would both convert into {tmp_path / 'out' / 'NET'}; "
                                 "rename one of them or convert them in separate calls.")
    assert not (tmp_path / "out").exists()


def test_name_is_for_one_model_only(tmp_path, capsys):
    code = main(["convert", "a.keras", "b.keras", "-t", "tflite-float", "-o", str(tmp_path), "--name", "x"])
    assert code == 2 and "--name sets the file names of one model" in capsys.readouterr().err


def test_the_exit_code_is_the_worst_of_the_models():
    assert worst_exit([0, 0]) == 0 and worst_exit([]) == 0
    assert worst_exit([0, 2, 0]) == 2
    assert worst_exit([2, 3, 0]) == 3  # a missing tool outranks a bad input
    assert worst_exit([3, 1, 2]) == 1  # our bug outranks everything
