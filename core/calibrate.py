"""Representative (calibration) data for full-integer quantization.

Sources: a folder of images (resized to the input, scaled by a preprocessing preset or the user's
mean/scale, RGB or BGR), a .npy/.npz array file, or — only when asked for — synthetic random data
with a loud warning. Multi-input models take one source per input."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .errors import UserError
from .graph import TensorInfo

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}

# name -> (mean, scale): x = (pixel - mean) * scale, per channel in the order given by `color`.
PRESETS = {
    "unit": ((0.0,), (1 / 255.0,)),  # [0, 1]
    "symmetric": ((127.5,), (1 / 127.5,)),  # [-1, 1] (MobileNet, EfficientNet-lite)
    "raw": ((0.0,), (1.0,)),  # [0, 255] as float
    "caffe": ((103.939, 116.779, 123.68), (1.0, 1.0, 1.0)),  # BGR mean subtraction (VGG, ResNet50 Keras)
    "imagenet": ((123.675, 116.28, 103.53), (1 / 58.395, 1 / 57.12, 1 / 57.375)),  # torch-style mean/std
}
SYNTHETIC = "synthetic"
SYNTHETIC_WARNING = (
    "Calibrating with synthetic random data: int8 accuracy will suffer. Give real samples "
    "(a folder of images or an array file) for a model you intend to use."
)


@dataclass(frozen=True)
class CalibrationSpec:
    sources: tuple[tuple[Optional[str], str], ...] = ()  # (input name or None for "the only one", path or "synthetic")
    samples: int = 100
    preset: Optional[str] = None  # key of PRESETS; default "unit"
    mean: Optional[tuple[float, ...]] = None  # overrides the preset's
    scale: Optional[tuple[float, ...]] = None
    color: str = "RGB"  # or "BGR"

    @property
    def given(self) -> bool:
        return bool(self.sources)

    @property
    def synthetic(self) -> bool:
        return any(src == SYNTHETIC for _, src in self.sources)

    def describe(self) -> dict:
        return {
            "sources": [{"input": n, "source": s} for n, s in self.sources],
            "samples": self.samples,
            "preset": self.preset or "unit",
            "mean": list(self.mean) if self.mean else None,
            "scale": list(self.scale) if self.scale else None,
            "color": self.color,
        }


def load_calibration(spec: CalibrationSpec, inputs: tuple[TensorInfo, ...]):
    """A list of samples, each a list of arrays in the order of `inputs` (static shapes, batch 1).

    Raises UserError when no data is given, when an input has no source, or when data does not fit."""
    import numpy as np

    if not spec.given:
        raise UserError(
            "Full-integer (int8) conversion needs calibration data: give a folder of images or a .npy/.npz file "
            "of typical inputs, or choose synthetic data and accept poor int8 accuracy.",
            cli_hint="--calib PATH, or --calib synthetic"
        )
    if spec.samples < 1:
        raise UserError("The number of calibration samples must be at least 1.")
    if spec.color not in ("RGB", "BGR"):
        raise UserError(f"Colour order must be RGB or BGR, not {spec.color!r}.")
    per_input = _assign_sources(spec, inputs)
    rng = np.random.default_rng(0)
    arrays = []
    for tensor, source in zip(inputs, per_input):
        if source == SYNTHETIC:
            arr = _synthetic(tensor, spec, rng)
        else:
            arr = _from_path(Path(source), tensor, spec)
        arrays.append(arr)
    count = min(len(a) for a in arrays)
    return [[a[i : i + 1] for a in arrays] for i in range(count)]


def _assign_sources(spec: CalibrationSpec, inputs: tuple[TensorInfo, ...]) -> list[str]:
    named = {n: s for n, s in spec.sources if n}
    unnamed = [s for n, s in spec.sources if not n]
    unknown = [n for n in named if n not in {t.name for t in inputs}]
    if unknown:
        names = ", ".join(t.name for t in inputs)
        raise UserError(f"Calibration data was given for '{unknown[0]}', which is not an input of the model (its inputs: {names}).")
    out = []
    for t in inputs:
        if t.name in named:
            out.append(named[t.name])
        elif unnamed and (len(inputs) == 1 or unnamed[0] == SYNTHETIC or len(unnamed) == len(inputs)):
            out.append(unnamed[0] if len(unnamed) == 1 else unnamed[len(out)])
        else:
            raise UserError(
                f"The model has {len(inputs)} inputs and '{t.name}' has no calibration source; give one for each input.",
                cli_hint="--calib NAME=PATH for each"
            )
    return out


def _synthetic(tensor: TensorInfo, spec: CalibrationSpec, rng):
    import numpy as np

    shape = (spec.samples, *tensor.shape[1:])
    if tensor.dtype.startswith("float"):
        mean, scale = _mean_scale(spec, 1)
        lo, hi = (0 - mean[0]) * scale[0], (255 - mean[0]) * scale[0]
        return rng.uniform(lo, hi, size=shape).astype(tensor.dtype)
    info = np.iinfo(tensor.dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(tensor.dtype)


def _from_path(path: Path, tensor: TensorInfo, spec: CalibrationSpec):
    if not path.exists():
        raise UserError(f"Calibration data {path} does not exist.")
    if path.is_dir():
        return _from_images(path, tensor, spec)
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        return _from_array_file(path, tensor, spec)
    if suffix in IMAGE_SUFFIXES:
        return _from_images(path.parent, tensor, spec, only=[path])
    raise UserError(f"Calibration data must be a folder of images or a .npy/.npz file; {path} is neither.")


def _from_array_file(path: Path, tensor: TensorInfo, spec: CalibrationSpec):
    """The first `spec.samples` samples of a .npy, or of one array of a .npz, read from the array's header
    and only as many bytes as those samples take (core.arrays: a huge file costs no more memory than that;
    pickled arrays are never loaded)."""
    import numpy as np

    from .arrays import ArrayFile

    with ArrayFile(path, "calibration data") as f:
        key, which = None, ""
        if f.is_archive:
            keys = f.names
            key = tensor.name if tensor.name in keys else ("x" if "x" in keys else (keys[0] if len(keys) == 1 else None))
            if key is None:
                held = f"arrays {', '.join(keys)}" if keys else "no arrays"
                raise UserError(f"{path} holds {held}; name one after input '{tensor.name}' or call it 'x'.")
            which = f" (array '{key}')"
        want, shape = tuple(tensor.shape[1:]), f.header(key).shape
        if shape != want and shape[1:] != want:
            raise UserError(
                f"Calibration data in {path}{which} has shape {shape}, but input '{tensor.name}' takes samples of "
                f"shape {want} (plus a leading sample axis)."
            )
        # A single sample without the sample axis is read whole.
        arr = f.read(key, spec.samples) if shape and shape[1:] == want else f.read(key)[None]
    if not np.can_cast(arr.dtype, np.dtype(tensor.dtype), casting="same_kind") and not (
        arr.dtype.kind in "uib" and np.dtype(tensor.dtype).kind == "f"
    ):
        raise UserError(f"Calibration data in {path} is {arr.dtype}, which does not fit input '{tensor.name}' ({tensor.dtype}).")
    if len(arr) == 0:
        raise UserError(f"Calibration data in {path} holds no samples (its shape is {arr.shape}).")
    if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        raise UserError(f"Calibration data in {path} contains NaN or infinite values; give real inputs of the model.")
    return arr.astype(tensor.dtype)


def _mean_scale(spec: CalibrationSpec, channels: int):
    preset = spec.preset or "unit"
    if preset not in PRESETS:
        raise UserError(f"Unknown preprocessing preset {preset!r}; choose one of {', '.join(PRESETS)}.")
    mean, scale = PRESETS[preset]
    mean = spec.mean or mean
    scale = spec.scale or scale
    fit = lambda v: tuple(v) * channels if len(v) == 1 else tuple(v)  # noqa: E731
    mean, scale = fit(mean), fit(scale)
    if len(mean) != channels or len(scale) != channels:
        raise UserError(f"Give one mean and scale value, or one per channel ({channels}).")
    return mean, scale


def _from_images(folder: Path, tensor: TensorInfo, spec: CalibrationSpec, only=None):
    import numpy as np
    from PIL import Image

    shape = tensor.shape
    if len(shape) != 4 or shape[3] not in (1, 3):
        raise UserError(
            f"Input '{tensor.name}' has shape {tensor.shape_text()}, which is not an image (N,H,W,1 or N,H,W,3); "
            "give a .npy/.npz file instead of images."
        )
    _, h, w, c = shape
    found = [] if only else sorted(p for p in folder.rglob("*") if p.is_file())
    files = only or [p for p in found if p.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        others = f"; it holds {len(found)} other file{'s' if len(found) > 1 else ''} ({found[0].name}, ...)" if found else ""
        raise UserError(f"The calibration folder {folder} holds no images (.jpg, .png, ...){others}.")
    mean, scale = _mean_scale(spec, c)
    out = []
    for f in files[: spec.samples]:
        try:
            with Image.open(f) as im:
                im.draft("L" if c == 1 else "RGB", (w, h))  # JPEGs decode at a reduced scale: big photos cost little
                im = im.convert("L" if c == 1 else "RGB").resize((w, h), Image.BILINEAR)
                arr = np.asarray(im, dtype=np.float32).reshape(h, w, c)
        except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for damaged files; each is this file's fault
            raise UserError(f"Calibration image {f} cannot be read: {_image_problem(exc)}; remove it or replace it.") from exc
        if c == 3 and spec.color == "BGR":
            arr = arr[..., ::-1]
        arr = (arr - np.asarray(mean, np.float32)) * np.asarray(scale, np.float32)
        out.append(arr)
    return np.stack(out).astype(tensor.dtype if tensor.dtype.startswith("float") else np.float32)


def _image_problem(exc: Exception) -> str:
    from PIL import Image, UnidentifiedImageError

    if isinstance(exc, UnidentifiedImageError):
        return "it is not an image in a format Pillow reads"
    if isinstance(exc, Image.DecompressionBombError):
        return "it claims more pixels than can be decoded safely"
    if isinstance(exc, (OSError, EOFError)) and "truncated" in str(exc):
        return "it is truncated"
    return f"it is damaged ({type(exc).__name__})"


def parse_calib_args(values: list[str]) -> tuple[tuple[Optional[str], str], ...]:
    """`--calib PATH`, `--calib NAME=PATH` or `--calib synthetic` from the command line."""
    out = []
    for v in values:
        name, sep, rest = v.partition("=")
        if sep and name and not os.path.exists(v) and "/" not in name and "\\" not in name:
            out.append((name, rest))
        else:
            out.append((None, v))
    return tuple(out)
