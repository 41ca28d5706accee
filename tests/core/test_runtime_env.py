"""The NCS2 runtime setup's core (core/bench/runtime_env.py): real interpreters found and judged, the
"nothing suitable" path with a real Python 3.11, cancel and failure leaving nothing half-made, and (long
run) a real OpenVINO 2022.3 environment made from the package index."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from edgewizard.core.bench import runtime_env as rt
from edgewizard.core.errors import Cancelled, MissingDependency, UserError

THIS_PYTHON = os.path.realpath(sys.executable)  # the test run's own Python (3.11 or newer): a real "too new" one


def _found() -> list[rt.Interpreter]:
    return rt.survey()


@pytest.fixture(scope="module")
def machine_pythons():
    return _found()


@pytest.fixture(scope="module")
def suitable_python(machine_pythons):
    """A Python 3.8-3.10 of this machine that can make environments (pyenv's 3.10 here), preferring 3.10."""
    ok = [i for i in machine_pythons if i.can_make_environment]
    if not ok:
        pytest.skip("no Python 3.8-3.10 that can make environments is installed on this machine")
    return ok[0]


def _index_reachable(python: str) -> bool:
    """The package index answers ``python``'s pip with openvino 2022.3 among the versions for it (with the
    machine's own pip settings: index, proxy)."""
    try:
        out = subprocess.run([python, "-m", "pip", "index", "versions", "openvino"], capture_output=True,
                             text=True, timeout=90, env=rt.child_env())
    except subprocess.TimeoutExpired:
        return False
    return out.returncode == 0 and "2022.3" in out.stdout


def test_python_3_10_is_suitable_and_3_11_is_not_with_the_reason(machine_pythons):
    by_minor = {i.version[:2]: i for i in machine_pythons if i.version}
    if (3, 10) not in by_minor:
        pytest.skip("no Python 3.10 on this machine (pyenv's 3.10 is where the check is meant to look)")
    py310 = by_minor[(3, 10)]
    assert py310.verdict == rt.Verdict.SUITABLE and py310.can_make_environment and not py310.usable
    assert py310.bits == 64 and py310.venv and "suitable" in py310.reason
    py311 = rt.check_interpreter(THIS_PYTHON) if sys.version_info[:2] == (3, 11) else by_minor.get((3, 11))
    if py311 is None:
        pytest.skip("no Python 3.11 on this machine")
    assert py311.verdict == rt.Verdict.TOO_NEW and not py311.can_make_environment and not py311.usable
    assert "Python 3.11 is too new" in py311.reason and "3.8, 3.9 and 3.10" in py311.reason


def test_the_survey_lists_each_real_python_once_best_first(machine_pythons):
    same = [rt.python_identity(i.path) for i in machine_pythons]
    assert len(same) == len(set(same)), "python3 and python3.x that are the same file are listed once"
    order = [rt.Verdict.ORDER.index(i.verdict) for i in machine_pythons]
    assert order == sorted(order)
    assert all(i.reason for i in machine_pythons)


def test_old_pythons_are_judged_too_old_not_broken(machine_pythons):
    old = [i for i in machine_pythons if i.version and i.version[:2] < (3, 8)]
    if not old:
        pytest.skip("no Python older than 3.8 on this machine")
    assert all(i.verdict == rt.Verdict.TOO_OLD and "too old" in i.reason for i in old)


def test_nothing_suitable_a_fake_named_python_3_11_alone(tmp_path):
    """Only a link called python3.10 to a real Python 3.11: its real version counts, and the advice is given."""
    if sys.version_info[:2] <= (3, 10):
        pytest.skip("the test run's own Python is 3.10 or older, so it cannot stand in for a too-new one")
    (tmp_path / "python3.10").symlink_to(THIS_PYTHON)
    found = rt.survey([tmp_path])
    assert len(found) == 1
    (only,) = found
    assert only.version[:2] == sys.version_info[:2] and only.verdict == rt.Verdict.TOO_NEW
    assert not any(i.usable or i.can_make_environment for i in found)
    advice = rt.no_suitable_advice()
    assert "No Python 3.8, 3.9 or 3.10 was found" in advice and "Look again" in advice
    assert "--" not in advice


def test_a_venv_is_a_python_of_its_own_beside_its_base(tmp_path):
    """A venv's python is a link to its base interpreter, yet it has its own packages: both are listed."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "python3").symlink_to(THIS_PYTHON)
    (base / "python3.99").symlink_to(THIS_PYTHON)
    subprocess.run([THIS_PYTHON, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True, timeout=120)
    found = rt.find_candidates([base, tmp_path / "venv" / "bin"])
    assert [Path(p).parent.name for p in found] == ["base", "bin"]


def test_an_empty_place_finds_nothing_and_a_missing_file_is_broken(tmp_path):
    assert rt.find_candidates([tmp_path]) == []
    gone = rt.check_interpreter(str(tmp_path / "python3.10"))
    assert gone.verdict == rt.Verdict.BROKEN and "no file" in gone.reason


def test_a_file_that_is_not_python_is_broken_not_a_crash(tmp_path):
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\necho hello\n")
    fake.chmod(0o755)
    (checked,) = rt.survey([tmp_path])
    assert checked.verdict == rt.Verdict.BROKEN and "not a Python" in checked.reason


@pytest.mark.parametrize("system, machine, words", [
    ("Windows", "AMD64", "python.org"), ("Darwin", "arm64", "python@3.10"), ("Linux", "aarch64", "no OpenVINO 2022.3"),
])
def test_advice_names_what_to_install_for_each_system(system, machine, words):
    assert words in rt.no_suitable_advice(system, machine)


def test_advice_for_debian_and_ubuntu():
    assert "deadsnakes" in rt.no_suitable_advice("Linux", "x86_64", "ubuntu")
    debian = rt.no_suitable_advice("Linux", "x86_64", "debian")
    assert "pyenv" in debian and "3.11" in debian


def test_the_private_environment_lives_in_the_platforms_app_data_folder(tmp_path):
    assert rt.default_env_dir("Linux", {}, tmp_path) == tmp_path / ".local/share/EdgeWizard/runtimes/openvino-2022.3"
    assert rt.default_env_dir("Linux", {"XDG_DATA_HOME": "/x/data"}, tmp_path) == Path("/x/data/EdgeWizard/runtimes/openvino-2022.3")
    assert rt.default_env_dir("Darwin", {}, tmp_path) == tmp_path / "Library/Application Support/EdgeWizard/runtimes/openvino-2022.3"
    assert rt.default_env_dir("Windows", {"LOCALAPPDATA": "/w/Local"}, tmp_path) == Path("/w/Local/EdgeWizard/runtimes/openvino-2022.3")
    assert rt.env_python(Path("/e"), "Windows") == Path("/e/Scripts/python.exe")
    assert rt.env_python(Path("/e"), "Linux") == Path("/e/bin/python")


def test_the_windows_launcher_list_is_read_in_both_of_its_formats():
    new = " -V:3.12 *        C:\\Users\\a b\\AppData\\Local\\Programs\\Python\\Python312\\python.exe\n" \
          " -V:3.10          C:\\Python310\\python.exe\n"
    old = " -3.9-64        C:\\Program Files\\Python39\\python.exe\n -2.7-32 *  C:\\Python27\\python.exe\n"
    assert [str(p) for p in rt.parse_py_launcher(new)] == [
        "C:\\Users\\a b\\AppData\\Local\\Programs\\Python\\Python312\\python.exe", "C:\\Python310\\python.exe"]
    assert [str(p) for p in rt.parse_py_launcher(old)] == ["C:\\Program Files\\Python39\\python.exe", "C:\\Python27\\python.exe"]


def test_creation_is_two_argument_lists(tmp_path):
    steps = rt.creation_steps("/usr/bin/python3.10", tmp_path / "env")
    assert steps[0].argv == ("/usr/bin/python3.10", "-m", "venv", str(tmp_path / "env"))
    assert steps[1].argv[:4] == (str(tmp_path / "env" / "bin" / "python"), "-m", "pip", "install")
    assert steps[1].argv[-1] == "openvino==2022.3.*" and "--only-binary=:all:" in steps[1].argv


def test_cancel_during_pip_removes_the_half_made_environment(suitable_python, tmp_path):
    dest = tmp_path / "runtimes" / "openvino-2022.3"
    seen: list[str] = []
    pip_said = threading.Event()

    def progress(fraction, message):
        seen.append(message)
        if fraction is None and any(m.startswith("Downloading and installing") for m in seen):
            pip_said.set()  # pip is running: it printed a line of its own

    with pytest.raises(Cancelled):
        rt.create_environment(suitable_python.path, dest, progress, cancelled=pip_said.is_set)
    assert "Making the private environment" in seen and pip_said.is_set()
    assert not dest.exists(), "a cancelled environment is removed"


def test_a_failed_install_removes_the_environment_and_says_why(tmp_path):
    """Python 3.11 makes the venv, then pip finds no openvino 2022.3 for it (or no index at all)."""
    if sys.version_info[:2] <= (3, 10):
        pytest.skip("needs a Python too new for openvino 2022.3; the test run's own one is not")
    dest = tmp_path / "env"
    with pytest.raises(MissingDependency) as err:
        rt.create_environment(THIS_PYTHON, dest)
    assert not dest.exists()
    assert ("no OpenVINO 2022.3 for this Python" in err.value.message
            or "package index could not be reached" in err.value.message), err.value.message
    assert "pip" in err.value.details and "openvino==2022.3.*" in err.value.details


def test_a_folder_that_is_not_an_environment_is_refused_and_left_alone(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError):
        rt.create_environment(THIS_PYTHON, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.longrun
def test_a_real_openvino_2022_3_environment_is_made(suitable_python, tmp_path):
    if not _index_reachable(suitable_python.path):
        pytest.skip("the package index is not reachable from this machine (pip could not list openvino's versions)")
    dest = tmp_path / "openvino-2022.3"
    lines: list[str] = []
    made = rt.create_environment(suitable_python.path, dest, lambda f, m: lines.append(m))
    assert made.usable and made.openvino.startswith("2022.3.") and "CPU" in made.devices
    assert made.path == str(rt.env_python(dest))
    out = subprocess.run([made.path, "-c", "import openvino.runtime as r, numpy; print(r.get_version(), numpy.__version__)"],
                         capture_output=True, text=True, timeout=120, env=rt.child_env())
    assert out.returncode == 0 and out.stdout.startswith("2022.3"), out.stderr
    assert int(out.stdout.split()[1].split(".")[0]) == 1, "openvino 2022.3 needs numpy 1.x"
    assert any("Successfully installed" in ln for ln in lines)
    # From the package index the stick's plugin is missing; the summary says so instead of promising the stick.
    assert made.verdict in (rt.Verdict.READY, rt.Verdict.HAS_OPENVINO)
    if not made.stick_plugin:
        assert "does not include the plugin" in rt.summary(made)
