"""The device support tables (resources/devices/*.toml), read once per process.

The tables are data a person can read and extend; this module only loads them and checks the
fields every row needs, so that a typo in a table fails loudly with the file and row named."""
from __future__ import annotations

import functools
from typing import Any

from ..errors import InternalError, MissingDependency

TABLES = ("edgetpu", "myriad", "tflite_cpu")


def _toml():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError as exc:
            raise MissingDependency("Reading the device tables on Python 3.10 needs the tomli package: "
                                    "pip install tomli.") from exc
    return tomllib


@functools.lru_cache(maxsize=None)
def load_table(name: str) -> dict[str, Any]:
    """The parsed table resources/devices/<name>.toml."""
    from edgewizard.resources import files

    if name not in TABLES:
        raise InternalError(f"There is no device table named {name!r}.")
    resource = files().joinpath("devices", f"{name}.toml")
    try:
        data = _toml().loads(resource.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InternalError(f"The device table {name}.toml cannot be read: {exc}") from exc
    _check(name, data)
    return data


def _check(name: str, data: dict) -> None:
    sources = data.get("sources", {})
    if "table" not in data or not sources:
        raise InternalError(f"The device table {name}.toml needs a [table] section and at least one [sources.*].")
    for key in ("op", "not_supported", "custom_op"):
        for i, row in enumerate(data.get(key, [])):
            label = row.get("tflite") or row.get("ir") or row.get("name") or f"#{i + 1}"
            if row.get("source") not in sources:
                raise InternalError(f"{name}.toml [[{key}]] {label}: source {row.get('source')!r} is not "
                                    "one of its [sources].")
            for field in ("status", "runtime_status"):
                if row.get(field, "confirmed") not in ("confirmed", "unconfirmed") or "status" not in row:
                    raise InternalError(f"{name}.toml [[{key}]] {label}: {field} must be \"confirmed\" or "
                                        "\"unconfirmed\".")


def provenance(name: str, row: dict) -> str:
    """"<document> (<version>)" for a row, to show where a verdict comes from."""
    src = load_table(name)["sources"].get(row.get("source", ""), {})
    text = f"{src.get('document', row.get('source', '?'))} ({src.get('version', 'version unknown')})"
    return text + ("; unconfirmed" if row.get("status") == "unconfirmed" else "")


def sources(name: str) -> dict[str, dict]:
    return dict(load_table(name)["sources"])
