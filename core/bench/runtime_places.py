"""Where Pythons usually are on each kind of computer, where EdgeWizard's private OpenVINO 2022.3
environment goes, and what to install when no Python 3.8-3.10 is there. Plain Python, no Qt; the checks and
the making of the environment are in runtime_env.py."""
from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Optional

ENV_NAME = "openvino-2022.3"
ARCHIVE_ENV_NAME = "openvino-2022.3-intel"  # the environment beside Intel's own OpenVINO 2022.3 folder
# The script in that environment that sets what Intel's setupvars sets, then runs the environment's Python.
LAUNCHER_NAMES = {"Windows": "edgewizard-python.cmd"}
LAUNCHER_NAME = "edgewizard-python"
# Where the package index has openvino 2022.3 wheels, as (platform.system(), platform.machine().lower()).
_WHEEL_PLATFORMS = {("Linux", "x86_64"), ("Linux", "amd64"), ("Windows", "amd64"), ("Windows", "x86_64"),
                    ("Darwin", "x86_64"), ("Darwin", "arm64")}


def wheels_exist(system: str, machine: str) -> bool:
    """Whether the package index has openvino 2022.3 for this kind of computer."""
    return (system, machine.lower()) in _WHEEL_PLATFORMS


def _hidden_window() -> dict:
    return {"creationflags": subprocess.CREATE_NO_WINDOW} if sys.platform == "win32" else {}


_PYTHON_NAME = re.compile(r"python(3(\.\d+)?)?(\.exe)?", re.IGNORECASE)


def default_env_dir(system: Optional[str] = None, environ: Optional[dict] = None,
                    home: Optional[Path] = None) -> Path:
    """The private environment's folder: the platform's application-data place, as QStandardPaths has it.
    On Windows the local (not roaming) one: 200 MB of environment should not travel with a profile."""
    system = system or platform.system()
    environ = os.environ if environ is None else environ
    home = Path(home) if home else Path.home()
    if system == "Windows":
        base = Path(environ.get("LOCALAPPDATA") or environ.get("APPDATA") or home / "AppData" / "Local")
    elif system == "Darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = environ.get("XDG_DATA_HOME", "")
        base = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".local" / "share"
    return base / "EdgeWizard" / "runtimes" / ENV_NAME


def archive_env_dir(system: Optional[str] = None, environ: Optional[dict] = None,
                    home: Optional[Path] = None) -> Path:
    """Where the environment for Intel's OpenVINO 2022.3 folder goes: beside the package-index one."""
    return default_env_dir(system, environ, home).parent / ARCHIVE_ENV_NAME


def launcher_path(env_dir: Path, system: Optional[str] = None) -> Path:
    """The launcher script inside an environment made for Intel's OpenVINO 2022.3 folder."""
    system = system or platform.system()
    return env_python(env_dir, system).parent / LAUNCHER_NAMES.get(system, LAUNCHER_NAME)


def is_launcher(path) -> bool:
    """Whether ``path`` is such a launcher (by its name: it is a script, not a Python of its own)."""
    return Path(path).name.lower() in {LAUNCHER_NAME, *LAUNCHER_NAMES.values()}


def env_python(env_dir: Path, system: Optional[str] = None) -> Path:
    """The interpreter inside a virtual environment."""
    windows = (system or platform.system()) == "Windows"
    return Path(env_dir) / ("Scripts/python.exe" if windows else "bin/python")


def usual_places(environ: Optional[dict] = None, home: Optional[Path] = None,
                 system: Optional[str] = None) -> list[Path]:
    """Folders where Pythons usually are: PATH (without pyenv/asdf shims, which run whichever version is
    set, and without Windows' store aliases), then the installers' and version managers' own places."""
    environ = os.environ if environ is None else environ
    home = Path(home) if home else Path.home()
    system = system or platform.system()
    dirs = [Path(d) for d in environ.get("PATH", "").split(os.pathsep) if d]
    dirs = [d for d in dirs if d.name != "shims" and "WindowsApps" not in d.parts]
    minors = ("3.10", "3.9", "3.8")
    if system == "Windows":
        local = Path(environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
        dirs += sorted((local / "Programs" / "Python").glob("Python3*"), reverse=True)
        dirs += sorted(Path(environ.get("SystemDrive", "C:") + "\\").glob("Python3*"), reverse=True)
    else:
        dirs += [Path("/usr/bin"), Path("/usr/local/bin"), Path("/opt/homebrew/bin")]
        dirs += [Path(p) / f"python@{m}" / "bin" for p in ("/opt/homebrew/opt", "/usr/local/opt") for m in minors]
        dirs += [Path(f"/Library/Frameworks/Python.framework/Versions/{m}/bin") for m in minors]
        pyenv = Path(environ.get("PYENV_ROOT") or home / ".pyenv")
        dirs += sorted(pyenv.glob("versions/*/bin"), reverse=True)
    for conda in ("miniconda3", "anaconda3", "miniforge3", "mambaforge"):
        envs = sorted((home / conda / "envs").glob("*"))
        dirs += [e if system == "Windows" else e / "bin" for e in envs]
    dirs.append(env_python(default_env_dir(system, environ, home), system).parent)
    return dirs


def _pythons_in(folder: Path) -> list[Path]:
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    found = []
    for name in names:
        p = Path(folder) / name
        if _PYTHON_NAME.fullmatch(name) and p.is_file() and os.access(p, os.X_OK):
            found.append(p)
    return found


def py_launcher_paths() -> list[Path]:
    """Pythons the Windows launcher knows (``py -0p``), in its order; [] where there is no launcher."""
    launcher = shutil.which("py")
    if not launcher:
        return []
    try:
        out = subprocess.run([launcher, "-0p"], capture_output=True, text=True, timeout=15,
                             stdin=subprocess.DEVNULL, **_hidden_window()).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_py_launcher(out)


def parse_py_launcher(text: str) -> list[Path]:
    """Paths from ``py -0p`` output: lines like " -V:3.10 *  C:\\...\\python.exe" or " -3.9-64  C:\\..."."""
    paths = []
    for line in text.splitlines():
        m = re.match(r"\s*-\S+(?:\s+\*)?\s+(.+?\.exe)\s*$", line, re.IGNORECASE)
        if m:
            paths.append(Path(m.group(1)))
    return paths


def python_identity(path) -> str:
    """What makes two paths the same Python: the real file, and the virtual environment it runs in (a venv's
    python is a link to its base interpreter, yet a different Python with different packages)."""
    p = Path(path)
    key = os.path.normcase(os.path.realpath(p))
    if (p.parent.parent / "pyvenv.cfg").is_file():
        key += "|" + os.path.normcase(os.path.realpath(p.parent.parent))
    return key


def find_candidates(places: Optional[Iterable[Path]] = None) -> list[str]:
    """Python interpreters in ``places`` (default: :func:`usual_places` and, on Windows, the launcher's
    list), one per Python: python3, python3.10 and a symlink to it count once; a venv counts as its own."""
    if places is None:
        paths = [p for d in usual_places() for p in _pythons_in(d)]
        if platform.system() == "Windows":
            paths += py_launcher_paths()
    else:
        paths = [p for d in places for p in _pythons_in(Path(d))]
    seen, found = set(), []
    for p in paths:
        key = python_identity(p)
        if key not in seen:
            seen.add(key)
            found.append(str(p))
    return found


def no_suitable_advice(system: Optional[str] = None, machine: Optional[str] = None,
                       distro: Optional[str] = None) -> str:
    """One plain paragraph: what to install on this computer when no Python 3.8-3.10 was found."""
    system = system or platform.system()
    machine = (machine or platform.machine()).lower()
    if not wheels_exist(system, machine):
        return (f"There is no OpenVINO 2022.3 for this kind of computer ({system} on {machine}) on the package "
                "index, so EdgeWizard cannot make that environment here. Intel's own OpenVINO 2022.3 download has "
                "one (for a Raspberry Pi too): unpack it and click \"Use Intel's OpenVINO 2022.3 folder…\".")
    return "No Python 3.8, 3.9 or 3.10 was found. " + install_python_advice("3.10", system, distro)


def install_python_advice(version: str = "3.10", system: Optional[str] = None, distro: Optional[str] = None) -> str:
    """What to install for Python ``version`` on this kind of computer, ending with "Look again"."""
    system = system or platform.system()
    again = "then click \"Look again\"."
    if system == "Windows":
        last = " (3.10.11 is the last 3.10 release with an installer)" if version == "3.10" else ""
        return (f"Install Python {version} (64-bit) with the Windows installer from python.org{last}; it can live "
                f"beside any other Python you have. Then click \"Look again\".")
    if system == "Darwin":
        return (f"Install Python {version} with the macOS installer from python.org, or with Homebrew (the formula "
                f"python@{version}), " + again)
    distro = distro if distro is not None else _linux_distro()
    if distro == "ubuntu":
        return (f"On Ubuntu, add the deadsnakes PPA and install the packages python{version} and python{version}-venv "
                f"(or install Python {version} with pyenv), " + again)
    if distro in ("debian", "raspbian"):
        return (f"Debian 12 and later ship only newer Pythons (Debian 12 has 3.11): install Python {version} with "
                "pyenv, which puts it in your home folder, " + again)
    return (f"On Ubuntu, the deadsnakes PPA has the packages python{version} and python{version}-venv; on Debian "
            f"(Debian 12 has only Python 3.11) and other Linux systems, pyenv installs Python {version} in your home "
            "folder. Then click \"Look again\".")


def _linux_distro() -> str:
    try:
        text = Path("/etc/os-release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    m = re.search(r"^ID=\"?([^\"\n]+)", text, re.MULTILINE)
    return m.group(1).lower() if m else ""
