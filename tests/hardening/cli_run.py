"""Running the `edgewizard` command as a person does, and checking that an error is one line and one
sentence (shared by the hardening tests of calibration data, output folders and hostile paths)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXE = str(Path(sys.executable).with_name("edgewizard"))


def ew(*args, cwd=None, env=None, timeout=300):
    return subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)


def one_sentence(message: str, *paths) -> str:
    """`message` is one line and one sentence once the paths it names are taken out (paths hold dots)."""
    text = message
    for p in sorted(map(str, paths), key=len, reverse=True):
        text = text.replace(p, "PATH")
    assert "\n" not in text and "Traceback" not in message, message
    assert text.endswith(".") and not re.search(r"[.!?]\s+[A-Z]", text[:-1]), message
    return message


def cli_error(result, code=2) -> str:
    """The one `edgewizard: ...` line of a failed run that exited with `code`."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("edgewizard: "), result.stderr
    return lines[0]
