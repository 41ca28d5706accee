"""Where the bench agent runs (this Python, another interpreter, another machine over ssh) and the
argument list and stdin stream that start it there. Nothing is installed remotely: a one-line
bootstrap reads the agent's source from stdin, then the agent reads its request and the model."""
from __future__ import annotations

import json
import re
import shlex
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence

from ..errors import UserError
from .agent_parts import assemble
from .agent_parts.base import PROTOCOL

# No single quotes, so shlex.quote keeps it one plain '...' word for the remote shell.
BOOTSTRAP = "import sys;b=sys.stdin.buffer;n=int(b.readline());exec(compile(b.read(n),\"edgewizard_agent.py\",\"exec\"))"


# [USER@]HOST, HOST a name or ssh config alias, an IPv4 or an IPv6 address (bare or in brackets). Nothing else
# gets through: no leading dash (ssh would read an option such as -oProxyCommand), no spaces, quotes, ';' or '$'.
SSH_HOST = re.compile(r"(?:[A-Za-z0-9_][A-Za-z0-9._-]*@)?(?:[A-Za-z0-9_][A-Za-z0-9._-]*"
                      r"|\[?[0-9A-Fa-f]*:[0-9A-Fa-f:.]*(?:%[A-Za-z0-9._-]+)?\]?)")


@dataclass(frozen=True)
class Where:
    """This computer with this Python (the default), another interpreter (python=PATH), or another
    computer (ssh_host, with host/user/key from the user's ssh config; python is then the remote path)."""

    python: Optional[str] = None  # None: this Python locally, "python3" over ssh
    ssh_host: Optional[str] = None
    ssh_config: Optional[str] = None  # ssh -F FILE; default: the user's own ~/.ssh/config
    ssh_options: tuple[str, ...] = ()  # extra ssh -o settings, "Key=Value"

    def __post_init__(self) -> None:
        if self.ssh_host is not None and not SSH_HOST.fullmatch(self.ssh_host):
            raise UserError(f"{self.ssh_host!r} is not an ssh host name: give HOST or USER@HOST as in your ssh config "
                            "(put a port or other options in ~/.ssh/config).")
        for option in self.ssh_options:
            if "=" not in option or option.startswith("-"):
                raise UserError(f"ssh option {option!r} must look like Key=Value.")

    @property
    def remote(self) -> bool:
        return self.ssh_host is not None

    @property
    def label(self) -> str:
        if self.remote:
            return self.ssh_host
        return f"this computer ({self.python})" if self.python else "this computer"

    def interpreter(self) -> str:
        return self.python or ("python3" if self.remote else sys.executable)

    def argv(self) -> list[str]:
        if not self.remote:
            return [self.interpreter(), "-c", BOOTSTRAP]
        # ssh joins its arguments into one string for the remote shell: quote each word ourselves.
        remote = " ".join(shlex.quote(w) for w in (self.interpreter(), "-c", BOOTSTRAP))
        argv = ["ssh", "-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=20",
                "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"]
        if self.ssh_config:
            argv += ["-F", self.ssh_config]
        for option in self.ssh_options:
            argv += ["-o", option]
        return argv + ["--", self.ssh_host, remote]


@lru_cache(maxsize=1)
def agent_source() -> bytes:
    """The agent script that is sent (assembled from agent_parts/, with the device catalogue's table)."""
    return assemble.agent_source().encode("utf-8")


@dataclass(frozen=True)
class Upload:
    """A file the agent needs: sent over stdin when remote, or read from its path locally."""

    path: Path
    name: str


def model_files(model: Path) -> list[Upload]:
    """An OpenVINO IR is two files (model.xml with model.bin beside it); other formats are one."""
    model = Path(model)
    if not model.is_file():
        raise UserError(f"{model} does not exist or is not a file.")
    files = [Upload(model, model.name)]
    if model.suffix.lower() == ".xml":
        weights = model.with_suffix(".bin")
        if not weights.is_file():
            raise UserError(f"{model.name} needs its weights file {weights.name} beside it.")
        files.append(Upload(weights, weights.name))
    return files


def request_line(where: Where, action: str, files: Sequence[Upload] = (), data: Optional[Upload] = None, **fields) -> bytes:
    def entry(u: Upload) -> dict:
        return {"name": u.name, "size": u.path.stat().st_size} if where.remote else {"name": u.name, "path": str(u.path.resolve())}

    request = {"protocol": PROTOCOL, "action": action, **fields,
               "files": [entry(u) for u in files], "data": entry(data) if data else None}
    return (json.dumps(request, ensure_ascii=False) + "\n").encode("utf-8")


def stdin_chunks(where: Where, request: bytes, files: Sequence[Upload], data: Optional[Upload],
                 source: Optional[bytes] = None, chunk: int = 1 << 20):
    """Bytes for the agent's stdin: bootstrap length + agent source, the request line, then (when
    remote) the files themselves, in request order."""
    source = agent_source() if source is None else source
    yield b"%d\n" % len(source) + source + request
    if where.remote:
        for u in [*files, *([data] if data else [])]:
            with open(u.path, "rb") as f:
                while block := f.read(chunk):
                    yield block
