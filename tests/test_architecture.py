"""The house rules that hold the design together, checked rather than hoped for."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "superqt", "qtpy")
HEAVY = ("tensorflow", "keras", "openvino", "ai_edge_litert", "onnx", "tflite_runtime")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "core").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_never_imports_qt_or_gui(path):
    imported = _imports(path)
    assert not imported & set(QT_MODULES), f"{path} imports Qt"
    text = path.read_text(encoding="utf-8")
    assert "edgewizard.gui" not in text and "from ..gui" not in text and "from ...gui" not in text


def _fresh_modules(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_core_and_gui_pulls_in_no_heavy_library():
    mods = _fresh_modules(
        "import edgewizard.gui, edgewizard.gui.launch, edgewizard.core.jobs, edgewizard.core.cli, "
        "edgewizard.core.convert.base, edgewizard.core.convert.run, edgewizard.core.loaders, edgewizard.core.cut, "
        "edgewizard.core.calibrate, edgewizard.core.steps, edgewizard.core.verify, edgewizard.core.report, "
        "edgewizard.core.privacy, edgewizard.core.environment, edgewizard.core.validate.run, "
        "edgewizard.core.validate.base, edgewizard.core.bench.runner, edgewizard.core.bench.devices, "
        "edgewizard.core.bench.result\n"
        "from edgewizard.core.validate.base import device_choices; device_choices()\n"
        "from edgewizard.core.cli import build_parser; build_parser()\n"
        "from edgewizard.core.convert.base import targets; targets()"
    )
    assert not {m.split(".")[0] for m in mods} & set(HEAVY)


def test_running_a_job_keeps_tensorflow_out_of_the_calling_process():
    mods = _fresh_modules(
        "from edgewizard.core.jobs import JobRunner\n"
        "from edgewizard.core.samples import sample_model_path\n"
        "with JobRunner() as r:\n"
        "    info = r.run('edgewizard.core.steps:inspect', str(sample_model_path()))\n"
        "assert info.format == 'keras', info.format"
    )
    assert not {m.split(".")[0] for m in mods} & set(HEAVY)


def test_the_pypi_package_named_pycoral_is_never_a_dependency():
    text = (ROOT / "pyproject.toml").read_text()
    deps = text.split("[project.optional-dependencies]")[0] + text.split("[project.optional-dependencies]")[1].split("[project.scripts]")[0]
    lines = [ln.strip().strip('",').lower() for ln in deps.splitlines() if ln.strip().startswith('"')]
    assert not any(ln.startswith("pycoral") for ln in lines)


PAGES = sorted([*(ROOT / "gui" / "pages").glob("*.py"), *(ROOT / "gui" / "widgets").glob("*.py")])


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_page_follows_its_own_job_not_a_broadcast(path):
    """Pages connect to the Job they started (gui/jobs_qt.py), never to the controller's observer
    signals filtered by a function name, and never ask which step is 'current'."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        # jobs.finished.connect / jobs.failed.connect / jobs.progress.connect / jobs.log.connect
        if (isinstance(node, ast.Attribute) and node.attr in ("finished", "failed", "progress", "log", "current")
                and isinstance(node.value, ast.Attribute) and node.value.attr == "jobs"):
            found.append(f"line {node.lineno}: jobs.{node.attr}")
    assert not found, found


@pytest.mark.parametrize("path", sorted([*(ROOT / "core").rglob("*.py"), *(ROOT / "gui").rglob("*.py")]),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_500_lines(path):
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= 500, f"{path.name} has {lines} lines; split it by what it does"
