"""The inputs a verification runs on, and their labels when there are any.

A labelled image folder (labels from sub-folder names), a .npz (inputs by input name or `x`,
labels `y`), a .npy, the calibration data, or random data when nothing else is given."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

from ..calibrate import IMAGE_SUFFIXES, CalibrationSpec
from ..errors import UserError
from ..graph import TensorInfo
from .results import DataSummary

RANDOM_NOTE = (
    "Random inputs: the figures show whether the converted model computes the same function, not how it "
    "behaves on real data; give real samples for figures you can act on."
)


@dataclass(frozen=True)
class VerifyData:
    """Where verification inputs come from.

    kind "path": `path` is an image folder (sub-folder names are the labels: whole numbers are class
    indices, other names are numbered in sorted order), a .npz or a .npy; images are scaled as
    `preprocess` says (preset, mean, scale, colour order, as for calibration). kind "calibration":
    the samples `calibration` describes. kind "random": `random_samples` uniform values in [0, 1)."""

    kind: str = "random"
    path: Optional[str] = None
    calibration: CalibrationSpec = CalibrationSpec()
    preprocess: CalibrationSpec = CalibrationSpec()  # only its preset/mean/scale/color are used
    max_samples: int = 1000
    random_samples: int = 64
    seed: int = 0
    label: Optional[str] = None  # how to describe a "path" source (e.g. "the sample's test split")

    @staticmethod
    def from_path(path: str, preprocess: CalibrationSpec = CalibrationSpec(), max_samples: int = 1000,
                  label: Optional[str] = None) -> "VerifyData":
        return VerifyData(kind="path", path=str(path), preprocess=preprocess, max_samples=max_samples, label=label)

    @staticmethod
    def from_calibration(spec: CalibrationSpec, max_samples: int = 1000) -> "VerifyData":
        return VerifyData(kind="calibration", calibration=spec, max_samples=max_samples)


@dataclass
class Inputs:
    """Loaded data: one array per cut input, each (samples, *input shape without its batch)."""

    arrays: list
    labels: Optional[object]  # int array (samples,) or None
    summary: DataSummary
    notes: list[str] = field(default_factory=list)


def load_inputs(data: VerifyData, inputs: tuple[TensorInfo, ...]) -> Inputs:
    import numpy as np

    if data.max_samples < 1:
        raise UserError("The number of verification samples must be at least 1.")
    labels, class_names, source = None, None, data.path
    if data.kind == "random":
        rng = np.random.default_rng(data.seed)
        arrays = [_random(rng, t, data.random_samples) for t in inputs]
        desc = f"{data.random_samples} random inputs (uniform in [0, 1))"
    elif data.kind == "calibration":
        from ..calibrate import load_calibration

        spec = replace(data.calibration, samples=data.max_samples)
        samples = load_calibration(spec, inputs)
        arrays = [np.concatenate([s[i] for s in samples]) for i in range(len(inputs))]
        names = ", ".join(src for _, src in spec.sources)
        desc = f"the calibration data ({names}), {len(samples)} samples without labels"
        source = names
    elif data.kind == "path":
        if not data.path:
            raise UserError("Give a folder of images or a .npz/.npy file to verify with.")
        p = Path(data.path).expanduser()
        if not p.exists():
            raise UserError(f"The verification data {p} does not exist.")
        if p.is_dir():
            arrays, labels, class_names = _image_folder(p, inputs, data)
        elif p.suffix.lower() in (".npz", ".npy"):
            arrays, labels = _array_file(p, inputs, data.max_samples)
        else:
            raise UserError(f"Verification data must be a folder of images or a .npz/.npy file; {p} is neither.")
        what = data.label or str(p)
        desc = f"{what}, {len(arrays[0])} samples" + (" with labels" if labels is not None else " without labels")
    else:
        raise UserError(f"Unknown kind of verification data {data.kind!r}.")
    if not len(arrays[0]):
        raise UserError(f"The verification data ({desc}) holds no samples.")
    ranges = {t.name: [float(np.min(a)), float(np.max(a))] for t, a in zip(inputs, arrays) if a.size and a.dtype != bool}
    summary = DataSummary(
        kind=data.kind,
        description=desc,
        samples=int(len(arrays[0])),
        labelled=labels is not None,
        source=str(source) if source else None,
        class_names=class_names,
        input_ranges=ranges,
        note=RANDOM_NOTE if data.kind == "random" else None,
    )
    return Inputs(arrays=arrays, labels=labels, summary=summary)


def _random(rng, t: TensorInfo, n: int):
    import numpy as np

    shape = (n, *t.shape[1:])
    dtype = np.dtype(t.dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    if dtype.kind in "ui":
        hi = 256 if dtype.itemsize == 1 else 10  # integers beyond bytes are usually indices: keep them small
        return rng.integers(0, hi, size=shape).astype(dtype)
    return rng.random(shape, dtype=np.float32).astype(dtype)


def _pick(rng, n: int, limit: int):
    """Indices of at most `limit` of `n` items, spread over all of them (a folder sorted by class
    would otherwise lose whole classes), in their original order."""
    import numpy as np

    if n <= limit:
        return np.arange(n)
    return np.sort(rng.choice(n, size=limit, replace=False))


def _image_folder(folder: Path, inputs, data: VerifyData):
    import numpy as np

    from ..calibrate import _from_images  # the same resizing and scaling as calibration

    if len(inputs) != 1:
        raise UserError(f"A folder of images feeds a model with one input; this cut has {len(inputs)}. Use a .npz with one array per input.")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"The folder {folder} holds no images (.jpg, .png, ...).")
    files = [files[i] for i in _pick(np.random.default_rng(data.seed), len(files), data.max_samples)]
    spec = replace(data.preprocess, sources=(), samples=len(files))
    x = _from_images(folder, inputs[0], spec, only=files)
    parents = [f.parent.relative_to(folder).parts for f in files]
    if not all(parents):
        return [x], None, None
    names = sorted({p[0] for p in parents})
    if all(n.isdigit() for n in names):
        index = {n: int(n) for n in names}
        class_names = [str(i) for i in range(max(index.values()) + 1)]
    else:
        index = {n: i for i, n in enumerate(names)}
        class_names = names
    return [x], np.array([index[p[0]] for p in parents], dtype=np.int64), class_names


def _array_file(path: Path, inputs, limit: int):
    """The arrays of a .npy or .npz (core.arrays: read whole, never unpickled, a zip bomb refused
    from the archive's directory), one per input, and the labels 'y' when the .npz has them."""
    import numpy as np

    from ..arrays import ArrayFile

    labels = None
    with ArrayFile(path, "verification data") as data:
        if not data.is_archive:
            if len(inputs) != 1:
                raise UserError(f"{path} holds one array but the cut has {len(inputs)} inputs; use a .npz with one array per input name.")
            arrays = [data.read()]
        else:
            keys = list(data.names)
            arrays = []
            for t in inputs:
                rest = [k for k in keys if k != "y"]
                key = t.name if t.name in keys else ("x" if len(inputs) == 1 and "x" in keys else (rest[0] if len(inputs) == 1 and len(rest) == 1 else None))
                if key is None:
                    raise UserError(f"{path} holds arrays {', '.join(keys)}; name one after input '{t.name}'" + (" or call it 'x'." if len(inputs) == 1 else "."))
                arrays.append(data.read(key))
            if "y" in keys:
                labels = data.read("y")
    for i, (t, a) in enumerate(zip(inputs, arrays)):
        want = tuple(t.shape[1:])
        if tuple(a.shape) == want:
            a = a[None]
        if tuple(a.shape[1:]) != want:
            raise UserError(
                f"The data for input '{t.name}' in {path} has shape {tuple(a.shape)}, but the input takes samples of shape {want} "
                "(plus a leading sample axis)."
            )
        if a.dtype.kind not in "biuf":
            raise UserError(f"The data for input '{t.name}' in {path} is {a.dtype}, not numbers.")
        arrays[i] = a.astype(t.dtype, copy=False)
    n = min(len(a) for a in arrays)
    if any(len(a) != n for a in arrays) or (labels is not None and len(labels) != n):
        raise UserError(f"The arrays in {path} hold different numbers of samples; each input (and y) needs one row per sample.")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim == 2 and labels.shape[1] > 1:  # one-hot
            labels = labels.argmax(1)
        if labels.ndim != 1 or (labels.dtype.kind not in "iub" and not np.all(np.mod(labels, 1) == 0)):
            raise UserError(f"The labels 'y' in {path} must be class numbers, one per sample (or one-hot rows).")
        labels = labels.astype(np.int64)
    keep = _pick(np.random.default_rng(0), n, limit)
    return [a[keep] for a in arrays], (labels[keep] if labels is not None else None)
