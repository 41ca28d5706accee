"""The NCS2 runtime from Intel's own OpenVINO 2022.3 folder (core/bench/runtime_archive.py): the folder check
refuses what is not that folder in one plain sentence; the launcher script, made for folders laid out like
Intel's (directories only: no file pretends to be OpenVINO), really runs a real Python with setupvars'
variables and the arguments untouched; the bench agent's device probe runs through it; a cancel leaves
nothing; and (long run) the whole route with a real archive named by EDGEWIZARD_OPENVINO_2022_ARCHIVE."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from edgewizard.core.bench import runtime_archive as ra
from edgewizard.core.bench import runtime_env as rt
from edgewizard.core.bench.devices import discover
from edgewizard.core.bench.launch import Where
from edgewizard.core.bench.runner import BenchRequest, BenchRun
from edgewizard.core.errors import Cancelled, MissingDependency, UserError

THIS_PYTHON = sys.executable
MINOR = sys.version_info[:2]
NAME = "l_openvino_toolkit_ubuntu20_2022.3.1.9227.cf2c7da5689_x86_64"
posix_only = pytest.mark.skipif(os.name != "posix", reason="the launcher tested here is the POSIX sh one")


def tree(root: Path, pythons=((3, 8), (3, 9), (3, 10)), arch="intel64") -> Path:
    """Directories laid out like Intel's unpacked OpenVINO folder; nothing in them."""
    for sub in (f"runtime/lib/{arch}", "runtime/3rdparty/tbb/lib", "runtime/cmake", "python/python3"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for a, b in pythons:
        (root / "python" / f"python{a}.{b}" / "openvino").mkdir(parents=True, exist_ok=True)
    return root


def marked(root: Path, name: str = "setupvars.sh") -> Path:
    """The folder check looks for setupvars by name; a one-line text file stands for it (nothing runs it)."""
    (root / name).write_text("# stands for Intel's setupvars in a folder-check test\n")
    return root


# --- the folder check ---------------------------------------------------------------------------------------

def _refusal(folder, **kw) -> str:
    with pytest.raises(UserError) as err:
        ra.inspect_archive(folder, **kw)
    sentence = err.value.message
    assert "--" not in sentence and sentence.count(". ") <= 2, sentence
    return sentence


def test_an_ordinary_folder_is_refused_with_what_to_choose(tmp_path):
    (tmp_path / "holiday.jpg").write_bytes(b"\xff\xd8")
    sentence = _refusal(tmp_path)
    assert "is not Intel's OpenVINO 2022.3 folder" in sentence and "setupvars" in sentence
    assert "l_openvino_toolkit" in sentence


def test_a_file_is_not_a_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    assert "is not a folder" in _refusal(tmp_path / "notes.txt")
    assert "is not a folder" in _refusal(tmp_path / "missing")


def test_a_download_still_packed_says_unpack_it_first(tmp_path):
    (tmp_path / f"{NAME}.tgz").write_bytes(b"")  # only its name matters: the check never opens it
    sentence = _refusal(tmp_path)
    assert "still packed" in sentence and f"{NAME}.tgz" in sentence and "unpack it first" in sentence


def test_another_openvino_version_is_refused_and_says_why(tmp_path):
    newer = marked(tree(tmp_path / "l_openvino_toolkit_ubuntu22_2023.0.0.10926.b4452d56304_x86_64"))
    assert "is OpenVINO 2023.0.0, not 2022.3" in _refusal(newer) and "no longer drives the stick" in _refusal(newer)
    older = marked(tree(tmp_path / "openvino_2022.1.0.643"))
    assert "is OpenVINO 2022.1.0, not 2022.3" in _refusal(older)
    (tmp_path / "openvino_2021.4.752" / "deployment_tools").mkdir(parents=True)
    assert "2021 or before" in _refusal(tmp_path / "openvino_2021.4.752")


def test_the_version_file_counts_before_the_folder_name(tmp_path):
    root = marked(tree(tmp_path / "openvino"))
    (root / "runtime" / "version.txt").write_text("2023.2.0-13089-cfd42bd2cb0-HEAD\n")
    assert "OpenVINO 2023.2.0" in _refusal(root)
    (root / "runtime" / "version.txt").unlink()
    (root / "runtime" / "cmake" / "OpenVINOConfig-version.cmake").write_text('set(PACKAGE_VERSION "2022.3.0")\n')
    assert ra.inspect_archive(root, machine="x86_64").version == "2022.3.0"


def test_wrong_system_processor_or_missing_parts_are_named(tmp_path):
    windows = marked(tree(tmp_path / "w_openvino_toolkit_windows_2022.3.1.9227.cf2c7da5689_x86_64"), "setupvars.bat")
    (windows / "runtime" / "bin" / "intel64" / "Release").mkdir(parents=True)
    assert "for Windows" in _refusal(windows, system="Linux")
    arm = marked(tree(tmp_path / "l_openvino_toolkit_debian9_2022.3.1.9227.cf2c7da5689_arm64", arch="aarch64"))
    assert "another kind of processor (aarch64)" in _refusal(arm, system="Linux", machine="x86_64")
    assert ra.inspect_archive(arm, system="Linux", machine="aarch64").pythons == ((3, 8), (3, 9), (3, 10))
    no_python = marked(tree(tmp_path / "openvino_2022.3.1", pythons=()))
    assert "has no Python part" in _refusal(no_python, system="Linux", machine="x86_64")
    no_runtime = tmp_path / "openvino_2022.3.0"
    no_runtime.mkdir()
    marked(no_runtime)
    assert "has no runtime folder" in _refusal(no_runtime, system="Linux")


def test_the_download_laid_out_right_is_read_and_its_parent_counts_as_it(tmp_path):
    root = marked(tree(tmp_path / "Downloads" / NAME))
    found = ra.inspect_archive(tmp_path / "Downloads", system="Linux", machine="x86_64")
    assert found.root == root and found.version == "2022.3.1" and found.system == "Linux"
    assert found.pythons == ((3, 8), (3, 9), (3, 10)) and found.python_text == "3.8, 3.9 and 3.10"
    assert [a.root for a in ra.find_archives([tmp_path / "Downloads", tmp_path])] == ([root] if platform.machine().lower()
                                                                                      in ("x86_64", "amd64") else [])


def test_the_numpy_requirement_comes_from_the_download_and_never_as_an_option(tmp_path):
    root = tree(tmp_path / NAME)
    assert ra.numpy_requirement(root) == ra.NUMPY_DEFAULT
    (root / "python" / "python3.10" / "requirements.txt").write_text("numpy>=1.16.6,<=1.23.4 ; python_version<'3.11'\n")
    assert ra.numpy_requirement(root) == "numpy>=1.16.6,<=1.23.4"
    (root / "python" / "python3.10" / "requirements.txt").write_text("numpy --index-url http://example.invalid\n")
    assert ra.numpy_requirement(root) == ra.NUMPY_DEFAULT


# --- the launcher ---------------------------------------------------------------------------------------------

ODD = "Intel's OpenVINO 2022.3 \"$HOME\" `x` 日本"  # spaces, quotes, a dollar, backquotes, non-ASCII letters


@pytest.fixture
def odd_archive(tmp_path):
    root = tree(tmp_path / ODD / NAME, pythons=(MINOR,))
    return ra.layout(root, "Linux" if sys.platform.startswith("linux") else platform.system())


@posix_only
def test_the_launcher_runs_a_real_python_with_setupvars_variables(odd_archive, tmp_path):
    env_dir = tmp_path / "env with space"
    launcher = ra.write_launcher(env_dir, odd_archive, MINOR, venv_python=Path(THIS_PYTHON))
    assert launcher == rt.launcher_path(env_dir) and os.access(launcher, os.X_OK)
    script = ("import os,sys; print(os.environ['INTEL_OPENVINO_DIR']); print(os.environ['PYTHONPATH']);"
              "print(os.environ.get('LD_LIBRARY_PATH', '')); print(os.environ.get('DYLD_LIBRARY_PATH', ''));"
              "print(sys.argv[1:])")
    child = {**rt.child_env(), "LD_LIBRARY_PATH": "/kept/by/the/launcher"}
    out = subprocess.run([str(launcher), "-c", script, "two words", "$HOME", "it's"], capture_output=True, text=True,
                         encoding="utf-8", env=child, timeout=60)
    assert out.returncode == 0, out.stderr
    root, pythonpath, ld, dyld, args = out.stdout.splitlines()
    assert root == str(odd_archive.root)
    assert pythonpath.split(":")[0] == str(odd_archive.root / "python" / f"python{MINOR[0]}.{MINOR[1]}")
    libs = dyld if sys.platform == "darwin" else ld
    assert str(odd_archive.root / "runtime" / "3rdparty" / "tbb" / "lib") in libs
    assert str(odd_archive.root / "runtime" / "lib" / "intel64") in libs
    assert ld.endswith(":/kept/by/the/launcher"), "the caller's library path stays after OpenVINO's"
    assert args == "['two words', '$HOME', \"it's\"]"


@posix_only
def test_the_launcher_says_plainly_when_the_folder_is_gone(odd_archive, tmp_path):
    launcher = ra.write_launcher(tmp_path / "env", odd_archive, MINOR, venv_python=Path(THIS_PYTHON))
    (odd_archive.root / "runtime").rename(odd_archive.root / "moved")
    out = subprocess.run([str(launcher), "-c", "print('ran')"], capture_output=True, text=True, encoding="utf-8",
                         timeout=60)
    assert out.returncode == 3 and "ran" not in out.stdout
    assert "is gone or was moved" in out.stderr and str(odd_archive.root) in out.stderr


@posix_only
def test_the_check_through_a_launcher_judges_the_python_behind_it(odd_archive, tmp_path):
    """The launcher of an environment whose OpenVINO does not start (here there is none) is not offered."""
    launcher = ra.write_launcher(tmp_path / "env", odd_archive, MINOR, venv_python=Path(THIS_PYTHON))
    checked = rt.check_interpreter(str(launcher))
    assert checked.launcher and checked.version[:2] == MINOR
    if checked.openvino.startswith("2022.3"):
        pytest.skip("this test run's own Python has OpenVINO 2022.3 installed")
    assert checked.verdict == rt.Verdict.BROKEN and "Choose Intel's folder again" in checked.reason
    assert not checked.usable and not checked.can_make_environment


def test_the_windows_launcher_quotes_for_cmd_and_keeps_path(tmp_path):
    root = tmp_path / "C 100% & more"
    (root / "runtime" / "bin" / "intel64" / "Release").mkdir(parents=True)
    (root / "runtime" / "3rdparty" / "tbb" / "bin").mkdir(parents=True)
    archive = ra.Archive(root=root, version="2022.3.1", pythons=((3, 10),), system="Windows")
    text = ra.launcher_text(archive, (3, 10), Path("C:/Users/a b/env/Scripts/python.exe"))
    lines = text.split("\r\n")
    assert lines[0] == "@echo off" and '"C:/Users/a b/env/Scripts/python.exe" %*' in lines
    release = str(root / "runtime" / "bin" / "intel64" / "Release").replace("%", "%%")
    path_line = next(ln for ln in lines if ln.startswith('set "PATH='))
    assert release in path_line and path_line.endswith(';%PATH%"') and "100%%" in path_line
    assert any(ln.startswith('set "OPENVINO_LIB_PATHS=') for ln in lines), "Python 3.8+ finds DLLs only there"
    assert not text.startswith("@chcp")
    japanese = ra.Archive(root=tmp_path / "日本", version="2022.3.1", pythons=((3, 10),), system="Windows")
    assert ra.launcher_text(japanese, (3, 10), Path("C:/env/python.exe")).startswith("@chcp 65001 >nul\r\n")


def test_a_folder_path_with_the_list_separator_is_refused(tmp_path):
    root = tree(tmp_path / "a:b" / NAME, pythons=(MINOR,))
    with pytest.raises(UserError) as err:
        ra.write_launcher(tmp_path / "env", ra.layout(root, "Linux"), MINOR, venv_python=Path(THIS_PYTHON))
    assert "contains a ':'" in err.value.message


# --- the bench through a launcher ----------------------------------------------------------------------------

@posix_only
def test_the_bench_agents_device_probe_runs_through_a_launcher(odd_archive, tmp_path):
    launcher = ra.write_launcher(tmp_path / "env", odd_archive, MINOR, venv_python=Path(THIS_PYTHON))
    found = discover(Where(python=str(launcher)))
    assert found.python == platform.python_version()
    numpy = next(r for r in found.runtimes if r.name == "numpy")
    assert numpy.version and not numpy.error
    assert "myriad" in [d.device for d in found.devices]


@posix_only
def test_a_real_benchmark_runs_through_a_launcher_and_stops_on_request(odd_archive, tmp_path):
    from tests.models.bench_models import tiny_tflite

    launcher = ra.write_launcher(tmp_path / "env", odd_archive, MINOR, venv_python=Path(THIS_PYTHON))
    model = tiny_tflite(tmp_path / "tiny model.tflite")
    run = BenchRun(BenchRequest(str(model), "tflite:CPU", count=200, warmup=2,
                                where=Where(python=str(launcher)))).start()
    assert run.wait(120) and run.state == "finished", run.error
    assert len(run.samples) == 200 and run.result().host == f"this computer ({launcher})"
    endless = BenchRun(BenchRequest(str(model), "tflite:CPU", where=Where(python=str(launcher)))).start()
    while len(endless.samples) < 10 and not endless.wait(0.05):
        pass
    endless.stop()
    assert endless.wait(30) and endless.state == "stopped" and len(endless.samples) >= 10


def test_another_interpreter_gets_none_of_this_pythons_search_path(tmp_path, monkeypatch):
    """A numpy on the GUI's PYTHONPATH (here one that refuses to import) never reaches the bench's Python."""
    stray = tmp_path / "stray" / "numpy"
    stray.mkdir(parents=True)
    (stray / "__init__.py").write_text("raise ImportError('the stray numpy from the parent PYTHONPATH')\n")
    monkeypatch.setenv("PYTHONPATH", str(stray.parent))
    numpy = next(r for r in discover(Where(python=THIS_PYTHON)).runtimes if r.name == "numpy")
    assert numpy.version and "stray" not in numpy.error


# --- choosing the Python and making the environment -----------------------------------------------------------

@pytest.fixture(scope="module")
def machine_pythons():
    return rt.survey()


def test_the_python_is_picked_to_match_the_downloads_python_parts(machine_pythons, tmp_path):
    archive = ra.Archive(root=tmp_path, version="2022.3.1", pythons=((3, 8), (3, 9), (3, 10)),
                         system=platform.system())
    chosen, sentence = ra.pick_python(archive, machine_pythons)
    fitting = [i for i in machine_pythons if i.version[:2] in archive.pythons and i.venv]
    if not fitting:
        assert chosen is None and "no such Python was found" in sentence
        return
    assert chosen is not None and chosen.version[:2] in archive.pythons and chosen.path in sentence
    other = next((i for i in fitting if i.path != chosen.path), None)
    if other is not None:
        assert ra.pick_python(archive, machine_pythons, preferred=other.path)[0].path == other.path


def test_with_no_matching_python_it_says_what_to_install(tmp_path):
    if MINOR <= (3, 10):
        pytest.skip("the test run's own Python is 3.10 or older, so it would match the download")
    (tmp_path / "python3.10").symlink_to(os.path.realpath(THIS_PYTHON))  # a real 3.11+ under a 3.10 name
    archive = ra.Archive(root=tmp_path, version="2022.3.1", pythons=((3, 8), (3, 9), (3, 10)), system="Linux")
    chosen, sentence = ra.pick_python(archive, rt.survey([tmp_path]))
    assert chosen is None and "Python parts for Python 3.8, 3.9 and 3.10" in sentence
    assert "Python 3.10" in sentence and "Look again" in sentence and "--" not in sentence


@pytest.fixture(scope="module")
def suitable(machine_pythons):
    ok = [i for i in machine_pythons if (3, 8) <= tuple(i.version[:2]) <= (3, 10) and i.venv and not i.error]
    if not ok:
        pytest.skip("no Python 3.8-3.10 that can make environments is installed on this machine")
    return ok[0]


def test_the_creation_is_a_venv_then_numpy_as_argument_lists(tmp_path):
    archive = ra.Archive(root=tmp_path, pythons=((3, 10),), numpy="numpy<1.24")
    steps = ra.creation_steps("/usr/bin/python3.10", tmp_path / "env", archive)
    assert steps[0].argv == ("/usr/bin/python3.10", "-m", "venv", str(tmp_path / "env"))
    assert steps[1].argv[-1] == "numpy<1.24" and "--only-binary=:all:" in steps[1].argv


def test_a_python_the_download_has_no_part_for_is_refused(suitable, tmp_path):
    archive = ra.layout(tree(tmp_path / NAME, pythons=((3, 7),)), "Linux")
    with pytest.raises(UserError) as err:
        ra.create_archive_environment(archive, suitable, tmp_path / "env")
    assert "does not fit this download" in err.value.message and not (tmp_path / "env").exists()


def test_cancel_while_numpy_installs_leaves_nothing(suitable, tmp_path):
    archive = ra.layout(tree(tmp_path / NAME, pythons=(tuple(suitable.version[:2]),)))
    dest = tmp_path / "runtimes" / "openvino-2022.3-intel"
    seen: list = []
    pip_said = threading.Event()

    def progress(fraction, message):
        seen.append(message)
        if fraction is None and any(m.startswith("Downloading and installing numpy") for m in seen):
            pip_said.set()

    with pytest.raises(Cancelled):
        ra.create_archive_environment(archive, suitable, dest, progress, cancelled=pip_said.is_set)
    assert "Making the stick's environment" in seen and pip_said.is_set()
    assert not dest.exists()


@pytest.mark.longrun
def test_without_a_real_openvino_the_made_environment_is_removed_and_says_why(suitable, tmp_path):
    archive = ra.layout(tree(tmp_path / NAME, pythons=(tuple(suitable.version[:2]),)))
    dest = tmp_path / "env"
    with pytest.raises(MissingDependency) as err:
        ra.create_archive_environment(archive, suitable, dest)
    if "could not be reached" in err.value.message:
        pytest.skip("the package index is not reachable from this machine")
    assert "does not start from the folder" in err.value.message and not dest.exists()


@pytest.mark.longrun
def test_the_whole_route_with_intels_real_archive(machine_pythons, tmp_path):
    folder = os.environ.get("EDGEWIZARD_OPENVINO_2022_ARCHIVE")
    if not folder:
        pytest.skip("EDGEWIZARD_OPENVINO_2022_ARCHIVE does not name an unpacked OpenVINO 2022.3 archive (Intel's "
                    "download is not on this machine, and EdgeWizard never downloads it)")
    archive = ra.inspect_archive(folder)
    assert archive.version.startswith("2022.3") or not archive.version
    python, sentence = ra.pick_python(archive, machine_pythons)
    if python is None:
        pytest.skip(f"no Python fits the archive here: {sentence}")
    lines: list = []
    made = ra.create_archive_environment(archive, python, tmp_path / "env", lambda f, m: lines.append(m))
    assert made.launcher and made.usable and made.openvino.startswith("2022.3") and "CPU" in made.devices
    assert made.stick_plugin or not made.plugin_missing, "Intel's archive has the stick's plugin"
    assert ra.made_for(tmp_path / "env")["archive"] == str(archive.root)
    found = discover(Where(python=made.path))
    ov = next(r for r in found.runtimes if r.name == "openvino")
    assert ov.version and ov.version.startswith("2022.3") and "CPU" in found.openvino_devices
    if "MYRIAD" in " ".join(found.openvino_devices):
        assert found.status("myriad").ready
