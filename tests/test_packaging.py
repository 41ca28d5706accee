"""`pip install .` gives edgewizard.core/.gui/.resources (no bare core/gui), with every subpackage and
resource file of the source tree, and the installed package finds its resources through
importlib.resources, not paths into the repository. The wheel, installed alone in a fresh venv,
passes `edgewizard --self-test` (the editable install and PyInstaller once hid a missing gui.pages)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = ("core", "gui", "resources")  # install as edgewizard.<name>
# Made by builds, editors and test runs, never part of the project.
NOT_SOURCE = ("__pycache__", "*.pyc", "*.pyo", ".*", "*.egg-info", "build", "dist", ".venv", "out")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    # Built from a copy: setuptools reuses a build/ folder in the tree it builds, and files left there
    # by an earlier build (a module since deleted) would land in the wheel.
    src = tmp_path_factory.mktemp("src") / "edgewizard"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*NOT_SOURCE, "packaging"))
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr
    return next(out.glob("edgewizard-*.whl"))


def source_files() -> set[str]:
    """Every file of core/, gui/ and resources/ as the wheel should name it (edgewizard/...)."""
    found = set()
    for top in PACKAGED:
        for path in (ROOT / top).rglob("*"):
            rel = path.relative_to(ROOT)
            if path.is_file() and not any(_ignored(part) for part in rel.parts):
                found.add("edgewizard/" + rel.as_posix())
    return found


def _ignored(part: str) -> bool:
    from fnmatch import fnmatch

    return any(fnmatch(part, pattern) for pattern in NOT_SOURCE)


def test_wheel_holds_only_the_edgewizard_namespace(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.startswith("edgewizard-")}
    assert tops == {"edgewizard"}
    assert "edgewizard/__init__.py" not in names  # a namespace package: other distributions may add to it
    assert "edgewizard/core/jobs.py" in names
    assert "edgewizard/gui/launch.py" in names
    assert "edgewizard/resources/samples/digits_cnn.keras" in names
    assert not any(n.startswith(("tests/", "edgewizard/tests/")) for n in names)


def test_wheel_has_every_package_and_resource_of_the_source_tree(wheel):
    """Compared with the tree, not with a list: a new subpackage or resource kind cannot be forgotten."""
    names = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("edgewizard/")}
    expected = source_files()
    assert "edgewizard/gui/pages/__init__.py" in expected and "edgewizard/gui/widgets/__init__.py" in expected
    assert sorted(expected - names) == [], "files of the source tree missing from the wheel"
    assert sorted(names - expected) == [], "files in the wheel that the source tree does not have"


def test_installed_package_finds_its_resources(wheel, tmp_path):
    target = tmp_path / "site"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr
    code = (
        "import edgewizard.resources as r, edgewizard.core.samples as s;"
        "p = s.sample_model_path(); print(p); assert p.is_file(), p;"
        "assert (r.files() / 'samples' / 'digits_calib.npz').is_file()"
    )
    # Run from an empty folder, with the installed copy first and the repository nowhere on the path.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    r = subprocess.run([sys.executable, "-S", "-c", "import site; site.main();" + code], capture_output=True, text=True,
                       cwd=tmp_path, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()).is_relative_to(target), r.stdout


@pytest.fixture(scope="module")
def fresh_venv(wheel, tmp_path_factory):
    """A new venv holding only the wheel. Its dependencies (gigabytes: TensorFlow, OpenVINO, Qt) come
    from this test's environment through a .pth line: a path added that way is not a site dir, so the
    editable install's own .pth and import finder there stay inactive."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    return venv, site


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


@pytest.mark.slow
def test_fresh_venv_imports_edgewizard_from_the_wheel(fresh_venv, tmp_path):
    venv, site = fresh_venv
    code = (
        "import json, sys, edgewizard.gui.pages, edgewizard.gui.widgets, edgewizard.core.cli, edgewizard.resources\n"
        "mods = ('edgewizard.gui.pages', 'edgewizard.gui.widgets', 'edgewizard.core.cli', 'edgewizard.resources')\n"
        "print(json.dumps({'files': {m: sys.modules[m].__file__ for m in mods},\n"
        "    'editable': [type(f).__module__ for f in sys.meta_path if 'editable' in type(f).__module__]}))"
    )
    r = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, cwd=tmp_path,
                       env=clean_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    found = json.loads(r.stdout)
    assert found["editable"] == []
    for module, file in found["files"].items():
        assert Path(file).is_relative_to(site), f"{module} came from {file}, not the fresh venv"
        assert not Path(file).resolve().is_relative_to(ROOT), f"{module} came from the repository"


@pytest.mark.slow
def test_fresh_venv_passes_the_self_test(fresh_venv, tmp_path):
    """The installed `edgewizard` script: window, worker, conversion, verify, bench agent, report."""
    venv, _ = fresh_venv
    r = subprocess.run([str(venv / "bin" / "edgewizard"), "--self-test", "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, cwd=tmp_path, env=clean_env(), timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert "self-test: passed" in r.stdout
    assert (tmp_path / "out" / "report.html").is_file()
