"""Refuses models no device could run and files built to hurt the loader, before anything is
allocated: zip archives that unpack to far more than they hold, absurd tensor shapes, cyclic graphs."""
from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Iterable, Optional

from ..errors import UserError
from ..graph import Graph

# No edge accelerator holds a tensor of 2^31 elements (8 GB of float32), and shape arithmetic
# beyond it overflows the int32 sizes many runtimes use: such a shape means a damaged file.
MAX_ELEMENTS = 2**31
# Keras stores .keras members uncompressed; deflated weights shrink maybe 2-3x. A member that
# claims to grow more than this, and to more than _BOMB_FLOOR bytes, is a zip bomb.
MAX_ZIP_RATIO = 50
_BOMB_FLOOR = 64 * 2**20
MAX_CONFIG_BYTES = 64 * 2**20  # a model config larger than this is not a model config
# TensorFlow while loops close their cycle through NextIteration -> Merge: that edge is legal.
LOOP_BACK_EDGE_OPS = frozenset({"NextIteration", "RefNextIteration"})


def check_zip(path: Path, kind: str = "Keras model") -> None:
    """Read only the archive's directory: UserError if a member claims an absurd unpacked size for a
    real `kind`."""
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError, EOFError):
        return  # the loader says the archive is damaged, with its own words
    on_disk = Path(path).stat().st_size
    for m in members:
        refusal = zip_bomb_error(path, m, on_disk, kind)
        if refusal is not None:
            raise refusal
        if m.filename == "config.json" and m.file_size > MAX_CONFIG_BYTES:
            raise UserError(f"{path} is refused: its config.json claims {gb(m.file_size)}, far more than a "
                            "model config; nothing was extracted.")


def zip_bomb_error(path, m: zipfile.ZipInfo, on_disk: int, kind: str,
                   unpacking: Optional[int] = None) -> Optional[UserError]:
    """The refusal for archive member `m` when its size in the zip directory is a zip bomb's (it
    unpacks at more than MAX_ZIP_RATIO times its packed size, or 64 times the archive's `on_disk`
    size) and reading it unpacks past _BOMB_FLOOR: `unpacking` bytes of it, else all of it."""
    packed = max(m.compress_size, 1)
    unpacking = m.file_size if unpacking is None else unpacking
    if unpacking > _BOMB_FLOOR and (m.file_size > MAX_ZIP_RATIO * packed or m.file_size > 64 * on_disk):
        return UserError(
            f"{path} is refused: its member {m.filename} would unpack to {gb(m.file_size)} from "
            f"{gb(m.compress_size)} ({m.file_size // packed:,}x), which no real {kind} does (a zip bomb); "
            "nothing was extracted."
        )
    return None


def gb(n: int) -> str:
    """A size in words: "1.5 GB", "97.7 MB"."""
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.1f} MB"


def too_big(shape: Optional[Iterable]) -> bool:
    """True when a shape has a dimension or an element count of 2^31 or more (unknown dims count 1)."""
    if shape is None:
        return False
    dims = [d for d in shape if isinstance(d, int) and d > 0]
    return any(d >= MAX_ELEMENTS for d in dims) or math.prod(dims) >= MAX_ELEMENTS


def shape_text(shape) -> str:
    return "[" + ", ".join("?" if d is None or (isinstance(d, int) and d < 0) else str(d) for d in shape) + "]"


def absurd_shape_error(path, tensor: str, shape, what: str = "tensor") -> UserError:
    return UserError(
        f"{path} declares {what} '{tensor}' with shape {shape_text(shape)}, at or over the limit of "
        f"{MAX_ELEMENTS:,} (2^31) elements per tensor that EdgeWizard accepts; the file is damaged or its "
        "shape is wrong."
    )


def check_graph(graph: Graph, path) -> None:
    """UserError for a tensor with an absurd shape or a cycle in the graph (naming a node on it)."""
    for t in (*graph.inputs, *graph.outputs, *(o for n in graph.nodes for o in n.outputs)):
        if too_big(t.shape):
            raise absurd_shape_error(path, t.name, t.shape)
    on_cycle = find_cycle(graph)
    if on_cycle:
        raise cycle_error(path, on_cycle)


def cycle_error(path, names: list[str]) -> UserError:
    loop = " -> ".join(f"'{n}'" for n in names[:4]) + (" -> ..." if len(names) > 4 else f" -> '{names[0]}'")
    return UserError(
        f"{path} has a cycle in its graph: node '{names[0]}' depends on its own output ({loop}), which no "
        "model for inference has; the file is damaged or was not exported for inference."
    )


def find_cycle(graph: Graph) -> list[str]:
    """Names of the nodes of one cycle (in data-flow order), or [] when the graph is acyclic."""
    producer: dict[str, str] = {}
    for n in graph.nodes:
        producer.setdefault(n.name, n.name)  # TF graphs refer to a node's first output by its name
        for o in n.outputs:
            producer[o.name] = n.name
    return cycle_in({n.name: [producer.get(i.lstrip("^"), producer.get(i.lstrip("^").split(":")[0]))
                               for i in n.inputs] for n in graph.nodes},
                    back_edges_from={n.name for n in graph.nodes if n.op in LOOP_BACK_EDGE_OPS})


def cycle_in(reads: dict[str, list], back_edges_from: frozenset | set = frozenset()) -> list[str]:
    """`reads`: node -> the nodes it reads (None for graph inputs). Kahn's algorithm, then a walk
    through what is left to name one cycle."""
    deps = {n: {p for p in ps if p in reads and p != n and p not in back_edges_from} for n, ps in reads.items()}
    selfloops = [n for n, ps in reads.items() if n in ps and n not in back_edges_from]
    if selfloops:
        return [selfloops[0]]
    users: dict[str, list[str]] = {}
    for n, ps in deps.items():
        for p in ps:
            users.setdefault(p, []).append(n)
    waiting = {n: len(ps) for n, ps in deps.items()}
    ready = [n for n, k in waiting.items() if k == 0]
    while ready:
        n = ready.pop()
        for u in users.get(n, ()):
            waiting[u] -= 1
            if waiting[u] == 0:
                ready.append(u)
    left = {n for n, k in waiting.items() if k > 0}
    if not left:
        return []
    # Every node left reads another node left, so walking back must repeat a node: that is a cycle.
    node, path, seen = next(iter(sorted(left))), [], {}
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(p for p in sorted(deps[node]) if p in left)
    return list(reversed(path[seen[node]:]))
