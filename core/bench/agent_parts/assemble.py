"""Joins the agent's parts (agent_parts/__init__.py) into the one script that is sent: the base's
docstring, the standard-library imports of every part once, then each part's code without its
docstring and imports (the parts' imports of each other are what the flat script's globals give).
The device table is written in as a JSON literal where table.py marks it.

`python -m edgewizard.core.bench.agent_parts > agent.py` writes the script to run by hand."""
from __future__ import annotations

import ast
import json
from importlib import resources
from typing import Optional

from ...errors import InternalError
from . import PARTS

TABLE_NAME = "DEVICE_TABLE"


def agent_source(device_table: Optional[list[dict]] = None) -> str:
    """The agent as one script, with device_table (by default the device catalogue's) written in."""
    table = default_table() if device_table is None else check_table(device_table)
    imports, bodies, defined = set(), [], {}
    docstring = ""
    for part in PARTS:
        text = resources.files(__package__).joinpath(part + ".py").read_text("utf-8")
        lines = text.splitlines()
        tree = ast.parse(text, part + ".py")
        drop = set()
        for index, node in enumerate(tree.body):
            span = range(node.lineno - 1, node.end_lineno)
            if index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                docstring = docstring or "\n".join(lines[i] for i in span)  # the base's: the script's own
                drop.update(span)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                if not getattr(node, "level", 0):
                    imports.add(ast.unparse(node))
                drop.update(span)
            elif _assigns(node, TABLE_NAME):
                lines[node.lineno - 1] = _table_literal(table)
                drop.update(span[1:])
                imports.add("import json")
            for name in _names(node):
                if defined.setdefault(name, part) != part:
                    raise InternalError(f"The bench agent's parts {defined[name]} and {part} both define {name}.")
        body = "\n".join(line for i, line in enumerate(lines) if i not in drop).strip("\n")
        bodies.append(f"# {'-' * 66} {part}\n\n{body}")
    order = sorted(imports, key=lambda line: (line.startswith("from "), line))
    head = f"{docstring}\n# Assembled from edgewizard/core/bench/agent_parts ({', '.join(PARTS)}): edit those.\n"
    return head + "\n".join(order) + "\n\n\n" + "\n\n\n".join(bodies) + "\n"


def default_table() -> list[dict]:
    """The device catalogue's table, as much of it as the agent reads."""
    from ...devices import agent_table

    return check_table(agent_table())


def check_table(table: list[dict]) -> list[dict]:
    """Each entry's device, title, install words and USB ids ({"id", "kind", "name"}): what the agent reads."""
    def text(value) -> bool:
        return isinstance(value, str) and value != ""

    out = []
    for entry in table if isinstance(table, list) else [table]:
        usb = entry.get("usb") or [] if isinstance(entry, dict) else None
        if not (isinstance(entry, dict) and text(entry.get("device")) and text(entry.get("title"))
                and isinstance(entry.get("install") or "", str) and isinstance(usb, list)
                and all(isinstance(u, dict) and all(text(u.get(k)) for k in ("id", "kind", "name")) for u in usb)):
            raise InternalError(f"The bench agent's device table has an entry it cannot read: {entry!r}.")
        out.append({"device": entry["device"], "title": entry["title"], "install": entry.get("install") or "",
                    "usb": [{"id": u["id"], "kind": u["kind"], "name": u["name"]} for u in usb]})
    return out


def _table_literal(table: list[dict]) -> str:
    text = "[\n" + ",\n".join(json.dumps(entry, ensure_ascii=True) for entry in table) + "\n]"
    if '"""' in text or text.endswith("\\"):
        raise InternalError("The bench agent's device table does not fit in a string literal.")
    return f'{TABLE_NAME} = json.loads(r"""\n{text}\n""")'


def _assigns(node: ast.stmt, name: str) -> bool:
    return isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)


def _names(node: ast.stmt) -> list[str]:
    """The global names a top-level statement of a part defines."""
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    return []
