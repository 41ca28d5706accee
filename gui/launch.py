"""Entry point of the `edgewizard` command: a subcommand runs the command line (no Qt is
imported); no subcommand, a model path, or --sample opens the wizard window; --self-test checks
an installed (frozen) app end to end."""
from __future__ import annotations

import multiprocessing
import sys
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    # In the frozen app, sys.executable is this program: a worker process started by core/jobs.py
    # ("spawn") re-enters here and must become the worker before anything else runs. No-op otherwise.
    multiprocessing.freeze_support()
    if getattr(sys, "frozen", False):
        _restore_library_path()
    from edgewizard.core.cli import SUBCOMMANDS, main as cli_main

    argv = list(sys.argv[1:] if argv is None else argv)
    if getattr(sys, "frozen", False) and argv[:1] == ["-c"]:
        return _frozen_bench_agent(argv)
    if getattr(sys, "frozen", False) and argv[:1] == ["--tflite-calibrated-child"]:
        # core/convert/tflite_calibrated.py: int8 calibration of a graph with loops, in a process of its own
        from edgewizard.core.convert.tflite_calibrated import main as calibrated_child

        return calibrated_child(argv[1:])
    if argv[:1] == ["--self-test"]:
        from .self_test import main as self_test

        return self_test(argv[1:])
    if argv[:1] == ["--sample"]:  # `make run`: the window with the bundled sample open
        from edgewizard.core.samples import sample_model_path

        argv = [str(sample_model_path()), *argv[1:]]
    elif argv and (argv[0] in SUBCOMMANDS or argv[0].startswith("-")):
        _exit_cleanly_on_sigterm()
        return cli_main(argv)
    from .app import main as gui_main

    return gui_main(argv)


def _exit_cleanly_on_sigterm() -> None:
    """`kill PID` (or a CI timeout) ends the command like Ctrl-C would: the running step is cancelled, its
    partial files and the session's temp folder removed (atexit), exit code 143. SIGKILL cannot be caught:
    the next start sweeps what it left (core/tempdirs.py)."""
    import signal

    def leave(signum, frame):
        raise SystemExit(128 + signum)

    try:
        signal.signal(signal.SIGTERM, leave)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGTERM here
        pass


def _restore_library_path() -> None:
    """The frozen app's launcher points LD_LIBRARY_PATH at its own libraries; programs we start (ssh,
    edgetpu_compiler, a file manager) must get the user's own, or they load ours and can break.
    Our own child processes do not need it: they start through the same launcher."""
    import os

    if "LD_LIBRARY_PATH_ORIG" in os.environ:
        os.environ["LD_LIBRARY_PATH"] = os.environ.pop("LD_LIBRARY_PATH_ORIG")
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)


def _frozen_bench_agent(argv: list) -> int:
    """The local bench agent runs as `sys.executable -c BOOTSTRAP` (core/bench/launch.py); a frozen
    app has no Python command line, so it runs exactly that bootstrap itself and nothing else."""
    from edgewizard.core.bench.launch import BOOTSTRAP

    if argv[1:2] != [BOOTSTRAP]:
        print("edgewizard: -c runs only EdgeWizard's own bench agent.", file=sys.stderr)
        return 2
    sys.argv = ["-c", *argv[2:]]
    exec(compile(BOOTSTRAP, "<edgewizard-bench-bootstrap>", "exec"), {"__name__": "__main__"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
