"""How the plug-in registries (validate's devices, convert's targets) load their built-in modules:
one module that fails to import leaves stand-ins saying why, in plain words, and the others still load."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Iterable


@dataclass(frozen=True)
class Choice:
    """One entry of a list the GUI and `--help` show: a device or a target, and whether it can be used here."""

    name: str
    title: str
    available: bool
    reason: str = ""


def load_modules(modules: Iterable[tuple[str, tuple[str, ...]]], stand_in: Callable[[str, str], None]) -> None:
    """Import each (module, names it registers); for a module that fails, call stand_in(name, why)
    for each of its names, why being a reason that follows "because" or a colon."""
    for module, names in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - listed as unavailable instead
            why = f"its module failed to load ({type(exc).__name__}: {exc})"
            for name in names:
                stand_in(name, why)
