"""Which nodes of the original model each node of a converted model comes from, for the Nodes step's
original-and-converted graphs side by side (runs in the worker).

The converted model's nodes are named as Netron names them in the graph (resources/netron/bridge.js):
a TFLite op by its first output tensor's name (what EdgeWizard's TFLite reader calls it too), an OpenVINO
IR op by its layer name. The original names come from validate/source_map.mapper (the names TFLite keeps,
";"-joined, of the ops it fused) and, for OpenVINO's renamed ops, quant/ov_order's positional pairing by op
type. A node nothing maps back gets no entry. TensorFlow and OpenVINO are imported only here, lazily."""
from __future__ import annotations

import shutil
from pathlib import Path

from .errors import UserError
from .plan import LoadOptions, Selection
from .progress import ProgressFn, no_progress


_WEIGHTS = frozenset({"Constant", "Const"})


def invert(pairs: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Original node -> the converted nodes that come from it (in the converted model's order)."""
    out: dict[str, list[str]] = {}
    for converted, originals in pairs.items():
        for o in originals:
            out.setdefault(o, []).append(converted)
    return {k: tuple(v) for k, v in out.items()}


def node_pairs(source: str, load_options: LoadOptions, selection: Selection, converted_file: str,
               progress: ProgressFn = no_progress) -> dict[str, tuple[str, ...]]:
    """{converted node as the graph names it: (original nodes it comes from, in the original's order)}."""
    from . import tempdirs
    from .cut import cut as cut_model
    from .loaders import load
    from .validate.source_map import mapper

    path = Path(converted_file).expanduser()
    if path.suffix.lower() not in (".tflite", ".xml"):
        raise UserError(f"{path.name} is not a converted model EdgeWizard can pair with the original "
                        "(a .tflite or an OpenVINO .xml).")
    if not path.exists():
        raise UserError(f"{path.name} is gone from {path.parent}; convert again.")
    progress(0.0, "Reading the original model")
    loaded = load(Path(source).expanduser(), load_options)
    original = loaded.info.graph
    progress(0.3, f"Reading {path.name}")
    converted = load(path, LoadOptions()).info.graph
    workdir = tempdirs.mkdtemp("pairs-")
    try:
        progress(0.5, "Cutting the original model as converted")
        cut = cut_model(loaded, selection, workdir)
        find = mapper(original, cut)
        if path.suffix.lower() == ".xml":
            find = _openvino(path, cut, find)
        order = {n.name: i for i, n in enumerate(original.nodes)}
        progress(0.8, "Pairing the nodes")
        out: dict[str, tuple[str, ...]] = {}
        for node in converted.nodes:
            if node.op in _WEIGHTS:
                continue  # Netron draws an IR's constants as their readers' weights, not as nodes
            found = find(node.name)
            if found:
                out[node.name] = tuple(sorted(found, key=lambda n: order.get(n, len(order))))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    progress(1.0, "Paired")
    return out


def _openvino(path: Path, cut, find):
    """The mapper that also pairs the IR's renamed ops with the cut's TensorFlow ops by their order."""
    try:
        import openvino as ov
    except ImportError:
        return find
    from .quant.ov_order import openvino_mapper

    try:
        model = ov.Core().read_model(str(path))
    except Exception:  # noqa: BLE001 - pairing is a nicety; the names that survived still pair
        return find
    return openvino_mapper(model, cut, find)
