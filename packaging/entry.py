"""PyInstaller's entry script: the frozen `edgewizard` executable runs the same main() as the
pip-installed command (worker start-up handling, --self-test and the CLI live there)."""
import sys

from edgewizard.gui.launch import main

if __name__ == "__main__":
    sys.exit(main())
