"""Entry point of the `edgewizard` command: a subcommand runs the command line (no Qt is
imported); no subcommand, a model path, or --sample opens the wizard window."""
from __future__ import annotations

import sys
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    from edgewizard.core.cli import SUBCOMMANDS, main as cli_main

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--sample"]:  # `make run`: the window with the bundled sample open
        from edgewizard.core.samples import sample_model_path

        argv = [str(sample_model_path()), *argv[1:]]
    elif argv and (argv[0] in SUBCOMMANDS or argv[0].startswith("-")):
        return cli_main(argv)
    from .app import main as gui_main

    return gui_main(argv)


if __name__ == "__main__":
    sys.exit(main())
