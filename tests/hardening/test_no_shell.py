"""No shell strings: every process EdgeWizard starts gets an argument list. An AST scan of every .py
under core/, gui/ and packaging/ (subprocess with shell=True or a string command, os.system, os.popen,
os.exec*/spawn* of a shell with -c, pty, commands, asyncio's shell), plus the ssh command line."""
from __future__ import annotations

import ast
import shlex
from pathlib import Path

import pytest

from edgewizard.core.bench.launch import BOOTSTRAP, Where
from edgewizard.core.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("core", "gui", "packaging")
SUBPROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output"}
ALWAYS_SHELL = {("os", "system"), ("os", "popen"), ("subprocess", "getoutput"), ("subprocess", "getstatusoutput"),
                ("asyncio", "create_subprocess_shell")}
FORBIDDEN_MODULES = {"pty", "commands"}
SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "csh", "fish", "cmd", "cmd.exe", "powershell", "pwsh"}


def _dotted(node: ast.AST) -> tuple[str, ...]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return tuple(reversed(parts))
    return ()


def _is_text(node: ast.AST) -> bool:
    """A command given as one string: a literal, an f-string, "..." + x, "..." % x or "...".format()."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (str, bytes))
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return _is_text(node.left) or _is_text(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in {"format", "join"}:
        return isinstance(node.func.value, (ast.Constant, ast.JoinedStr))
    return False


def _shell_word(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return Path(node.value).name.lower() in SHELLS
    return False


def problems_in(source: str, name: str) -> list[str]:
    """Each way `source` could hand a string to a shell, as 'file:line: what'."""
    tree = ast.parse(source, name)
    aliases: dict[str, tuple[str, ...]] = {}  # `from subprocess import run as r` -> r: (subprocess, run)
    found = []

    def say(node: ast.AST, what: str) -> None:
        found.append(f"{name}:{node.lineno}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in FORBIDDEN_MODULES:
                    say(node, f"imports {a.name}")
                aliases[a.asname or a.name] = tuple(a.name.split("."))
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in FORBIDDEN_MODULES:
                say(node, f"imports from {node.module}")
            for a in node.names:
                aliases[a.asname or a.name] = (*node.module.split("."), a.name)
    for node in ast.walk(tree):
        if isinstance(node, (ast.List, ast.Tuple)):
            words = node.elts
            for i, w in enumerate(words[:-1]):
                nxt = words[i + 1]
                if _shell_word(w) and isinstance(nxt, ast.Constant) and nxt.value in {"-c", "/c", "/C", "-Command"}:
                    say(node, "an argument list that runs a shell with a command string")
        if not isinstance(node, ast.Call):
            continue
        dotted = _dotted(node.func)
        if dotted and dotted[0] in aliases:
            dotted = aliases[dotted[0]] + dotted[1:]
        if len(dotted) < 2:
            continue
        module, func = dotted[-2], dotted[-1]
        if (module, func) in ALWAYS_SHELL:
            say(node, f"{module}.{func} runs its command through a shell")
        if module == "subprocess" and func in SUBPROCESS_CALLS:
            for kw in node.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    say(node, f"subprocess.{func} with shell={ast.unparse(kw.value)}")
            command = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "args"), None)
            if command is not None and _is_text(command):
                say(node, f"subprocess.{func} given one string ({ast.unparse(command)[:60]})")
        if module == "os" and (func.startswith("exec") or func.startswith("spawn")):
            if any(_shell_word(a) for a in node.args):
                say(node, f"os.{func} starts a shell")
    return found


def scanned_files() -> list[Path]:
    return sorted(p for top in SCANNED for p in (ROOT / top).rglob("*.py") if ".venv" not in p.parts)


def test_the_scan_covers_the_code_that_starts_processes():
    names = {p.relative_to(ROOT).as_posix() for p in scanned_files()}
    assert {"core/bench/runner.py", "core/convert/edgetpu_compiler.py", "core/jobs.py", "gui/app.py",
            "packaging/entry.py"} <= names
    assert len(names) > 60


def test_no_process_is_started_through_a_shell():
    problems = [p for f in scanned_files() for p in problems_in(f.read_text(encoding="utf-8"), f.relative_to(ROOT).as_posix())]
    assert problems == []


@pytest.mark.parametrize("code", [
    "import subprocess\nsubprocess.run('ls ' + path)",
    "import subprocess\nsubprocess.Popen(f'edgetpu_compiler {p}')",
    "import subprocess\nsubprocess.check_output(['ls'], shell=True)",
    "import subprocess\nsubprocess.call(args='rm -rf %s' % d)",
    "from subprocess import run as go\ngo('echo {}'.format(x))",
    "from subprocess import Popen\nPopen(argv, shell=flag)",
    "import os\nos.system('ls')",
    "import os\nos.popen('ls').read()",
    "import os\nos.execvp('sh', ['sh', '-c', cmd])",
    "import subprocess\nsubprocess.run(['/bin/bash', '-c', cmd])",
    "import subprocess\nsubprocess.getoutput('ls')",
    "import pty\npty.spawn(['ls'])",
    "import asyncio\nasyncio.create_subprocess_shell(cmd)",
])
def test_the_scan_catches_each_kind(code):
    assert len(problems_in(code, "x.py")) >= 1, code


@pytest.mark.parametrize("code", [
    "import subprocess\nsubprocess.run(['ls', path], shell=False)",
    "import subprocess\nsubprocess.Popen(argv, stdin=subprocess.PIPE)",
    "import subprocess\nsubprocess.run([sys.executable, '-c', code])",
])
def test_the_scan_passes_argument_lists(code):
    assert problems_in(code, "x.py") == []


HOSTILE = ["/opt/my python/bin/python3", "$(touch /tmp/pwned)/python", "py`id`thon", "p'y\"t;h|o&n", "パイソン 3"]


@pytest.mark.parametrize("python", HOSTILE)
def test_ssh_runs_an_argument_list_and_quotes_the_remote_words(python):
    """ssh joins the remote words into ONE string for the remote shell: each must come back unchanged."""
    argv = Where(python=python, ssh_host="pi@raspberrypi", ssh_options=("Port=2222",)).argv()
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv)
    assert argv[0] == "ssh" and argv[-3:-1] == ["--", "pi@raspberrypi"]
    assert shlex.split(argv[-1]) == [python, "-c", BOOTSTRAP]


def test_local_interpreter_is_an_argument_list():
    argv = Where(python="$(touch x) py").argv()
    assert argv == ["$(touch x) py", "-c", BOOTSTRAP]


@pytest.mark.parametrize("host", ["-oProxyCommand=touch /tmp/pwned", "", "  "])
def test_a_host_that_ssh_would_read_as_an_option_is_refused(host):
    with pytest.raises(UserError):
        Where(ssh_host=host)


@pytest.mark.parametrize("option", ["-oProxyCommand=x", "ProxyCommand"])
def test_ssh_options_must_be_key_value(option):
    with pytest.raises(UserError):
        Where(ssh_host="pi", ssh_options=(option,))
