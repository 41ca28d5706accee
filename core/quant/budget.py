"""Fit an int8 model to an accuracy budget: keep the layers that lose most in float, one more at a time,
until the accuracy drop on the person's labelled data is within the budget (or nothing is left to try).

TFLite targets (tflite-int8, edgetpu): full int8 first; then the per-layer analysis (layers.py) ranks the
layers by the error they add, and each next candidate keeps the next worst layer in float as well (a layer
the previous candidate already kept, as the input of another, is skipped). OpenVINO INT8: the same search,
plus NNCF's own accuracy control (nncf.quantize_with_accuracy_control with the budget) as a candidate.

Every candidate is a real conversion through convert/run.py into its own folder under `work_dir`, then
run on the labelled data: accuracy, size, ops on the accelerator, latency on this computer. Adopting one is
converting the plan again with options.keep_float = candidate.keep_float (the same model for TFLite)."""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from ..errors import UserError
from ..plan import ConvertOptions, LoadOptions, Selection, stable_key
from ..progress import ProgressFn, no_progress, sub_range
from ..verify.data import VerifyData
from .results import BudgetResult, Candidate

TARGETS = ("tflite-int8", "edgetpu", "openvino-int8")
LATENCY_RUNS = 30


def budget_key(source_sha: str, selection: Selection, target: str, options: ConvertOptions, data: str,
               max_drop: float) -> str:
    return stable_key("budget", source_sha, selection, target, dataclasses.replace(options, keep_float=(),
                                                                                   keep_float_why=""), data, max_drop)


def search(source: str, load_options: LoadOptions, selection: Selection, target: str, options: ConvertOptions,
           data: VerifyData, max_drop: float, work_dir: str, progress: ProgressFn = no_progress,
           max_candidates: int = 6) -> BudgetResult:
    """Runs in the worker. `max_drop` in points (1.0 = one percentage point of top-1 accuracy)."""
    from ..convert.base import get_target
    from ..cut import cut as cut_model
    from ..files import sha256_of
    from ..loaders import load
    from ..verify.data import load_inputs
    from ..verify.metrics import labelled_output
    from ..verify.run import _batch, _run_all
    from ..verify.runners import open_reference

    started = time.monotonic()
    target = get_target(target).name
    if target not in TARGETS:
        raise UserError("An accuracy budget applies to int8 models: TensorFlow Lite int8, the Edge TPU or OpenVINO "
                        "INT8.", cli_hint="-t tflite-int8, edgetpu or openvino-int8")
    if max_drop < 0:
        raise UserError("The accuracy drop allowed must be zero or more points.", cli_hint="--max-drop POINTS")
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    progress(0.0, "Running the original model on the labelled data")
    loaded = load(Path(source).expanduser(), load_options)
    cut = cut_model(loaded, selection, work / "cut")
    inputs = load_inputs(data, cut.inputs)
    if inputs.labels is None:
        raise UserError("An accuracy budget needs labelled data (a .npz with x and y, or an image folder with a "
                        "sub-folder per class).", cli_hint="--data LABELLED")
    batch = _batch(cut)
    reference = _run_all(open_reference(cut), inputs.arrays, batch, cut, "the original model")
    n = len(reference[0])
    arrays, labels = [a[:n] for a in inputs.arrays], inputs.labels[:n]
    which = labelled_output(reference, labels)
    if which is None:
        raise UserError("The labels do not fit any classifier output of the model, so there is no accuracy to keep.")
    float_acc = float((reference[which].reshape(n, -1).argmax(1) == labels).mean())
    evaluate = _Evaluator(cut, arrays, labels, which, batch, target, float_acc, max_drop)
    describe = inputs.summary.description

    candidates: list[Candidate] = []
    steps = max(2, max_candidates)

    covered: set[str] = set()  # original layers some candidate already kept in float (asked, or feeding one)

    def convert_candidate(keep: tuple[str, ...], label: str) -> Candidate:
        from ..convert.run import convert

        k = len(candidates)
        lo = 0.05 + 0.9 * k / steps
        folder = work / f"candidate-{k}"
        progress(lo, f"Candidate {k + 1}: {label}")
        opts = dataclasses.replace(options, keep_float=keep, keep_float_why="accuracy budget search")
        manifest = convert(source, load_options, selection, [target], str(folder), opts, force=True,
                           progress=sub_range(progress, lo, lo + 0.9 / steps * 0.8))
        covered.update(manifest.artifact(target).details.get("keep_float", {}).get("kept", ()))
        return evaluate(manifest, folder, keep, label)

    best = convert_candidate((), "full int8")
    candidates.append(best)
    if not best.fits:
        ranking = _ranking(source, load_options, selection, target, best, data, progress)
        kept: tuple[str, ...] = ()
        for node in ranking:
            if len(candidates) >= max_candidates or candidates[-1].fits:
                break
            if node in covered:
                continue
            kept = kept + (node,)
            candidates.append(convert_candidate(kept, f"{', '.join(kept)} in float"))
        if target == "openvino-int8" and not any(c.fits for c in candidates):
            candidates.append(_nncf_candidate(cut, loaded, options, arrays, labels, which, batch, evaluate, work,
                                              max_drop, max_candidates, progress))
    fitting = [i for i, c in enumerate(candidates) if c.fits]
    chosen = fitting[0] if fitting else max(range(len(candidates)), key=lambda i: candidates[i].accuracy)
    c = candidates[chosen]
    points = f"{max_drop:g} point{'s' if max_drop != 1 else ''}"
    if fitting and not c.keep_float:
        message = (f"Full int8 already keeps the accuracy within {points} of the float model ({_pct(c.accuracy)} "
                   f"against {_pct(float_acc)}); nothing needs to stay in float.")
    elif fitting:
        message = (f"With {', '.join(c.keep_float)} in float, the accuracy stays within {points} of the float model "
                   f"({_pct(c.accuracy)} against {_pct(float_acc)}).")
    else:
        message = (f"No candidate kept the accuracy within {points} of the float model ({_pct(float_acc)}); the "
                   f"closest is {c.label} at {_pct(c.accuracy)}.")
    progress(1.0, "Accuracy budget search finished")
    return BudgetResult(target=target, float_accuracy=float_acc, max_drop=max_drop, data=describe, samples=n,
                        candidates=tuple(candidates), chosen=chosen, fits=bool(fitting), message=message,
                        seconds=round(time.monotonic() - started, 2),
                        key=budget_key(sha256_of(Path(source).expanduser()), selection, target, options, describe,
                                       max_drop))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _ranking(source, load_options, selection, target, full: Candidate, data, progress) -> list[str]:
    """The original layers of the full-int8 candidate, worst first by the error each adds."""
    from .layers import per_layer

    model = next(f for f in full.files if f.endswith((".tflite", ".xml")))
    progress(None, "Finding the layers that lose most")
    report = per_layer(source, load_options, selection, model, data)
    return report.worst_nodes(len(report.rows))


class _Evaluator:
    """Runs a candidate on the labelled data and measures what the table shows."""

    def __init__(self, cut, arrays, labels, which, batch, target, float_acc, max_drop) -> None:
        self.cut, self.arrays, self.labels, self.which, self.batch = cut, arrays, labels, which, batch
        self.target, self.float_acc, self.max_drop = target, float_acc, max_drop

    def __call__(self, manifest, folder: Path, keep, label) -> Candidate:
        from ..verify.run import _run_all
        from ..verify.runners import open_artifact, output_order

        artifact = manifest.artifact(self.target)
        model = next(folder / f.name for f in artifact.files if f.name.endswith((".tflite", ".xml"))
                     and not f.name.endswith("_edgetpu.tflite"))
        size = sum((folder / f.name).stat().st_size for f in artifact.files
                   if f.name.endswith((".tflite", ".bin")) and not f.name.endswith("_edgetpu.tflite"))
        runner = open_artifact(model, self.cut)
        outs = _run_all(runner, self.arrays, self.batch, self.cut, model.name)
        acc = self.accuracy(outs[output_order(runner, self.cut, model.name)[self.which]])
        drop = round(100 * (self.float_acc - acc), 4)
        on, total = self.accelerator_ops(model)
        kept = artifact.details.get("keep_float", {}).get("kept", [])
        return Candidate(keep_float=tuple(keep), accuracy=acc, drop=drop, size_bytes=size, accelerator_ops=on,
                         total_ops=total, latency_ms=_latency(runner, self.arrays, self.batch, self.cut),
                         fits=drop <= self.max_drop + 1e-9, files=(str(model),), label=label,
                         note=f"kept: {', '.join(kept)}" if kept else "")

    def accuracy(self, got) -> float:
        return float((got.reshape(len(got), -1).argmax(1) == self.labels[:len(got)]).mean())

    def accelerator_ops(self, model: Path):
        """Edge TPU: ops validation puts on the Edge TPU; other targets: ops computing in int8."""
        if self.target == "edgetpu":
            from ..validate.run import validate

            report = validate(str(model), LoadOptions(), Selection(), ["edgetpu"], run_compiler=True)[0]
            totals = report.totals
            return totals.get("device", 0), sum(totals.values())
        if model.suffix == ".tflite":
            from ..loaders.tflite_loader import parse

            graph, *_ = parse(model.read_bytes(), model.name)
            ops = [n for n in graph.nodes if n.op not in ("QUANTIZE", "DEQUANTIZE")]
            integer = [n for n in ops if n.outputs and n.outputs[0].dtype in ("int8", "uint8", "int16", "int32")]
            return len(integer), len(ops)
        return _openvino_int8_ops(model)


def _openvino_int8_ops(model: Path):
    """Convolutions and matrix products of an INT8 IR that compute in int8: their input comes from a FakeQuantize
    (maybe through pooling, reshapes or transposes NNCF moved it across) or their weights are stored in int8."""
    from ..loaders.openvino_loader import core

    m = core().read_model(str(model))
    compute = [op for op in m.get_ordered_ops() if op.get_type_name() in ("Convolution", "GroupConvolution", "MatMul")]
    return sum(1 for op in compute if _reads_int8(op)), len(compute)


def _reads_int8(op) -> bool:
    """An OpenVINO op computes in int8: one of its inputs is quantized (layer_runs.int8_input)."""
    from .layer_runs import int8_input

    return any(int8_input(i.get_source_output().get_node()) for i in op.inputs())


def _latency(runner, arrays, batch, cut):
    """Median milliseconds of one inference on this computer's CPU, after a warm-up."""
    import statistics

    feed = [a[:batch].reshape(t.shape) for a, t in zip(arrays, cut.inputs)]
    for _ in range(3):
        runner.run(feed)
    times = []
    for _ in range(LATENCY_RUNS):
        t0 = time.perf_counter()
        runner.run(feed)
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 4)


def _nncf_candidate(cut, loaded, options, arrays, labels, which, batch, evaluate, work: Path, max_drop,
                    max_iterations, progress) -> Candidate:
    """NNCF's accuracy control: it quantizes, then reverts the ops that cost most accuracy to float until the
    drop fits (or it gives up); the ops it reverted are mapped back to the original model's layers."""
    import nncf
    import numpy as np
    import openvino as ov
    from nncf.quantization.advanced_parameters import AdvancedAccuracyRestorerParameters

    from ..calibrate import load_calibration
    from ..convert.base import TargetJob
    from ..convert.openvino_ir import convert_to_ov
    from ..validate.source_map import mapper
    from .ov_order import openvino_mapper

    progress(None, "NNCF accuracy control")
    from ..convert.openvino_int8 import quiet_nncf

    quiet_nncf()
    folder = work / "candidate-nncf"
    folder.mkdir(parents=True, exist_ok=True)
    job = TargetJob(cut=cut, stem="nncf", staging=folder, options=options, progress=lambda f, m: None,
                    original=loaded.info.graph)
    model = convert_to_ov(job).clone()
    calibration = load_calibration(options.calibration, cut.inputs)
    pairs = [([a[i:i + batch].reshape(t.shape) for a, t in zip(arrays, cut.inputs)], labels[i:i + batch])
             for i in range(0, (len(labels) // batch) * batch, batch)]

    def validate_fn(compiled, items) -> float:
        hits = 0
        for feed, y in items:
            out = compiled(feed)[compiled.outputs[which]]
            hits += int((np.asarray(out).reshape(len(y), -1).argmax(1) == y).sum())
        return hits / max(1, sum(len(y) for _, y in items))

    quantized = nncf.quantize_with_accuracy_control(
        model, nncf.Dataset(calibration, lambda s: list(s)), nncf.Dataset(pairs), validate_fn,
        max_drop=max_drop / 100.0, drop_type=nncf.DropType.ABSOLUTE, subset_size=len(calibration),
        advanced_accuracy_restorer_parameters=AdvancedAccuracyRestorerParameters(max_num_iterations=max_iterations))
    xml = folder / "nncf_int8.xml"
    ov.save_model(quantized, str(xml), compress_to_fp16=False)
    find = openvino_mapper(quantized, cut, mapper(loaded.info.graph, cut))
    reverted = []
    for op in quantized.get_ordered_ops():
        if op.get_type_name() in ("Convolution", "GroupConvolution", "MatMul") and not _reads_int8(op):
            for s in find(op.get_friendly_name()):
                if s not in reverted:
                    reverted.append(s)
    from ..manifest import Artifact, FileEntry, Manifest

    files = (FileEntry(name=xml.name, size_bytes=xml.stat().st_size, sha256=""),
             FileEntry(name=xml.with_suffix(".bin").name, size_bytes=xml.with_suffix(".bin").stat().st_size, sha256=""))
    manifest = Manifest(artifacts=(Artifact(target="openvino-int8", title="", status="ok", files=files,
                                            details={"keep_float": {"kept": reverted}}),))
    label = f"NNCF accuracy control ({', '.join(reverted)} in float)" if reverted else "NNCF accuracy control"
    cand = evaluate(manifest, folder, tuple(reverted), label)
    return dataclasses.replace(cand, note=(cand.note + "; " if cand.note else "") +
                               "adopting it converts again with these layers left out of quantization")
