"""Per-layer int8 error: which layers of an int8 model lose the float model's detail, worst first.

The job function `per_layer` runs in the worker ("edgewizard.core.quant.layers:per_layer"): it loads and
cuts the original as verify does, makes a float reference of the cut (a float .tflite for an int8 .tflite,
the FP32 OpenVINO model for an INT8 IR), runs both on the same samples with every op's output kept, and
compares them op by op (layer_runs.py). Each row is mapped back to the original model's node names."""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from types import SimpleNamespace

from ..errors import UserError
from ..progress import ProgressFn, no_progress, sub_range
from ..plan import LoadOptions, Selection
from ..verify.data import VerifyData
from .results import LayerError, LayerReport, layers_key

EDGETPU_OP = "edgetpu-custom-op"


def check_artifact(artifact: str) -> tuple[Path, str]:
    """(path, runtime) of an int8 model the analysis can run on; a plain UserError for anything else."""
    path = Path(artifact).expanduser()
    if path.suffix.lower() == ".bin" and path.with_suffix(".xml").is_file():
        path = path.with_suffix(".xml")
    if not path.is_file():
        raise UserError(f"{path} does not exist." if not path.exists() else f"{path} is not a model file.")
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        from ..loaders.tflite_loader import parse
        from ..verify.runners import _tflite_precision

        graph, *_ = parse(path.read_bytes(), path.name)
        if any(n.op == EDGETPU_OP for n in graph.nodes):
            raise UserError(f"{path.name} is compiled for the Edge TPU, whose layers cannot be looked into; "
                            "analyse the int8 .tflite it was compiled from instead.")
        precision = _tflite_precision(graph)
        if precision not in ("int8", "dynamic-range int8"):
            raise UserError(f"{path.name} is a {precision} model: nothing in it is int8, so there is no int8 error "
                            "to analyse; analyse an int8 model instead.")
        return path, "litert"
    if suffix == ".xml":
        from ..loaders.openvino_loader import core
        from ..verify.runners import _openvino_precision

        try:
            model = core().read_model(str(path))
        except Exception as exc:  # OpenVINO raises RuntimeError with multi-line texts
            raise UserError(f"OpenVINO cannot open {path.name}: {str(exc).strip().splitlines()[0][:200]}") from exc
        precision = _openvino_precision(model)
        if precision != "int8":
            raise UserError(f"{path.name} is a {precision} model: nothing in it is int8, so there is no int8 error "
                            "to analyse; analyse an INT8 model instead.")
        return path, "openvino"
    raise UserError(f"{path.name} is not a model the per-layer analysis can read; give an int8 .tflite or an "
                    "OpenVINO INT8 .xml.")


def per_layer(source: str, load_options: LoadOptions, selection: Selection, artifact: str,
              data: VerifyData = VerifyData(), samples: int = 32, progress: ProgressFn = no_progress) -> LayerReport:
    """Every layer's error in the int8 `artifact` against the float cut of `source`, on at most `samples`
    samples of `data`, worst first by the error each layer adds."""
    from .. import tempdirs
    from ..cut import cut as cut_model
    from ..files import sha256_of
    from ..loaders import load
    from ..validate.source_map import mapper
    from ..verify.data import load_inputs

    started = time.monotonic()
    if samples < 1:
        raise UserError("The per-layer analysis needs at least 1 sample.")
    path, runtime = check_artifact(artifact)
    loaded = load(Path(source).expanduser(), load_options, sub_range(progress, 0.0, 0.1))
    workdir = tempdirs.mkdtemp("layers-")
    try:
        progress(0.1, "Cutting the model")
        cut = cut_model(loaded, selection, workdir, sub_range(progress, 0.1, 0.15))
        progress(0.15, "Loading the data")
        inputs = load_inputs(data, cut.inputs)
        batches = _batches(inputs.arrays, cut, samples)
        used = len(batches) * _batch(cut)
        run = sub_range(progress, 0.3, 0.95)
        if runtime == "litert":
            if cut.kind != "graphdef":
                raise UserError(f"The per-layer analysis of a .tflite needs the original model in a TensorFlow "
                                f"format (Keras, SavedModel, .pb); this one is a {loaded.info.format} model.")
            from .layer_runs import tflite_taps

            progress(0.15, "Making the float reference model")
            float_bytes = _float_tflite(cut)
            progress(0.3, f"Running the float and int8 models on {used} samples")
            taps = tflite_taps(float_bytes, path.read_bytes(), path.name, [t.name for t in cut.inputs], batches, run)
        else:
            from ..convert.openvino_ir import convert_to_ov
            from .layer_runs import openvino_taps

            progress(0.15, "Making the float reference model")
            reference = convert_to_ov(SimpleNamespace(cut=cut, shared={}))
            progress(0.3, f"Running the float and int8 models on {used} samples")
            taps, first = openvino_taps(reference, str(path), [t.name for t in cut.inputs],
                                        [list(t.shape) for t in cut.inputs], batches, run)
        names = mapper(loaded.info.graph, cut)
        if runtime == "openvino":
            from .ov_names import names_by_value

            progress(0.95, "Naming the layers")
            twins = names_by_value(cut, batches[0], first)
            names = _renamed(names, twins, {t.node: t.members for t in taps})
        names = _in_graph_order(names, loaded.info.graph)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rows = _rows(taps, names)
    notes = []
    if not rows:
        notes.append("No layer of the int8 model could be matched with the float model's, so nothing was compared.")
    if inputs.summary.note:
        notes.append(inputs.summary.note)
    sha = sha256_of(path)
    description = inputs.summary.description
    progress(1.0, "Per-layer analysis finished")
    return LayerReport(
        artifact=str(path.resolve()), file=path.name, sha256=sha, runtime=runtime, data=description, samples=used,
        rows=tuple(rows), notes=tuple(notes), seconds=round(time.monotonic() - started, 3),
        key=layers_key(sha, description),
    )


def _rows(taps, names) -> list[LayerError]:
    error = {t.node: t.stats.error for t in taps}
    rows = []
    for t in taps:
        if not t.stats.n:
            continue
        before = max((error.get(i, 0.0) for i in t.inputs), default=0.0)
        e = t.stats.error
        rows.append(LayerError(
            node=t.node, op=t.op, source_nodes=tuple(names(t.node)), error=_round(e), added=_round(e - max(before, 0.0)),
            rmse_scale=_round(t.stats.rmse / t.scale) if t.scale else None, quantized=t.quantized,
        ))
    rows.sort(key=lambda r: -r.added)
    return rows


def _in_graph_order(names, graph):
    """The mapper, its nodes in the original graph's order: a fused op ("relu2, conv2") names its first layer
    first (conv2), the one that computes."""
    order = {n.name: i for i, n in enumerate(graph.nodes)}
    return lambda node: tuple(sorted(names(node), key=lambda n: order.get(n, len(order))))


def _renamed(names, twins: dict, members: dict):
    """The mapper, asked with the TensorFlow op each IR op of a fused chain computes the same values as,
    where one does; the chain's original nodes together, in graph order."""
    def find(node: str) -> tuple[str, ...]:
        found: list[str] = []
        for m in members.get(node) or (node,):
            found.extend(names(twins.get(m, m)))
        return tuple(dict.fromkeys(found))

    return find


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def _batch(cut) -> int:
    sizes = {int(t.shape[0]) for t in cut.inputs if t.shape and int(t.shape[0]) > 0}
    return sizes.pop() if len(sizes) == 1 else 1


def _batches(arrays: list, cut, samples: int) -> list:
    """The first `samples` samples (rounded down to whole batches; at least one batch), shaped for the cut."""
    batch = _batch(cut)
    n = min(len(arrays[0]), max(samples, batch))
    n = (n // batch) * batch
    if n == 0:
        raise UserError(f"The cut takes batches of {batch} samples but the data holds only {len(arrays[0])}.")
    return [[a[s:s + batch].reshape(t.shape) for a, t in zip(arrays, cut.inputs)] for s in range(0, n, batch)]


def _float_tflite(cut) -> bytes:
    """A float .tflite of the cut, made as the int8 one was but without quantization: its tensors keep the
    same names, so they can be matched one by one."""
    from ..convert.tflite_calibrated import frozen_converter
    from ..doctor import tool_line

    conv = frozen_converter(cut.path, [t.name for t in cut.inputs], [t.name for t in cut.outputs],
                            [list(t.shape) for t in cut.inputs])
    try:
        return conv.convert()
    except Exception as exc:  # the converter's own errors, many kinds
        raise UserError(f"TensorFlow Lite could not make the float model to compare with: {tool_line(str(exc))[:200]}") from exc
