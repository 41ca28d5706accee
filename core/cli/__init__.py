"""The `edgewizard` command line: the same steps as the wizard, for scripts and CI.

Errors end in one sentence on stderr and an exit code: 2 bad input, 3 missing dependency,
1 our bug (DESIGN.md, "Errors"). The sentence is the one the wizard shows too, so it names no option; the
option that helps, where one does (the error's cli_hint), is added in brackets. `--debug` adds the details
(the raw tool text behind an error doctor's sentence); with `--json` the error is also printed on stdout as
{"error": {kind, exit_code, id, args, message, hint}}, `id` being the message's stable id when it has one
and `hint` that option when there is one (message stays the shared sentence)."""
from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from typing import Optional, Sequence

from ..errors import EdgeWizardError, InternalError, UserError

# Each subcommand is a module core/cli/<name>_cmd.py with add_parser(subparsers); the order here is
# the order of --help.
SUBCOMMANDS = ("inspect", "convert", "validate", "verify", "bench", "report")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="edgewizard",
        description="Take a trained TensorFlow/Keras model to an edge accelerator. "
        "With no command, opens the wizard window.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}_cmd":
                raise
            continue  # not built yet
        module.add_parser(sub)
    return parser


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as _v

    try:
        return _v("edgewizard")
    except PackageNotFoundError:
        return "unknown"


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    debug = getattr(args, "debug", False)
    as_json = getattr(args, "json", False)
    if getattr(args, "model", None) == "":
        report(UserError("The model path is empty."), debug)
        return 2
    stdout = sys.stdout
    watched = sys.stdout = _Watched(stdout) if as_json else stdout
    try:
        return int(args.run(args) or 0)
    except EdgeWizardError as exc:
        # --json: a script gets the error as JSON on stdout (with the doctor's message id), unless the
        # command already printed its result there.
        report(exc, debug, as_json=as_json and not watched.used)
        return exc.exit_code
    except KeyboardInterrupt:
        print("edgewizard: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`edgewizard inspect | head`): not an error of ours, nothing more to say.
        # Point stdout at /dev/null so the flush at interpreter exit does not raise again.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, AttributeError, ValueError):
            pass
        return 141
    except Exception as exc:  # noqa: BLE001 - our bug; say so plainly
        err = InternalError(f"EdgeWizard hit a bug: {type(exc).__name__}: {exc}. Please report it (run with --debug for details).", traceback.format_exc())
        report(err, debug, as_json=as_json and not watched.used)
        return err.exit_code
    finally:
        if sys.stdout is watched:
            sys.stdout = stdout


def report(exc: EdgeWizardError, debug: bool, as_json: bool = False) -> None:
    """The sentence on stderr, with the command-line option that helps (the shared sentence names none); the
    details (tool logs, raw tool text) only with --debug."""
    hint = getattr(exc, "cli_hint", "")
    print(f"edgewizard: {with_hint(exc.message, hint)}", file=sys.stderr)
    if debug and exc.details:
        print(exc.details, file=sys.stderr)
    if as_json:
        error = {"kind": exc.kind, "exit_code": exc.exit_code, "id": exc.message_id or None,
                 "args": exc.message_args, "message": exc.message}
        if hint:
            error["hint"] = hint
        if debug:
            error["details"] = exc.details
        print(json.dumps({"error": error}, indent=2, ensure_ascii=False))


def with_hint(message: str, hint: str) -> str:
    """'Choose another folder.' + '-o OUTDIR' -> 'Choose another folder (-o OUTDIR).': still one sentence."""
    if not hint:
        return message
    end = "." if message.endswith(".") else ""
    return f"{message[:len(message) - len(end)]} ({hint}){end}"


class _Watched:
    """stdout, noting whether anything was written to it."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self.used = False

    def write(self, text: str) -> int:
        self.used = self.used or bool(text)
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def add_common(p: argparse.ArgumentParser) -> None:
    """Options every model-reading command shares."""
    p.add_argument("model", nargs="?", help="model file or SavedModel folder (default: the bundled sample)")
    p.add_argument("--custom-objects", metavar="FILE", help="Python file defining custom Keras layers (its code runs)")
    p.add_argument("--allow-unsafe", action="store_true", help="allow Keras Lambda layers, whose code runs on load; only for files you trust")
    p.add_argument("--signature", help="SavedModel signature to use (default: serving_default)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--debug", action="store_true", help="show details and tool logs on errors")


def model_and_options(args):
    from ..plan import LoadOptions
    from ..samples import sample_model_path

    model = args.model or str(sample_model_path())
    return model, LoadOptions(custom_objects=args.custom_objects, allow_unsafe=args.allow_unsafe, signature=args.signature)


def plan_from(args, model, load_options, **parts):
    """The core Plan a subcommand's flags describe for `model`: its Source (format and content hash; only the
    load options when `model` is None), the cut and the conversion options; `parts` gives the rest
    (devices=..., targets=..., output_dir=...)."""
    from ..plan import Plan, Source
    from ..steps import source_of
    from .options import convert_options_from, selection_from

    source = source_of(model, load_options) if model is not None else Source(load_options=load_options)
    return Plan(source=source, selection=selection_from(args), options=convert_options_from(args), **parts)
