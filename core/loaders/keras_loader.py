"""Opens Keras 3 `.keras` archives and Keras-2-era `.h5` files for inference, never compiling them.

The model config is read and checked for Lambda layers before Keras sees the file, because Keras
runs a Lambda's Python code while deserializing it."""
from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

from ..doctor import explain
from ..errors import UserError
from ..graph import Graph, ModelInfo, Node, TensorInfo
from ..plan import LoadOptions
from . import LoadedModel, file_size
from .limits import MAX_ELEMENTS, absurd_shape_error, check_zip, too_big

# ---------------------------------------------------------------- reading the config ourselves


def read_config(path: Path, fmt: str) -> dict:
    """The model's architecture as JSON, without Keras. UserError for unreadable or weights-only files."""
    if fmt == "keras":
        check_zip(path)  # a zip bomb is refused from its directory, before any member is unpacked
        try:
            with zipfile.ZipFile(path) as z:
                if "config.json" not in z.namelist():
                    raise UserError(f"{path} is not a readable Keras model: the archive has no config.json.")
                raw = z.read("config.json")
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise UserError(f"{path} is not a readable Keras model: {_short(exc)} (the file may be truncated).") from exc
    else:
        import h5py

        try:
            with h5py.File(path, "r") as f:
                raw = f.attrs.get("model_config")
        except (OSError, KeyError, ValueError) as exc:
            raise UserError(f"{path} is not a readable Keras model: {_short(exc)} (the file may be truncated).") from exc
        if raw is None:
            raise UserError(
                f"{path} holds only weights, not a model (it has no model config); "
                "open the file the model was saved to with model.save() instead."
            )
    try:
        config = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not a readable Keras model: its model config is not valid JSON.") from exc
    if not isinstance(config, dict):
        raise UserError(f"{path} is not a readable Keras model: its model config is not a JSON object.")
    return config


def lambda_layers(config: Any) -> list[str]:
    """Names of every Lambda layer in a model config, nested models included."""
    found: list[str] = []
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("class_name") == "Lambda":
                inner = item.get("config") if isinstance(item.get("config"), dict) else {}
                found.append(str(inner.get("name") or item.get("name") or "?"))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


_SHAPE_KEYS = ("batch_shape", "batch_input_shape", "input_shape")
_SIZE_KEYS = ("units", "filters", "input_dim", "output_dim")


def check_config_sizes(config: Any, path: Path) -> None:
    """Refuse absurd input shapes and layer sizes before Keras builds the layers (and allocates
    their weights from them)."""
    stack = [(config, "?")]
    while stack:
        item, layer = stack.pop()
        if isinstance(item, dict):
            layer = str(item.get("name") or layer)
            for key in _SHAPE_KEYS:
                shape = item.get(key)
                if isinstance(shape, list) and all(d is None or isinstance(d, int) for d in shape) and too_big(shape):
                    raise absurd_shape_error(path, layer, shape, what="an input shape for layer")
            for key in _SIZE_KEYS:
                size = item.get(key)
                if isinstance(size, int) and size >= MAX_ELEMENTS:
                    raise UserError(f"{path} gives layer '{layer}' {key}={size}, at or over the limit of "
                                    f"{MAX_ELEMENTS:,} (2^31) EdgeWizard accepts; the file is damaged or wrong.")
            stack.extend((v, layer) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, layer) for v in item)


# ---------------------------------------------------------------- custom objects


def load_custom_objects(file: str) -> dict:
    """Import the user's Python file (this runs it) and collect what Keras may need from it: its
    `custom_objects` dict if it has one, else every Layer-like class and function it defines."""
    import keras

    p = Path(file).expanduser()
    if not p.is_file():
        raise UserError(f"The custom-objects file {p} does not exist.")
    # A unique module name per file, so two files with the same name do not share a module.
    mod_name = "_edgewizard_custom_" + hashlib.sha1(str(p.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(mod_name, p)
    if spec is None or spec.loader is None:
        raise UserError(f"The custom-objects file {p} is not a Python file.")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the file is the user's code: any failure is theirs to fix
        raise UserError(f"The custom-objects file {p} failed to run: {type(exc).__name__}: {_short(exc)}.") from exc
    explicit = getattr(module, "custom_objects", None)
    if isinstance(explicit, dict):
        return dict(explicit)
    kinds = (keras.layers.Layer, keras.losses.Loss, keras.metrics.Metric, keras.initializers.Initializer,
             keras.regularizers.Regularizer, keras.constraints.Constraint)
    found = {}
    for name, obj in vars(module).items():
        if name.startswith("__") or getattr(obj, "__module__", None) != mod_name:
            continue
        if (inspect.isclass(obj) and issubclass(obj, kinds)) or inspect.isfunction(obj):
            found[name] = obj
            registered = keras.saving.get_registered_name(obj)
            if registered and registered != name:
                found[registered] = obj
    return found


# ---------------------------------------------------------------- the model's graph


def model_nodes(model) -> list[tuple[str, Any]]:
    """The model's own call events (keras Nodes) in topological order, each with a unique name:
    the layer's name, or "<layer>_call<k>" for the k-th further call of a shared layer.

    Walks back from the model's outputs, so calls of the same layers from other models (a cut
    re-applies them) are never picked up."""
    starts = list(model.outputs) + list(model.inputs)
    seen: set[int] = set()
    order: list[Any] = []
    stack: list[tuple[Any, bool]] = [(_node_of(t), False) for t in reversed(starts)]
    while stack:  # iterative post-order: deep models exceed Python's recursion limit
        node, expanded = stack.pop()
        if node is None:
            continue
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for kt in reversed(node.arguments.keras_tensors):
            parent = _node_of(kt)
            if parent is not None and id(parent) not in seen:
                stack.append((parent, False))
    calls: dict[int, int] = {}
    named = []
    for node in order:
        op = node.operation
        k = calls.get(id(op), 0)
        calls[id(op)] = k + 1
        named.append((op.name if k == 0 else f"{op.name}_call{k}", node))
    return named


def _node_of(kt):
    hist = getattr(kt, "_keras_history", None)
    if hist is None or hist.operation is None:
        return None
    return hist.operation._inbound_nodes[hist.node_index]


def tensor_key(kt) -> tuple:
    h = kt._keras_history
    return (id(h.operation), h.node_index, h.tensor_index)


def tensor_names(named_nodes) -> dict[tuple, str]:
    """tensor_key -> graph tensor name ("<node>" or "<node>:<i>" for multi-output nodes)."""
    names = {}
    for name, node in named_nodes:
        many = len(node.outputs) > 1
        for i, kt in enumerate(node.outputs):
            names[tensor_key(kt)] = f"{name}:{i}" if many else name
    return names


def _tinfo(name: str, kt) -> TensorInfo:
    shape = kt.shape
    return TensorInfo(name, None if shape is None else tuple(None if d is None else int(d) for d in shape),
                      str(getattr(kt.dtype, "name", kt.dtype)))


def build_graph(model) -> Graph:
    named = model_nodes(model)
    names = tensor_names(named)
    nodes = []
    for name, node in named:
        op = node.operation
        reads = tuple(names.get(tensor_key(kt), "?") for kt in node.arguments.keras_tensors)
        outs = tuple(_tinfo(names[tensor_key(kt)], kt) for kt in node.outputs)
        attrs = {}
        if hasattr(op, "count_params") and getattr(op, "built", False):
            attrs["params"] = int(op.count_params())
        nodes.append(Node(name, type(op).__name__, reads, outs, attrs))
    ins = tuple(_tinfo(names[tensor_key(kt)], kt) for kt in model.inputs)
    outs = tuple(_tinfo(names[tensor_key(kt)], kt) for kt in model.outputs)
    return Graph(tuple(nodes), ins, outs)


# ---------------------------------------------------------------- load


def load(path: Path, fmt: str, options: LoadOptions, progress) -> LoadedModel:
    progress(0.05, "Reading the model config")
    config = read_config(path, fmt)
    lambdas = lambda_layers(config)
    if lambdas and not options.allow_unsafe:
        raise UserError(
            f"{path} has a Lambda layer ('{lambdas[0]}'), which carries Python code that would run on "
            "load; allow unsafe Lambda layers only if you trust the file.",
            cli_hint="--allow-unsafe"
        )
    check_config_sizes(config, path)
    custom = load_custom_objects(options.custom_objects) if options.custom_objects else {}
    progress(0.2, "Loading the model with Keras")
    model = _keras_load(path, fmt, custom, safe_mode=not options.allow_unsafe, has_custom=bool(options.custom_objects))
    if not hasattr(model, "outputs"):
        raise UserError(f"{path} is not a readable Keras model: it holds a {type(model).__name__}, not a model.")
    try:
        model.inputs
    except (AttributeError, ValueError) as exc:
        raise UserError(f"{path} has no defined input shape (the model was saved before it was built).") from exc
    progress(0.85, "Reading the graph")
    graph = build_graph(model)
    notes = ["Loaded for inference without compiling (the loss, metrics and optimizer are not needed)."]
    if fmt == "h5":
        notes.append("Legacy Keras HDF5 file" + _saved_by(path) + ", read with Keras 3.")
    if lambdas:
        notes.append(f"Lambda layers loaded in unsafe mode, their code ran: {', '.join(lambdas[:5])}.")
    if custom:
        notes.append(f"Custom objects from {options.custom_objects}: {', '.join(sorted(custom)[:8])}.")
    info = ModelInfo(str(path), fmt, graph, int(model.count_params()), file_size(path), (), tuple(notes))
    return LoadedModel(info=info, handle=model)


def _keras_load(path: Path, fmt: str, custom: dict, safe_mode: bool, has_custom: bool):
    import keras

    try:
        with warnings.catch_warnings():
            # Keras warns about legacy HDF5 and missing optimizers; neither matters for inference.
            warnings.simplefilter("ignore")
            return _dispatch(keras, path, fmt, custom, safe_mode)
    except UserError:
        raise
    except Exception as exc:  # Keras raises bare ValueError/TypeError/KeyError/OSError for bad files
        # Unknown classes, TFOpLambda, Lambda in safe mode, Keras 2 layer options: the error doctor
        # (resources/errors/tensorflow.toml) knows them and names the class.
        context = {"model": str(path), "custom_objects": "given" if has_custom else "", "keras": keras.__version__,
                   "saved_by": _saved_by_version(path, fmt)}
        raise explain(exc, "keras", UserError(f"{path} is not a readable Keras model: {_short(exc)}."), context) from exc


def _dispatch(keras, path: Path, fmt: str, custom: dict, safe_mode: bool):
    suffix = path.suffix.lower()
    if (fmt == "keras" and suffix == ".keras") or (fmt == "h5" and suffix in (".h5", ".hdf5")):
        return keras.saving.load_model(str(path), custom_objects=custom, compile=False, safe_mode=safe_mode)
    # Keras picks its reader by extension; a renamed file goes straight to the reader for its content.
    if fmt == "h5":
        import h5py
        from keras.src.legacy.saving import legacy_h5_format

        with h5py.File(path, "r") as f:
            return legacy_h5_format.load_model_from_hdf5(f, custom_objects=custom, compile=False, safe_mode=safe_mode)
    from keras.src.saving import saving_lib

    return saving_lib.load_model(str(path), custom_objects=custom, compile=False, safe_mode=safe_mode)


def _saved_by(path: Path) -> str:
    v = _saved_by_version(path, "h5")
    return f" (saved by Keras {v})" if v else ""


def _saved_by_version(path: Path, fmt: str) -> str:
    """The Keras version that wrote the file ("3.8.0"), from a .keras archive's metadata.json or an
    .h5 file's attributes; "" when it does not say."""
    try:
        if fmt == "h5":
            import h5py

            with h5py.File(path, "r") as f:
                v = f.attrs.get("keras_version")
            return (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v or ""))[:40]
        import json
        import zipfile

        with zipfile.ZipFile(path) as z:  # the archive was opened (and bomb-checked) before Keras read it
            v = json.loads(z.read("metadata.json")).get("keras_version", "")
        return str(v)[:40]
    except Exception:  # noqa: BLE001 - a file that does not say who wrote it is not an error here
        return ""


def _short(exc: BaseException, limit: int = 200) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0].strip().rstrip(".")
    return text if len(text) <= limit else text[: limit - 3] + "..."
