"""The NCS2's runtime from Intel's own OpenVINO 2022.3 download, the only one with the stick's (MYRIAD) plugin.
The person downloads and unpacks it; EdgeWizard checks the folder, then makes a small private environment: a
venv from a matching Python with the numpy OpenVINO 2022.3 needs, and a launcher script in it that sets what
Intel's setupvars sets and runs the venv's Python. That launcher is the interpreter the bench runs under.

Intel's folder, as its archives and installers unpack it (2022.x layout):
  setupvars.sh (setupvars.bat on Windows), runtime/lib/<arch>/ (runtime/bin/<arch>/Release on Windows, with
  Release/ below <arch> on macOS), runtime/3rdparty/tbb/lib (tbb/bin), runtime/cmake/, python/python3.X/openvino
  for each Python the download supports. Plain Python, no Qt."""
from __future__ import annotations

import json
import os
import platform
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

from ..errors import Cancelled, MissingDependency, UserError
from ..progress import ProgressFn, no_progress
from . import runtime_env as rt
from .runtime_places import install_python_advice

ARCHIVE_PAGE = "https://storage.openvinotoolkit.org/repositories/openvino/packages/2022.3/"
NUMPY_DEFAULT = "numpy>=1.16.6,<1.24"  # what OpenVINO 2022.3's own Python part was built and tested against
NUMPY_MB = 17
RECORD = "edgewizard-openvino.json"  # in the environment: which Intel folder it was made for
_NUMPY_SPEC = re.compile(r"numpy\s*((?:[<>=!~]=?\s*[0-9][0-9a-z.*]*\s*,?\s*)*)", re.IGNORECASE)
_VERSION = re.compile(r"(?<![0-9])(20[0-9]{2})\.([0-9]+)(?:\.([0-9]+))?")
_PACKED = ("*openvino_toolkit*.tgz", "*openvino_toolkit*.tar.gz", "*openvino_toolkit*.zip")
# runtime/lib/<arch> name -> the platform.machine() values it runs on
_ARCHES = {"intel64": {"x86_64", "amd64"}, "aarch64": {"aarch64", "arm64"}, "arm64": {"aarch64", "arm64"},
           "armv7l": {"armv7l", "armv6l", "armhf"}}


@dataclass(frozen=True)
class Archive:
    """Intel's unpacked OpenVINO folder as found: its version ("" when the folder does not say), the Pythons it
    has bindings for, and the system it is for ("Windows" for setupvars.bat, else this kind of computer)."""

    root: Path
    version: str = ""
    pythons: tuple = ()  # ((3, 8), (3, 9), (3, 10)): python/python3.X/openvino exists
    system: str = ""
    numpy: str = NUMPY_DEFAULT

    @property
    def python_text(self) -> str:
        return _spoken([f"{a}.{b}" for a, b in self.pythons]) or "none"

    def python_dir(self, minor: tuple) -> Path:
        return self.root / "python" / f"python{minor[0]}.{minor[1]}"

    def library_dirs(self) -> list:
        """The folders setupvars puts on the library path (PATH on Windows), those that exist, in its order."""
        rt_dir = self.root / "runtime"
        if self.system == "Windows":
            dirs = [d / "Release" for d in _subdirs(rt_dir / "bin")]
            dirs += [rt_dir / "3rdparty" / "tbb" / "bin", rt_dir / "3rdparty" / "hddl" / "bin"]
        else:
            dirs = [rt_dir / "3rdparty" / "tbb" / "lib", rt_dir / "3rdparty" / "hddl" / "lib"]
            for arch in _subdirs(rt_dir / "lib"):
                dirs += [arch / "Release", arch] if self.system == "Darwin" else [arch]
        return [d for d in dirs if d.is_dir()]

    def environment(self, minor: tuple) -> dict:
        """Variable -> list of values (folders) the launcher sets for Python ``minor``; a list variable also
        keeps what the caller had, except PYTHONPATH (the environment's Python sees only OpenVINO's part)."""
        libs = [str(d) for d in self.library_dirs()]
        python = [str(self.python_dir(minor))]
        if (self.root / "python" / "python3").is_dir():  # OpenCV's Python part, where the download has it
            python.append(str(self.root / "python" / "python3"))
        env = {"INTEL_OPENVINO_DIR": [str(self.root)], "OpenVINO_DIR": [str(self.root / "runtime" / "cmake")],
               "PYTHONPATH": python}
        if (self.root / "runtime" / "3rdparty" / "hddl").is_dir():
            env["HDDL_INSTALL_DIR"] = [str(self.root / "runtime" / "3rdparty" / "hddl")]
        if self.system == "Windows":
            env["OPENVINO_LIB_PATHS"] = libs  # OpenVINO's Python part adds these as DLL folders (Python 3.8+)
            env["PATH"] = libs
        elif self.system == "Darwin":
            env["DYLD_LIBRARY_PATH"] = libs
            env["LD_LIBRARY_PATH"] = libs
        else:
            env["LD_LIBRARY_PATH"] = libs
        return {name: values for name, values in env.items() if values}  # an empty entry would mean "here"


def _subdirs(folder: Path) -> list:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        return []


def _spoken(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def layout(root, system: Optional[str] = None) -> Archive:
    """What the folder's directories say, without judging it (see :func:`inspect_archive` for the check)."""
    root = Path(root)
    system = system or platform.system()
    if (root / "setupvars.bat").is_file() and not (root / "setupvars.sh").is_file():
        system = "Windows"
    pythons = []
    for d in _subdirs(root / "python"):
        m = re.fullmatch(r"python3\.([0-9]+)", d.name)
        if m and (d / "openvino").is_dir():
            pythons.append((3, int(m.group(1))))
    return Archive(root=root, version=read_version(root), pythons=tuple(sorted(pythons)), system=system,
                   numpy=numpy_requirement(root))


def read_version(root: Path) -> str:
    """"2022.3.1" from runtime/version.txt, else the CMake package version file, else the folder's own name
    (Intel's archives and installers name it with the version); "" when none of them says."""
    sources = [root / "runtime" / "version.txt", root / "runtime" / "cmake" / "OpenVINOConfig-version.cmake"]
    for source in sources:
        try:
            text = source.read_text(encoding="utf-8", errors="replace")[:20000]
        except OSError:
            continue
        m = re.search(r'PACKAGE_VERSION\s+"([0-9.]+)"', text) if source.suffix == ".cmake" else _VERSION.search(text)
        if m:
            return _version_text(m.group(1)) if source.suffix == ".cmake" else _version_text(m.group(0))
    for name in (root.name, root.resolve().name):
        m = _VERSION.search(name)
        if m:
            return _version_text(m.group(0))
    return ""


def _version_text(text: str) -> str:
    return ".".join(text.split(".")[:3])


def numpy_requirement(root: Path) -> str:
    """The numpy line of the download's own Python requirements where it has one, else NUMPY_DEFAULT. Only a
    plain version range is taken: nothing read from the folder can become a pip option."""
    for req in sorted((root / "python").glob("**/requirements*.txt"))[:20]:
        try:
            lines = req.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            m = _NUMPY_SPEC.fullmatch(line.split(";")[0].split("#")[0].strip())
            if m and m.group(1).strip():
                return "numpy" + re.sub(r"\s+", "", m.group(1)).rstrip(",")
    return NUMPY_DEFAULT


def inspect_archive(folder, system: Optional[str] = None, machine: Optional[str] = None) -> Archive:
    """Check that ``folder`` is Intel's unpacked OpenVINO 2022.3 for this computer and return it; otherwise a
    UserError in one plain sentence (what it is instead, and which folder to choose). A folder that holds just
    one such folder counts as that one."""
    folder = Path(folder).expanduser()
    system = system or platform.system()
    machine = (machine or platform.machine()).lower()
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder: choose the folder that came out of unpacking Intel's download.")
    if not _has_setupvars(folder):
        inner = [d for d in _subdirs(folder) if _has_setupvars(d)]
        if len(inner) == 1:
            folder = inner[0]
        else:
            raise UserError(_not_an_archive(folder, inner))
    found = layout(folder, system)
    if found.system == "Windows" and system != "Windows":
        raise UserError(f"{folder.name} is Intel's OpenVINO for Windows; this computer needs the download for "
                        f"{_system_words(system)}.")
    if system == "Windows" and not (folder / "setupvars.bat").is_file():
        raise UserError(f"{folder.name} is Intel's OpenVINO for Linux or macOS; this computer needs the download "
                        "for Windows.")
    if not (folder / "runtime").is_dir():
        raise UserError(f"{folder.name} has no runtime folder: it is not complete. Unpack Intel's download again, "
                        "then choose the folder that comes out of it.")
    if found.version and not found.version.startswith("2022.3"):
        year = int(found.version.split(".")[0])
        why = ("from 2023.0 on OpenVINO no longer drives the stick" if year >= 2023 else
               "2022.3 is the release EdgeWizard uses for the stick")
        raise UserError(f"{folder.name} is OpenVINO {found.version}, not 2022.3: {why}. Download OpenVINO 2022.3 "
                        "from Intel instead.")
    arches = {d.name for d in _subdirs(folder / "runtime" / ("bin" if found.system == "Windows" else "lib"))}
    if not arches:
        raise UserError(f"{folder.name} has no OpenVINO libraries in its runtime folder: it is not complete. Unpack "
                        "Intel's download again.")
    known = [a for a in arches if a in _ARCHES]
    if known and not any(machine in _ARCHES[a] for a in known):
        raise UserError(f"{folder.name} is Intel's OpenVINO for another kind of processor ({', '.join(sorted(known))}); "
                        f"this computer is {machine}: download the one for it.")
    if not found.pythons:
        raise UserError(f"{folder.name} has no Python part (a python folder with python3.8, python3.9 or "
                        "python3.10 in it): unpack Intel's whole download, not only its runtime.")
    return found


def _has_setupvars(folder: Path) -> bool:
    return (folder / "setupvars.sh").is_file() or (folder / "setupvars.bat").is_file()


def _not_an_archive(folder: Path, inner: list) -> str:
    packed = sorted({p.name for pattern in _PACKED for p in folder.glob(pattern)})
    if packed:
        return (f"This folder holds Intel's download still packed ({packed[0]}): unpack it first (double-click it "
                "or use Extract), then choose the folder that comes out of it.")
    if len(inner) > 1:
        return (f"This folder holds several OpenVINO folders ({', '.join(d.name for d in inner[:3])}): choose the "
                "2022.3 one itself.")
    if (folder / "deployment_tools").is_dir() or (folder / "bin" / "setupvars.sh").is_file():
        return (f"{folder.name} is an OpenVINO from 2021 or before: EdgeWizard needs Intel's OpenVINO 2022.3 "
                "download.")
    return (f"{folder.name} is not Intel's OpenVINO 2022.3 folder: it has no setupvars file. Choose the folder "
            "that came out of unpacking the download (named like l_openvino_toolkit_…_2022.3…, or "
            "openvino_2022.3… for the installer), the one with setupvars, runtime and python in it.")


def _system_words(system: str) -> str:
    return {"Darwin": "macOS", "Linux": "Linux"}.get(system, system)


def download_steps(system: Optional[str] = None) -> list:
    """How to get Intel's OpenVINO 2022.3 for this computer, as steps in plain words (the first one names
    Intel's page, ARCHIVE_PAGE)."""
    system = system or platform.system()
    name = {"Windows": "the windows folder, and download w_openvino_toolkit_windows_2022.3….zip",
            "Darwin": "the macos folder, and download m_openvino_toolkit_macos_…_2022.3….tgz"}.get(
        system, "the linux folder, and download l_openvino_toolkit_<your system>_2022.3….tgz (for a Raspberry "
                "Pi: the debian9 one for arm64 or armhf)")
    return [f"On Intel's page storage.openvinotoolkit.org, open OpenVINO's packages for 2022.3 (or the newest "
            f"2022.3.x), then {name}.",
            "Unpack it anywhere, for example in your home folder.",
            "Click \u201cUse Intel's OpenVINO 2022.3 folder…\u201d and choose the unpacked folder."]


# --- finding Intel's folder ---------------------------------------------------------------------------------

def usual_archive_places(system: Optional[str] = None, environ: Optional[dict] = None,
                         home: Optional[Path] = None) -> list:
    """Folders that may hold Intel's OpenVINO 2022.3 (one level is looked into, nothing is walked)."""
    system = system or platform.system()
    environ = os.environ if environ is None else environ
    home = Path(home) if home else Path.home()
    places = [home, home / "Downloads", home / "intel"]
    if system == "Windows":
        places += [Path(environ.get(v, "")) / "Intel" for v in ("ProgramFiles(x86)", "ProgramFiles") if environ.get(v)]
    else:
        places += [Path("/opt/intel")]
    return places


def find_archives(places: Optional[Iterable[Path]] = None) -> list:
    """Intel's OpenVINO 2022.3 folders in ``places`` that pass the check, each once (a link counts once)."""
    seen, found = set(), []
    for place in usual_archive_places() if places is None else places:
        for d in _subdirs(Path(place)):
            if "openvino" not in d.name.lower() or not _has_setupvars(d):
                continue
            try:
                archive = inspect_archive(d)
            except UserError:
                continue
            key = os.path.normcase(os.path.realpath(archive.root))
            if key not in seen:
                seen.add(key)
                found.append(archive)
    return found


def pick_python(archive: Archive, interpreters: Sequence[rt.Interpreter],
                preferred: Optional[str] = None) -> tuple:
    """(the Python to make the environment with, or None; one plain sentence). It must be a Python the
    download has bindings for and able to make environments; ``preferred`` (the one selected) wins when it
    fits, then a Python of its own over one inside an environment, then the newest."""
    def fits(i: rt.Interpreter) -> bool:
        return (not i.error and not i.launcher and tuple(i.version[:2]) in archive.pythons and i.venv
                and (archive.system == "Windows") == (i.system == "Windows"))

    ok = [i for i in interpreters if fits(i)]
    if preferred:
        chosen = next((i for i in ok if rt.python_identity(i.path) == rt.python_identity(preferred)), None)
        if chosen:
            return chosen, f"It will be used with Python {chosen.version_text} ({chosen.path})."
    ok.sort(key=lambda i: (_in_venv(i.path), tuple(-v for v in i.version)))
    if ok:
        return ok[0], f"It will be used with Python {ok[0].version_text} ({ok[0].path})."
    right = [i for i in interpreters if not i.error and tuple(i.version[:2]) in archive.pythons and not i.launcher]
    if right:
        i = right[0]
        return None, (f"Python {i.version_text} ({i.path}) would fit, but it cannot make environments: its venv "
                      f"part is missing (on Debian or Ubuntu install the package python{i.version[0]}."
                      f"{i.version[1]}-venv).")
    newest = f"{archive.pythons[-1][0]}.{archive.pythons[-1][1]}" if archive.pythons else "3.10"
    return None, (f"This download has Python parts for Python {archive.python_text}, and no such Python was "
                  f"found on this computer. {install_python_advice(newest, archive.system)}")


def _in_venv(path: str) -> bool:
    return (Path(path).parent.parent / "pyvenv.cfg").is_file()


# --- the launcher ---------------------------------------------------------------------------------------------

def launcher_text(archive: Archive, minor: tuple, venv_python: Path) -> str:
    """The launcher script's text: a POSIX sh script, or a .cmd for a Windows download. Every path is quoted
    for its shell (spaces, quotes, non-ASCII letters); the arguments go on untouched ("$@" / %*)."""
    env = archive.environment(minor)
    if archive.system == "Windows":
        return _cmd_text(archive, env, venv_python)
    sep = ":"
    lines = ["#!/bin/sh",
             "# Made by EdgeWizard: sets what the setupvars.sh of Intel's OpenVINO 2022.3 folder sets, then runs this",
             "# environment's Python with the arguments given. Choosing the folder again in EdgeWizard remakes it.",
             f"openvino_dir={shlex.quote(str(archive.root))}",
             'if [ ! -d "$openvino_dir/runtime" ]; then',
             "  printf '%s\\n' \"EdgeWizard: Intel's OpenVINO 2022.3 folder $openvino_dir is gone or was moved: "
             "choose it again in the NCS2 runtime setup.\" >&2",
             "  exit 3",
             "fi"]
    for name, values in env.items():
        joined = shlex.quote(sep.join(values))
        if name.endswith("LIBRARY_PATH"):
            lines.append(f"{name}={joined}${{{name}:+:${name}}}")
        else:
            lines.append(f"{name}={joined}")
        lines.append(f"export {name}")
    lines += ["unset PYTHONHOME", f"exec {shlex.quote(str(venv_python))} \"$@\"", ""]
    return "\n".join(lines)


def _cmd_quote(text: str) -> str:
    """A value inside set "NAME=..." in a .cmd file: quotes keep & | < > ^ literal; % must be doubled."""
    return text.replace("%", "%%")


def _cmd_text(archive: Archive, env: dict, venv_python: Path) -> str:
    lines = ["@echo off",
             "rem Made by EdgeWizard: sets what the setupvars.bat of Intel's OpenVINO 2022.3 folder sets, then runs",
             "rem this environment's Python with the arguments given.",
             "setlocal DisableDelayedExpansion",
             f'if not exist "{_cmd_quote(str(archive.root / "runtime"))}\\*" (',
             "  echo EdgeWizard: Intel's OpenVINO 2022.3 folder is gone or was moved: choose it again in the NCS2 "
             "runtime setup. 1>&2",
             "  exit /b 3",
             ")"]
    for name, values in env.items():
        value = ";".join(_cmd_quote(v) for v in values)
        lines.append(f'set "{name}={value};%{name}%"' if name == "PATH" else f'set "{name}={value}"')
    lines += ['set "PYTHONHOME="', f'"{_cmd_quote(str(venv_python))}" %*', "exit /b %ERRORLEVEL%", ""]
    text = "\r\n".join(lines)
    # cmd reads a batch file in the console's code page: switch it to UTF-8 first when a path needs it.
    return text if text.isascii() else "@chcp 65001 >nul\r\n" + text


def write_launcher(env_dir: Path, archive: Archive, minor: tuple, venv_python: Optional[Path] = None) -> Path:
    """Write the launcher into the environment (atomically, executable) and return its path. It runs
    ``venv_python`` (default: the environment's own Python)."""
    system = archive.system
    path = rt.launcher_path(env_dir, system)
    _check_separators(archive, system)
    text = launcher_text(archive, minor, Path(venv_python) if venv_python else rt.env_python(env_dir, system))
    tmp = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)
    return path


def _check_separators(archive: Archive, system: str) -> None:
    sep = ";" if system == "Windows" else ":"
    if sep in str(archive.root):
        raise UserError(f"The path of Intel's OpenVINO folder contains a '{sep}', which a library path cannot hold: "
                        "move the folder to a place whose path has none, then choose it again.")


# --- making the environment ----------------------------------------------------------------------------------

def creation_steps(python: str, env_dir: Path, archive: Archive) -> list:
    """A venv from ``python``, then the numpy OpenVINO 2022.3 needs (wheels only)."""
    inner = str(rt.env_python(env_dir))
    return [rt.Step("Making the stick's environment", (str(python), "-m", "venv", str(env_dir)), 0.2),
            rt.Step(f"Downloading and installing numpy for OpenVINO 2022.3 (about {NUMPY_MB} MB)",
                    (inner, "-m", "pip", "install", "--no-input", "--progress-bar", "off", "--only-binary=:all:",
                     archive.numpy), 0.6)]


def create_archive_environment(archive: Archive, python: rt.Interpreter, env_dir: Optional[Path] = None,
                               progress: ProgressFn = no_progress,
                               cancelled: Callable[[], bool] = lambda: False) -> rt.Interpreter:
    """Make the environment for Intel's folder at ``env_dir`` (default runtime_env.archive_env_dir()) with
    ``python``, write its launcher, and check OpenVINO through the launcher (returns the launcher, judged). On
    cancel or failure the folder is removed; a previous environment there is replaced."""
    env_dir = Path(env_dir) if env_dir else rt.archive_env_dir()
    minor = tuple(python.version[:2])
    if minor not in archive.pythons:
        raise UserError(f"Python {python.version_text} does not fit this download: it has Python parts for Python "
                        f"{archive.python_text}.")
    _check_separators(archive, archive.system)
    rt._clear_for_new(env_dir)
    log: list = []
    done = 0.0
    try:
        for step in creation_steps(python.path, env_dir, archive):
            progress(done, step.title)
            rt._run(step, log, lambda line: progress(None, line), cancelled)
            done += step.share
        progress(done, "Writing the launcher that sets up Intel's OpenVINO")
        launcher = write_launcher(env_dir, archive, minor)
        (env_dir / RECORD).write_text(json.dumps({"archive": str(archive.root), "version": archive.version,
                                                  "python": python.path}, ensure_ascii=False), encoding="utf-8")
        if cancelled():
            raise Cancelled("Making the environment was cancelled; nothing was left behind.")
        progress(0.9, "Checking OpenVINO and the stick's plugin through it")
        made = rt.check_interpreter(str(launcher), timeout=120)
        if not made.usable:
            raise MissingDependency("The environment was made, but Intel's OpenVINO 2022.3 does not start from the "
                                    f"folder: {made.openvino_error or made.error or 'openvino is missing'}",
                                    "\n".join(log))
        progress(1.0, "Done")
        return made
    except BaseException:
        rt._remove(env_dir)
        raise


def made_for(env_dir: Path) -> dict:
    """What the environment at ``env_dir`` was made for ({"archive", "version", "python"}), {} if unknown."""
    try:
        data = json.loads((Path(env_dir) / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
