"""The three kinds of failure EdgeWizard reports, defined once (DESIGN.md, "Errors").

Each carries a message of one or two sentences saying what happened and what to do, an exit code
for the command line, and optional details (a full tool log) shown one click away in the GUI.
A message may also carry a stable id and the values filled into it (the error doctor's sentences,
core/doctor.py), so that the GUI can translate it and `--json` can name it.

The message is shared by the command line and the wizard, so it names no command-line option; where one
helps, ``cli_hint`` holds it as an aside ("--force replaces them"), which only the command line shows (in
brackets at the end of the sentence)."""
from __future__ import annotations

from typing import Mapping, Optional


class EdgeWizardError(Exception):
    """Base of every error meant for a person. ``exit_code`` is what the CLI exits with."""

    exit_code = 1
    kind = "internal"

    def __init__(self, message: str, details: str = "", message_id: str = "",
                 message_args: Optional[Mapping[str, str]] = None, cli_hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        # Not "args": BaseException.args is the constructor's tuple and must stay one.
        self.message_id = message_id
        self.message_args = {str(k): str(v) for k, v in (message_args or {}).items()}
        self.cli_hint = cli_hint

    def __reduce__(self):  # keep every field across process boundaries
        return (type(self), (self.message, self.details, self.message_id, self.message_args, self.cli_hint))

    def to_dict(self) -> dict:
        data = {"kind": self.kind, "message": self.message, "details": self.details}
        if self.message_id:
            data["id"] = self.message_id
            data["args"] = dict(self.message_args)
        if self.cli_hint:
            data["cli_hint"] = self.cli_hint
        return data

    @staticmethod
    def from_dict(data: dict) -> "EdgeWizardError":
        cls = _KINDS.get(data.get("kind", "internal"), InternalError)
        return cls(data.get("message", ""), data.get("details", ""), data.get("id") or "", data.get("args") or {},
                   data.get("cli_hint") or "")


class UserError(EdgeWizardError):
    """The input is wrong: a bad file, an unknown node, an impossible shape. Exit code 2."""

    exit_code = 2
    kind = "user"


class MissingDependency(EdgeWizardError):
    """Something needed is not there: a compiler, a device, a runtime. Exit code 3."""

    exit_code = 3
    kind = "missing"


class InternalError(EdgeWizardError):
    """Our own bug, or a crash inside a library we drive. Exit code 1."""

    exit_code = 1
    kind = "internal"


class Cancelled(EdgeWizardError):
    """The person cancelled the job. Not a failure; the CLI exits 130 like an interrupted shell."""

    exit_code = 130
    kind = "cancelled"


_KINDS = {c.kind: c for c in (UserError, MissingDependency, InternalError, Cancelled)}
