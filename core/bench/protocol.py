"""Checks each line the bench agent sends against protocol 1 (described in agent_parts/base.py).

Anything else on the agent's stdout is refused with a clear error: a garbage line means the stream
cannot be trusted (over ssh it is usually a shell startup file printing text)."""
from __future__ import annotations

import json
import math

from ..errors import EdgeWizardError, InternalError, MissingDependency, UserError
from .agent_parts.base import PROTOCOL

_NUMBER = (int, float)
# message type -> {field: required type}
FIELDS = {
    "hello": {"protocol": int, "python": str},
    "ready": {"runtime": str, "runtime_version": str, "device": str, "inputs": list},
    "warmup": {"ms": list},
    "batch": {"ms": list, "t": _NUMBER},
    "probe": {"devices": list, "runtimes": dict},
    "profile": {"source": str, "runs": int, "ops": list, "available": bool, "note": str},  # agent 1.2
    "error": {"kind": str, "message": str},
    "end": {"reason": str, "count": int},
}
ERROR_KINDS = {"user": UserError, "missing": MissingDependency}


class ProtocolError(InternalError):
    """The agent's output is not protocol 1: a garbage line, a wrong version or a bad field."""


def _show(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return repr(text[:100] + ("…" if len(text) > 100 else ""))


def parse(raw: bytes) -> dict:
    """One line of agent output -> the message dict, or ProtocolError naming the line."""
    try:
        message = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        message = None
    kind = message.get("type") if isinstance(message, dict) else None
    if kind not in FIELDS:
        raise ProtocolError(
            f"The bench agent sent a line that is not part of EdgeWizard's bench protocol: {_show(raw)}. If the agent "
            "runs over ssh, a shell startup file on that machine (.bashrc, .profile) is probably printing text; "
            "make it print only in interactive shells."
        )
    for field, expected in FIELDS[kind].items():
        value = message.get(field)
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            raise ProtocolError(f"The bench agent sent a '{kind}' message without a valid '{field}': {_show(raw)}.")
    if "ms" in FIELDS[kind]:
        ms = message["ms"]
        if not all(isinstance(v, _NUMBER) and not isinstance(v, bool) and math.isfinite(v) and v >= 0 for v in ms):
            raise ProtocolError(f"The bench agent sent latencies that are not non-negative numbers: {_show(raw)}.")
    return message


def check_hello(message: dict, where: str) -> None:
    if message.get("type") != "hello":
        raise ProtocolError(f"The bench agent on {where} did not start with a hello message.")
    if message["protocol"] != PROTOCOL:
        raise ProtocolError(
            f"The bench agent on {where} speaks bench protocol {message['protocol']}, but this EdgeWizard speaks "
            f"protocol {PROTOCOL}; run the agent that comes with this EdgeWizard."
        )


def error_from(message: dict) -> EdgeWizardError:
    """An agent 'error' message as the EdgeWizardError the CLI and GUI report (exit codes 2/3/1).

    The agent (standard library only, perhaps on a Pi) words what it knows; a runtime's own text that
    it passed on is turned into the doctor's sentence here, the agent's words staying in the details."""
    cls = ERROR_KINDS.get(message["kind"], InternalError)
    details = str(message.get("details") or "")
    if message["kind"] in ("user", "missing", "device"):
        from ..doctor import diagnose

        raw = "\n".join(t for t in (message["message"], details) if t)
        found = diagnose(raw, ("openvino_device", "openvino", "litert", "edgetpu"))
        if found is not None:
            return found.error(raw)
    return cls(message["message"], details)
