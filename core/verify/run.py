"""The verify job: load and cut the original once, run it and each artifact on the same inputs, compare."""
from __future__ import annotations

import datetime as _dt
import shutil
import time
from pathlib import Path

from .. import tempdirs
from ..environment import library_versions
from ..errors import UserError
from ..files import sha256_of
from ..loaders import load
from ..progress import ProgressFn, no_progress, sub_range
from ..plan import CutModel, LoadOptions, Selection
from .data import VerifyData, load_inputs
from .metrics import clipped_share, compare, flags, image_layout, labelled_output
from .results import ArtifactCheck, Thresholds, VerifyReport
from .runners import Runner, Skipped, open_artifact, open_reference, output_order


def verify(
    source: str,
    load_options: LoadOptions,
    selection: Selection,
    artifacts: list[str],
    data: VerifyData = VerifyData(),
    thresholds: Thresholds = Thresholds(),
    progress: ProgressFn = no_progress,
) -> VerifyReport:
    """Run the cut of `source` and each artifact on `data`; compare every output. Raises UserError
    for a missing artifact, data that does not fit the inputs, or an artifact that is not this model.
    The report and each artifact's check carry their plan key (VerifyReport.keyed)."""
    from ..cut import cut as cut_model

    started = time.monotonic()
    paths = _artifact_paths(artifacts)
    src = Path(source).expanduser()
    loaded = load(src, load_options, sub_range(progress, 0.0, 0.05))
    workdir = tempdirs.mkdtemp("verify-")
    try:
        progress(0.05, "Cutting the model")
        cut = cut_model(loaded, selection, workdir, sub_range(progress, 0.05, 0.1))
        progress(0.1, "Loading the verification data")
        inputs = load_inputs(data, cut.inputs)
        batch = _batch(cut)
        progress(0.15, f"Running the original model on {inputs.summary.samples} samples")
        reference = _run_all(open_reference(cut), inputs.arrays, batch, cut, "the original model")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    n = len(reference[0])
    arrays = [a[:n] for a in inputs.arrays]
    labels = inputs.labels[:n] if inputs.labels is not None else None
    labelled = labelled_output(reference, labels)
    if labels is not None and labelled is None:
        inputs.summary.note = "The labels do not fit any classifier output of the model, so no accuracy is reported."
    images = arrays[0] if image_layout(tuple(cut.inputs[0].shape)) else None
    targets = _targets_by_file(paths)
    checks = []
    span = 0.8 / max(1, len(paths))
    for k, path in enumerate(paths):
        lo = 0.2 + k * span
        progress(lo, f"Running {path.name}")
        checks.append(_check_artifact(path, cut, arrays, reference, labels, labelled, images, batch, thresholds,
                                      targets.get(path.resolve(), []), data.kind == "random"))
    inputs.summary.samples = n
    progress(1.0, "Verification finished")
    return VerifyReport(
        source={"path": str(src.resolve()), "format": loaded.info.format},
        cut={"inputs": [t.to_dict() for t in cut.inputs], "outputs": [t.to_dict() for t in cut.outputs]},
        data=inputs.summary,
        thresholds=thresholds,
        artifacts=checks,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        tools=library_versions(),
        seconds=round(time.monotonic() - started, 3),
    ).keyed()


def _check_artifact(path, cut, arrays, reference, labels, labelled, images, batch, thresholds, targets, random_data):
    t0 = time.monotonic()
    sha = sha256_of(path)
    try:
        runner = open_artifact(path, cut)
    except Skipped as why:
        return ArtifactCheck(path=str(path.resolve()), file=path.name, targets=targets, runtime="", precision="",
                             status="skipped", notes=[str(why)], sha256=sha)
    got = _run_all(runner, arrays, batch, cut, path.name)
    order = output_order(runner, cut, path.name)
    outputs = []
    for i, t in enumerate(cut.outputs):
        g = got[order[i]]
        if g.shape != reference[i].shape:
            raise UserError(
                f"{path.name} gives output '{t.name}' in shape {g.shape[1:]}, the original model in {reference[i].shape[1:]}; "
                "verify it against the model it was converted from."
            )
        outputs.append(compare(t.name, reference[i], g, labels if i == labelled else None, images))
    clipped = {info["name"]: clipped_share(a, info) for info, a in zip(runner.inputs, arrays)}
    for info in runner.inputs:
        if "range" in info:
            info["clipped"] = clipped[info["name"]]
    found = flags(runner.precision, outputs, runner.inputs, clipped, thresholds, random_data)
    return ArtifactCheck(
        path=str(path.resolve()), file=path.name, targets=targets, runtime=runner.runtime, precision=runner.precision,
        status="flagged" if found else "ok", outputs=outputs, flags=found, inputs=runner.inputs,
        seconds=round(time.monotonic() - t0, 3), notes=list(runner.notes), inference_precision=runner.inference_precision,
        sha256=sha,
    )


def _run_all(runner: Runner, arrays: list, batch: int, cut: CutModel, label: str) -> list:
    """Feed the samples `batch` at a time; one array (samples, *output) per model output."""
    import numpy as np

    n = (len(arrays[0]) // batch) * batch
    if n == 0:
        raise UserError(f"The cut takes batches of {batch} samples but the data holds only {len(arrays[0])}.")
    per_output: list[list] = []
    for start in range(0, n, batch):
        feed = [a[start : start + batch].reshape(t.shape) for a, t in zip(arrays, cut.inputs)]
        outs = runner.run(feed)
        if not per_output:
            per_output = [[] for _ in outs]
        for k, o in enumerate(outs):
            if o.ndim == 0 or o.shape[0] != batch:
                if batch != 1:
                    raise UserError(f"Output {k} of {label} has no batch axis; verify with a batch of 1.",
                                    cli_hint="--shape 1,...")
                o = o[None]
            per_output[k].append(o)
    return [np.concatenate(chunks) for chunks in per_output]


def _batch(cut: CutModel) -> int:
    sizes = {int(t.shape[0]) for t in cut.inputs if t.shape}
    return sizes.pop() if len(sizes) == 1 else 1


def _artifact_paths(artifacts: list[str]) -> list[Path]:
    if not artifacts:
        raise UserError("Give at least one converted model (.tflite or OpenVINO .xml) to verify.")
    paths = []
    for a in artifacts:
        p = Path(a).expanduser()
        if p.suffix.lower() == ".bin" and p.with_suffix(".xml").exists():
            p = p.with_suffix(".xml")
        if not p.is_file():
            raise UserError(f"{p} does not exist." if not p.exists() else f"{p} is not a model file.")
        if p.resolve() not in {q.resolve() for q in paths}:
            paths.append(p)
    return paths


def _targets_by_file(paths: list[Path]) -> dict:
    """Target names from the manifest.json beside each artifact (e.g. tflite-int8 and edgetpu share a file)."""
    from ..manifest import read_manifest

    found: dict = {}
    for folder in {p.parent for p in paths}:
        manifest = read_manifest(folder)
        for a in manifest.artifacts if manifest is not None else ():
            for f in a.files:
                found.setdefault((folder / f.name).resolve(), []).append(a.target)
    return found


