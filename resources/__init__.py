"""Data, not code: device tables, the sample model, the Netron bridge script, icons.

Reach files through `files()`, which works from a source checkout, an installed wheel and a
frozen app alike."""
from __future__ import annotations

from importlib import resources as _resources
from pathlib import Path


def files():
    return _resources.files(__name__)


def path(*parts: str) -> Path:
    """A real filesystem path to a bundled resource (the package is always installed unzipped)."""
    return Path(str(files().joinpath(*parts)))
