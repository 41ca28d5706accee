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


class Registry:
    """Plug-ins by name and alias (any case): validate's devices, convert's targets. The built-in
    modules are imported on first use, each through load_modules(); one that fails leaves a stand-in
    made by `stand_in(name, why)` for each name it would have registered."""

    def __init__(self, what: str, modules: Iterable[tuple[str, tuple[str, ...]]],
                 stand_in: Callable[[str, str], object]) -> None:
        self.what = what  # "conversion target", "device validator": for the duplicate-name error
        self._modules = tuple(modules)
        self._stand_in = stand_in
        self._items: dict = {}
        self._keys: dict[str, str] = {}  # lower-case name or alias -> registered name
        self._loaded = False

    def register(self, item, aliases: tuple[str, ...] = ()):
        for key in (item.name, *aliases):
            if key.lower() in self._keys:
                raise ValueError(f"A {self.what} named {key!r} is already registered.")
        self._items[item.name] = item
        for key in (item.name, *aliases):
            self._keys[key.lower()] = item.name
        return item

    def copy(self, extra_modules: Iterable[tuple[str, tuple[str, ...]]] = ()) -> "Registry":
        """A private copy, loaded, that loads `extra_modules` too on first use (for tests and plug-ins)."""
        fresh = Registry(self.what, (*self._modules, *extra_modules), self._stand_in)
        fresh._items, fresh._keys = self.items(), dict(self._keys)
        return fresh

    def items(self) -> dict:
        self._load()
        return dict(self._items)

    def find(self, name: str):
        """The item of this name or alias, else None."""
        self._load()
        key = self._keys.get(name.strip().lower())
        return None if key is None else self._items[key]

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True

            def stand_in(name: str, why: str) -> None:
                if name.lower() not in self._keys:
                    self.register(self._stand_in(name, why))

            load_modules(self._modules, stand_in)
