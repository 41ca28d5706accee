"""The Python for the NCS2's OpenVINO 2022.3: find the interpreters on this computer, check each one, and
make a private virtual environment with openvino 2022.3 from the package index, with progress and a cancel
that leaves nothing half-made. Plain Python (no Qt): the GUI's setup dialog and the tests drive it.

Found on the package index (2026-12): openvino 2022.3.0-2022.3.2 wheels exist for CPython 3.7-3.10 on
x86-64 Linux, x86-64 Windows and macOS (x86-64 and arm64), none for ARM Linux (Raspberry Pi). They pin numpy
themselves (2022.3.0: <=1.23.4, 2022.3.2: <1.25), so numpy 2 never gets in. None of them carries the
MYRIAD (NCS2) plugin: Intel ships it only in its own OpenVINO 2022.3 download, under another licence
(openvinotoolkit/openvino#20660). An environment made here therefore runs OpenVINO 2022.3 on the CPU only;
runtime_archive.py makes the one for the stick from Intel's download. The check asks OpenVINO itself whether
the stick's plugin loads."""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

from ..errors import Cancelled, MissingDependency, UserError
from ..progress import ProgressFn, no_progress
# The places and the advice are re-exported: callers import everything about the runtime from here.
from .runtime_places import (ARCHIVE_ENV_NAME, ENV_NAME, _hidden_window, archive_env_dir,  # noqa: F401
                             default_env_dir, env_python, find_candidates, is_launcher, launcher_path,
                             no_suitable_advice, parse_py_launcher, python_identity, usual_places,
                             wheels_exist)

OPENVINO_REQUIREMENT = "openvino==2022.3.*"
SUPPORTED = ((3, 8), (3, 9), (3, 10))
DOWNLOAD_MB = 55  # measured on x86-64 Linux, Python 3.10: openvino 2022.3.2 36.5 MB + numpy 1.24.4 17.3 MB
DISK_MB = 210  # the environment on disk afterwards
PROBE_TIMEOUT = 30.0
CPU_ONLY = "OpenVINO 2022.3 on this computer's CPU (no Neural Compute Stick plugin)"
STICK_PLUGIN_NOTE = (
    "OpenVINO 2022.3 from the package index does not include the plugin for the Neural Compute Stick 2: "
    "Intel ships that plugin only in its own OpenVINO 2022.3 download, under a different licence. So an "
    "environment made from the package index gives " + CPU_ONLY + "; for the stick itself, use Intel's "
    "own OpenVINO 2022.3 download.")
# What OpenVINO says when a device's plugin is not part of it at all (the package index's wheels).
_NOT_REGISTERED = ("is not registered", "not found in the list of registered devices")


class Verdict:
    """What an interpreter is good for here, best first (the order the dialog lists them in)."""

    READY = "ready"  # openvino 2022.3 and the stick's plugin loads
    HAS_OPENVINO = "has-openvino-2022.3"  # openvino 2022.3 without the stick's plugin
    SUITABLE = "suitable"  # 3.8-3.10, 64-bit, can make a venv: the private environment can be made with it
    NO_VENV = "no-venv"
    NO_WHEELS = "no-wheels"
    NOT_64BIT = "not-64-bit"
    TOO_NEW = "too-new"
    TOO_OLD = "too-old"
    BROKEN = "broken"
    ORDER = (READY, HAS_OPENVINO, SUITABLE, NO_VENV, NO_WHEELS, NOT_64BIT, TOO_NEW, TOO_OLD, BROKEN)


@dataclass(frozen=True)
class Interpreter:
    """One Python on this computer and what it is good for (``verdict``, ``reason`` in plain words)."""

    path: str
    version: tuple = ()
    bits: int = 0
    system: str = ""
    machine: str = ""
    venv: bool = False  # both venv and ensurepip are there, so `-m venv` can make an environment with pip
    pip: bool = False
    openvino: str = ""  # the openvino version it has: 2022.3 only once it imported and started
    openvino_error: str = ""  # why openvino 2022.3 did not import or start
    stick_plugin: bool = False  # OpenVINO's MYRIAD plugin loads (the stick itself need not be plugged in)
    stick_error: str = ""  # OpenVINO's words when it does not
    devices: tuple = ()  # Core().available_devices, when openvino 2022.3 imported
    error: str = ""  # why it could not be run or asked
    launcher: bool = False  # a launcher script for Intel's OpenVINO 2022.3 folder, not a Python of its own
    verdict: str = Verdict.BROKEN
    reason: str = ""

    @property
    def version_text(self) -> str:
        return ".".join(str(v) for v in self.version) if self.version else "unknown version"

    @property
    def usable(self) -> bool:
        """It can run the bench with OpenVINO 2022.3 as it is."""
        return self.verdict in (Verdict.READY, Verdict.HAS_OPENVINO)

    @property
    def can_make_environment(self) -> bool:
        return self.verdict == Verdict.SUITABLE

    @property
    def plugin_missing(self) -> bool:
        """OpenVINO 2022.3 works but has no stick plugin at all (the package index's OpenVINO)."""
        return not self.stick_plugin and (not self.stick_error or any(n in self.stick_error for n in _NOT_REGISTERED))


# Runs under whatever is probed, Python 2.7 included (so an old one is judged "too old", not "broken"). It goes
# over stdin behind a one-line -c: a launcher script (a Windows .cmd above all) passes one plain line on safely.
_PROBE_BOOTSTRAP = "import sys;exec(sys.stdin.read())"
_PROBE = r"""
import json, platform, struct, sys
def has(name):
    try:
        import importlib.util
        return importlib.util.find_spec(name) is not None
    except Exception:
        try:
            __import__(name)
            return True
        except Exception:
            return False
info = {"version": list(sys.version_info[:3]), "bits": struct.calcsize("P") * 8, "system": platform.system(),
        "machine": platform.machine(), "venv": has("venv") and has("ensurepip"), "pip": has("pip"),
        "openvino": "", "openvino_error": "", "stick_plugin": False, "stick_error": "", "devices": []}
dist = ""
try:
    from importlib import metadata
    dist = metadata.version("openvino")
except Exception:
    pass
if dist.startswith("2022.3") or (not dist and has("openvino")):
    try:
        import openvino.runtime as rt
        core = rt.Core()
        info["devices"] = list(core.available_devices)
        info["openvino"] = rt.get_version().split("-")[0]
    except Exception as exc:
        info["openvino_error"] = ("%s: %s" % (type(exc).__name__, exc)).strip().splitlines()[0][:300]
    else:
        try:
            core.get_versions("MYRIAD")
            info["stick_plugin"] = True
        except Exception as exc:
            info["stick_error"] = str(exc).strip().splitlines()[0][:300]
elif dist:
    info["openvino"] = dist
sys.stdout.write("EDGEWIZARD-PROBE " + json.dumps(info) + "\n")
"""


def child_env() -> dict:
    """The environment for another interpreter: none of this Python's own search paths (a 3.11 numpy on a
    3.10's path breaks it), and a frozen app's library path put back as it was before the app started."""
    env = dict(os.environ)
    for name in ("PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__"):
        env.pop(name, None)
    if getattr(sys, "frozen", False):
        for name in ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH"):
            original = env.pop(name + "_ORIG", None)
            env.pop(name, None)
            if original:
                env[name] = original
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def check_interpreter(path: str, timeout: float = PROBE_TIMEOUT) -> Interpreter:
    """Run ``path`` once (an argument list, a time limit) to learn its version, bitness, venv/pip, and
    whether it imports openvino 2022.3 with the stick's plugin; then judge it."""
    path = str(path)
    launcher = is_launcher(path)
    if not os.path.isfile(path):
        return _judged(Interpreter(path=path, launcher=launcher, error="There is no file there."))
    try:
        out = subprocess.run([path, "-c", _PROBE_BOOTSTRAP], input=_PROBE, capture_output=True, text=True,
                             timeout=timeout, env=child_env(), encoding="utf-8", errors="replace",
                             **_hidden_window())
    except subprocess.TimeoutExpired:
        return _judged(Interpreter(path=path, launcher=launcher,
                                   error=f"It did not answer within {timeout:.0f} seconds."))
    except OSError as exc:
        return _judged(Interpreter(path=path, launcher=launcher,
                                   error=f"It could not be started ({exc.strerror or exc})."))
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("EDGEWIZARD-PROBE ")), "")
    if not line:
        last = (out.stderr.strip().splitlines() or ["it printed nothing"])[-1]
        what = "It did not start" if launcher else "It is not a Python that could be asked"
        return _judged(Interpreter(path=path, launcher=launcher, error=f"{what} ({last[:200]})."))
    info = json.loads(line.split(" ", 1)[1])
    return _judged(Interpreter(
        path=path, version=tuple(info["version"]), bits=int(info["bits"]), system=info["system"],
        machine=info["machine"], venv=bool(info["venv"]), pip=bool(info["pip"]), openvino=info["openvino"],
        openvino_error=info["openvino_error"], stick_plugin=bool(info["stick_plugin"]), stick_error=info["stick_error"],
        devices=tuple(info["devices"]), launcher=launcher))


def _judged(i: Interpreter) -> Interpreter:
    verdict, reason = judge(i)
    return replace(i, verdict=verdict, reason=reason)


def judge(i: Interpreter) -> tuple[str, str]:
    """(verdict, one plain sentence) for an interpreter already asked."""
    if i.error:
        return Verdict.BROKEN, f"Cannot be used: {i.error}"
    v = f"Python {i.version[0]}.{i.version[1]}"
    if i.openvino.startswith("2022.3"):
        if i.stick_plugin:
            return Verdict.READY, f"Has OpenVINO {i.openvino} with the stick's plugin: ready for the stick."
        if i.plugin_missing:
            return Verdict.HAS_OPENVINO, (f"Has OpenVINO {i.openvino} without the stick's plugin: it runs on this "
                                          "computer's CPU only.")
        return Verdict.HAS_OPENVINO, (f"Has OpenVINO {i.openvino}, but the stick's plugin does not load: "
                                      f"{i.stick_error}")
    if i.launcher:  # the environment for Intel's folder whose OpenVINO no longer starts (the folder moved?)
        why = i.openvino_error or (f"it finds OpenVINO {i.openvino} instead" if i.openvino else "openvino is missing")
        return Verdict.BROKEN, f"Intel's OpenVINO 2022.3 does not start through it ({why}). Choose Intel's folder again."
    if tuple(i.version[:2]) < SUPPORTED[0]:
        return Verdict.TOO_OLD, f"{v} is too old: OpenVINO 2022.3 needs Python 3.8, 3.9 or 3.10."
    if tuple(i.version[:2]) > SUPPORTED[-1]:
        return Verdict.TOO_NEW, (f"{v} is too new: OpenVINO 2022.3, the last version that drives the stick, "
                                 "exists only for Python 3.8, 3.9 and 3.10.")
    if i.bits != 64:
        return Verdict.NOT_64BIT, f"{v} is a {i.bits}-bit Python: OpenVINO needs a 64-bit one."
    if not wheels_exist(i.system, i.machine):
        return Verdict.NO_WHEELS, (f"{v} would do, but the package index has no OpenVINO 2022.3 for "
                                   f"{i.system} on {i.machine}.")
    if not i.venv:
        return Verdict.NO_VENV, (f"{v} cannot make environments: its venv part is missing (on Debian or Ubuntu "
                                 f"install the package python{i.version[0]}.{i.version[1]}-venv).")
    other = f" (its OpenVINO {i.openvino} cannot drive the stick; a separate one is made)" if i.openvino else ""
    return Verdict.SUITABLE, f"{v}: suitable; EdgeWizard can make the environment with it{other}."


def summary(i: Interpreter, plugin_note: bool = True) -> str:
    """What a usable interpreter offers, in plain words: its OpenVINO, the devices it sees now, the stick
    (and, with ``plugin_note``, why the stick's plugin is missing when it is)."""
    text = f"OpenVINO {i.openvino} works in it. Devices it sees now: {', '.join(i.devices) or 'none'}."
    if i.stick_plugin:
        seen = ("The stick is plugged in and seen." if any(d.startswith("MYRIAD") for d in i.devices) else
                "The stick's plugin loads. The stick itself is listed (as MYRIAD) only while it is plugged in, "
                "and on Linux only once its USB rules are installed: not seeing it now is not an error.")
        return f"{text} {seen}"
    if not i.plugin_missing:
        return (f"{text} The stick's plugin is there but does not load: {i.stick_error} On Linux it needs the "
                "libusb library (the package libusb-1.0-0).")
    return text + (" " + STICK_PLUGIN_NOTE if plugin_note else " It has no plugin for the stick: CPU only.")


def survey(places: Optional[Iterable[Path]] = None, timeout: float = PROBE_TIMEOUT) -> list[Interpreter]:
    """Every Python found, checked (a few at a time), best first, newest first within a verdict."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        checked = list(pool.map(lambda p: check_interpreter(p, timeout), find_candidates(places)))
    return sorted(checked, key=lambda i: (Verdict.ORDER.index(i.verdict), tuple(-v for v in i.version)))


# --- making the private environment ---------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """One command of the setup, as an argument list, and its share of the progress bar."""

    title: str
    argv: tuple
    share: float


def creation_steps(python: str, env_dir: Path) -> list[Step]:
    """Make the environment with ``python``'s venv, then install openvino 2022.3 into it from the package
    index (wheels only: where none exists pip must say so, not start compiling numpy for an hour)."""
    inner = str(env_python(env_dir))
    return [Step("Making the private environment", (str(python), "-m", "venv", str(env_dir)), 0.15),
            Step(f"Downloading and installing OpenVINO 2022.3 (about {DOWNLOAD_MB} MB)",
                 (inner, "-m", "pip", "install", "--no-input", "--progress-bar", "off", "--only-binary=:all:",
                  OPENVINO_REQUIREMENT), 0.75)]


def create_environment(python: str, env_dir: Optional[Path] = None, progress: ProgressFn = no_progress,
                       cancelled: Callable[[], bool] = lambda: False) -> Interpreter:
    """Make the private environment at ``env_dir`` (default :func:`default_env_dir`) with ``python``, report
    each output line, and check it (returns the new interpreter, judged). On cancel (Cancelled) or failure
    (MissingDependency / UserError, with the log as details) the folder is removed: nothing half-made stays.
    A previous environment at ``env_dir`` is replaced; any other non-empty folder there is refused."""
    env_dir = Path(env_dir) if env_dir else default_env_dir()
    _clear_for_new(env_dir)
    log: list[str] = []
    done = 0.0
    try:
        for step in creation_steps(python, env_dir):
            progress(done, step.title)
            _run(step, log, lambda line: progress(None, line), cancelled)
            done += step.share
        progress(done, "Checking the new environment")
        made = check_interpreter(str(env_python(env_dir)), timeout=120)
        if not made.usable:
            raise MissingDependency("The environment was made, but OpenVINO 2022.3 does not start in it: "
                                    f"{made.openvino_error or made.error or 'openvino is missing'}", "\n".join(log))
        progress(1.0, "Done")
        return made
    except BaseException:
        _remove(env_dir)
        raise


def _clear_for_new(env_dir: Path) -> None:
    if not env_dir.exists():
        return
    if (env_dir / "pyvenv.cfg").is_file():
        _remove(env_dir)
    elif env_dir.is_dir() and not any(env_dir.iterdir()):
        env_dir.rmdir()
    else:
        raise UserError(f"{env_dir} already exists and is not an environment EdgeWizard made: move it away "
                        "or choose another place.")


def _remove(env_dir: Path) -> None:
    for attempt in range(20):  # Windows keeps a killed process's files locked for a moment
        if not env_dir.exists():
            return
        shutil.rmtree(env_dir, ignore_errors=attempt < 19)
        time.sleep(0.25)


def _run(step: Step, log: list, line_fn: Callable[[str], None], cancelled: Callable[[], bool]) -> None:
    """Run one step in its own process group; lines come through a reader thread so a cancel is seen within
    a tenth of a second even while the step prints nothing (a large download)."""
    log.append("$ " + " ".join(step.argv))
    group = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW} \
        if sys.platform == "win32" else {"start_new_session": True}
    proc = subprocess.Popen(list(step.argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=child_env(), text=True, encoding="utf-8",
                            errors="replace", bufsize=1, **group)
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout] + [lines.put(None)], daemon=True)
    reader.start()
    try:
        while True:
            if cancelled():
                raise Cancelled("Making the environment was cancelled; nothing was left behind.")
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            line = line.rstrip()
            if line:
                log.append(line)
                line_fn(line)
        code = proc.wait()
    except BaseException:
        kill_tree(proc)
        raise
    finally:
        proc.stdout.close() if proc.poll() is not None else None
    if code != 0:
        raise explain_failure(step, code, log)


def kill_tree(proc: subprocess.Popen) -> None:
    """End a step and everything it started (pip's own children included)."""
    if proc.poll() is None:
        try:
            if sys.platform == "win32":
                subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True, timeout=30,
                               creationflags=subprocess.CREATE_NO_WINDOW)
            else:
                os.killpg(proc.pid, signal.SIGKILL)
        except (OSError, subprocess.SubprocessError):
            proc.kill()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass


_FAILURES = (
    (("ensurepip is not available", "No module named ensurepip", "No module named venv"),
     "This Python cannot make environments: its venv part is missing (on Debian or Ubuntu install the "
     "package named like python3.10-venv), or choose another Python."),
    (("No matching distribution found for numpy", "satisfies the requirement numpy"),
     "The package index has no numpy that OpenVINO 2022.3 can use for this Python on this computer: choose a "
     "Python 3.8, 3.9 or 3.10."),
    (("No matching distribution found for openvino", "Could not find a version that satisfies"),
     "The package index has no OpenVINO 2022.3 for this Python on this computer: choose a 64-bit Python "
     "3.8, 3.9 or 3.10."),
    (("Failed to establish a new connection", "Temporary failure in name resolution", "Max retries exceeded",
      "ProxyError", "Network is unreachable", "Read timed out", "Connection reset", "CERTIFICATE_VERIFY_FAILED"),
     "The package index could not be reached: check this computer's internet connection (and proxy), "
     "then try again."),
    (("No space left on device",), "The disk is full: free about {disk} MB and try again."),
)


def explain_failure(step: Step, code: int, log: Sequence[str]) -> Exception:
    """One plain sentence for a failed step (the log goes along as details)."""
    text = "\n".join(log)
    for needles, sentence in _FAILURES:
        if any(n in text for n in needles):
            return MissingDependency(sentence.format(disk=DISK_MB), text)
    last = next((ln for ln in reversed(log) if ln.strip()), "no output")
    return MissingDependency(f"{step.title} failed (exit status {code}): {last[:300]}", text)
