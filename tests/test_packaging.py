"""`pip install .` gives edgewizard.core/.gui/.resources (no bare core/gui) and the installed
package finds its resources through importlib.resources, not paths into the repository."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr
    return next(out.glob("edgewizard-*.whl"))


def test_wheel_holds_only_the_edgewizard_namespace(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.startswith("edgewizard-")}
    assert tops == {"edgewizard"}
    assert "edgewizard/core/jobs.py" in names
    assert "edgewizard/gui/launch.py" in names
    assert "edgewizard/resources/samples/digits_cnn.keras" in names
    assert not any(n.startswith("tests/") for n in names)


def test_installed_package_finds_its_resources(wheel, tmp_path):
    target = tmp_path / "site"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
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
