"""Data a person probably keeps next to their model (an image folder, labelled by sub-folder or not, a
.npy or .npz), found by a short, bounded look at the model's folder and the one above it, so the wizard
can offer it for calibration or verification. Nothing here chooses for the person: it only lists.

The look is capped in directory entries and in time, and never goes deeper than two folders below
the model's own folder or the one above it: a model kept in a home folder does not make
it walk the home folder. Array files are described from their headers only (core.arrays, which reads
NumPy's header format and never unpickles); no array data is read."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from .calibrate import IMAGE_SUFFIXES

ARRAY_SUFFIXES = (".npy", ".npz")
SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "dist-packages", "venv", "variables"}
# In a folder too wide to look through (the home folder), only sub-folders named like data are opened.
DATA_WORDS = ("calib", "representative", "quant", "train", "data", "sample", "val", "test", "eval", "image", "img",
              "holdout")
MAX_ENTRIES = 4000  # directory entries looked at in all
MAX_SECONDS = 1.0
MAX_PER_FOLDER = 2000  # entries counted in one folder before saying "more than"
MAX_ARCHIVE_MEMBERS = 16
LIMIT = 8  # candidates returned

# Names that say what a file or folder is for, best first, per purpose.
_HINTS = {
    "calibration": ("calib", "representative", "repr", "quant", "train", "data", "sample", "val", "test", "eval"),
    "verify": ("test", "val", "eval", "holdout", "data", "sample", "train", "calib", "representative", "quant"),
}

Shape = Optional[tuple[Optional[int], ...]]


@dataclass(frozen=True)
class DataCandidate:
    path: Path
    kind: str  # "labelled-images", "images", "arrays"
    description: str  # what it holds: "312 images in 10 labelled folders", "x: 500×32×32×1 float32, y: 500 labels"
    labelled: bool
    samples: Optional[int] = None  # None when not counted to the end
    fits: Optional[bool] = None  # matches the model's input: True, False, or None when it cannot tell
    fit_note: str = ""  # "fits the model's input (32×32×1 per sample)", "the model takes 32×32×1 per sample"
    depth: int = 0  # 0: beside the model; more: further away

    @property
    def label(self) -> str:
        """One line for a list: the name and what it holds."""
        return f"{self.path.name} — {self.description}"


class _Budget:
    """Counts entries looked at and the time spent; the look stops when either runs out."""

    def __init__(self, max_entries: int, max_seconds: float) -> None:
        self.left = max_entries
        self.deadline = time.monotonic() + max_seconds

    @property
    def spent(self) -> bool:
        return self.left <= 0 or time.monotonic() > self.deadline

    def entries(self, folder: Path):
        """(entries, complete): at most MAX_PER_FOLDER entries of `folder`, fewer when the budget runs out."""
        out: list[os.DirEntry] = []
        limit = MAX_PER_FOLDER
        try:
            with os.scandir(folder) as it:
                for entry in it:
                    if self.spent or len(out) >= limit:
                        return out, False
                    self.left -= 1
                    if not entry.name.startswith("."):
                        out.append(entry)
        except OSError:
            return out, False
        return out, True


def find_candidates(model_path: str | os.PathLike, inputs: Sequence[tuple[str, Shape]] = (), purpose: str = "verify",
                    *, max_entries: int = MAX_ENTRIES, max_seconds: float = MAX_SECONDS,
                    limit: int = LIMIT) -> list[DataCandidate]:
    """Data found near MODEL_PATH, best first. `inputs` are the model's (cut's) inputs as (name, shape
    with the batch axis first, None for an unknown size); they decide whether an array file fits.
    `purpose` ("calibration" or "verify") orders the names that say what they are for."""
    model = Path(model_path).expanduser()
    here = model.parent
    budget = _Budget(max_entries, max_seconds)
    found: dict[Path, DataCandidate] = {}
    shallow = _is_wide_folder(here)  # a model kept in the home folder: look beside it only

    def add(c: Optional[DataCandidate]) -> None:
        if c is not None:
            found.setdefault(c.path, c)

    entries, _ = budget.entries(here)
    folders = []
    for e in entries:
        if _is_array_file(e):
            add(_arrays(Path(e.path), inputs, 0))
        elif _is_folder(e) and Path(e.path) != model:
            folders.append(Path(e.path))
    if shallow:
        folders = [f for f in folders if any(w in f.name.lower() for w in DATA_WORDS)]
    for folder in folders:
        candidate, below = _images(folder, inputs, budget, 1)
        add(candidate)
        if candidate is None and not shallow:
            for sub in below:
                add(_images(sub, inputs, budget, 2)[0])
            for e in _array_entries(folder, budget):
                add(_arrays(Path(e.path), inputs, 1))
    up = here.parent
    if not shallow and up != here and not _is_wide_folder(up):
        entries, _ = budget.entries(up)
        for e in entries:
            if _is_array_file(e):
                add(_arrays(Path(e.path), inputs, 1))
            elif _is_folder(e) and Path(e.path) != here:
                candidate, below = _images(Path(e.path), inputs, budget, 2)
                add(candidate)
                for sub in below:  # a data folder beside the model's, with its splits: ../data/test/<class>/
                    add(_images(sub, inputs, budget, 3)[0])
    return sorted(found.values(), key=lambda c: _rank(c, purpose))[:limit]


def _is_wide_folder(folder: Path) -> bool:
    """The home folder or a file system's root: too wide to look through."""
    try:
        home = Path.home().resolve()
    except (RuntimeError, OSError):
        home = None
    resolved = folder.resolve()
    return resolved == home or resolved.parent == resolved


def _is_folder(e: os.DirEntry) -> bool:
    try:
        return e.is_dir() and e.name.lower() not in SKIP_DIRS
    except OSError:
        return False


def _is_array_file(e: os.DirEntry) -> bool:
    try:
        return e.name.lower().endswith(ARRAY_SUFFIXES) and e.is_file()
    except OSError:
        return False


def _is_image(e: os.DirEntry) -> bool:
    return os.path.splitext(e.name)[1].lower() in IMAGE_SUFFIXES


def _array_entries(folder: Path, budget: _Budget):
    entries, _ = budget.entries(folder)
    return [e for e in entries if _is_array_file(e)]


def _images(folder: Path, inputs, budget: _Budget, depth: int) -> tuple[Optional[DataCandidate], list[Path]]:
    """(the candidate `folder` is, or None; its sub-folders that hold no images, to look into further)."""
    entries, complete = budget.entries(folder)
    direct = sum(1 for e in entries if _is_image(e))
    subs = [Path(e.path) for e in entries if _is_folder(e)]
    per_class: list[int] = []
    empty: list[Path] = []
    for sub in subs:
        sub_entries, sub_complete = budget.entries(sub)
        complete = complete and sub_complete
        n = sum(1 for e in sub_entries if _is_image(e))
        (per_class.append(n) if n else empty.append(sub))
    total = direct + sum(per_class)
    if not total:
        return None, empty
    fits, note = _image_fit(inputs)
    more = "" if complete else "at least "
    if direct or len(per_class) < 2:  # images of no class, or all of one: no labels to learn from
        n_images = f"{more}{total} image{'s' if total != 1 else ''}"
        return DataCandidate(folder, "images", f"{n_images}, no labels", False, total if complete else None,
                             fits, note, depth), []
    desc = f"{more}{total} images in {len(per_class)} labelled folders"
    return DataCandidate(folder, "labelled-images", desc, True, total if complete else None, fits, note, depth), []


def _image_fit(inputs) -> tuple[Optional[bool], str]:
    """Images are resized to the input, so they fit any single image input (height, width, channels)."""
    if not inputs:
        return None, ""
    if len(inputs) != 1:
        return False, f"the model takes {len(inputs)} inputs; a folder of images feeds one"
    shape = inputs[0][1]
    if shape is None:
        return None, ""
    if len(shape) == 4 and (shape[-1] in (1, 3, 4) or shape[1] in (1, 3)):
        return None, "resized to the model's input"
    return False, f"the model's input ({_dims(shape[1:])} per sample) is not an image"


def _arrays(path: Path, inputs, depth: int) -> Optional[DataCandidate]:
    """A .npy or .npz described from its headers; None when it cannot be read (damaged, pickled, not NumPy)."""
    from .arrays import ArrayFile
    from .errors import UserError

    try:
        with ArrayFile(path, "data") as f:
            names = f.names[:MAX_ARCHIVE_MEMBERS] if f.is_archive else (None,)
            heads = {name: f.header(name) for name in names}
            more = max(0, len(f.names) - len(names))
    except (UserError, OSError, ValueError, EOFError):
        return None
    if not heads:
        return None
    labels = heads.get("y")
    arrays = {k: h for k, h in heads.items() if k != "y"}
    if not arrays:
        return None
    parts = []
    for name, h in list(arrays.items())[:3]:
        text = f"{_dims(h.shape)} {h.dtype.name}"
        parts.append(text if name is None else f"{name}: {text}")
    if len(arrays) + more > 3:
        parts.append(f"{len(arrays) + more - 3} more arrays")
    first = next(iter(arrays.values()))
    samples = first.shape[0] if first.shape else None
    labelled = labels is not None and bool(labels.shape) and samples is not None and labels.shape[0] == samples
    if labelled:
        parts.append(f"y: {samples} labels")
    fits, note, samples = _array_fit(arrays, inputs, samples)
    return DataCandidate(path, "arrays", ", ".join(parts), labelled, samples, fits, note, depth)


def _array_fit(arrays: dict, inputs, samples):
    """(fits, note, samples) of arrays by name against the inputs, as core.verify.data pairs them: by the
    input's name, else 'x', else the only array."""
    if not inputs or any(s is None for _, s in inputs):
        return None, "", samples
    pairs = []
    for name, shape in inputs:
        if name in arrays:
            head = arrays[name]
        elif len(inputs) == 1 and ("x" in arrays or len(arrays) == 1):
            head = arrays["x"] if "x" in arrays else next(iter(arrays.values()))
        else:
            return False, f"no array named after the input '{name}'" + (" or called x" if len(inputs) == 1 else ""), samples
        if head.dtype.kind not in "biuf":
            return False, f"holds {head.dtype.name} values, not numbers", samples
        pairs.append((head.shape, tuple(shape)))
    per_sample = "; ".join(_dims(s[1:]) for _, s in pairs)
    for have, want in pairs:
        if _same(have, want[1:]):
            samples = 1  # one sample without its batch axis
        elif not (len(have) == len(want) and _same(have[1:], want[1:])):
            return False, f"the model takes {per_sample} per sample", samples
    return True, f"fits the model's input ({per_sample} per sample)", samples


def _same(have: tuple, want: tuple) -> bool:
    return len(have) == len(want) and all(w is None or w < 0 or h == w for h, w in zip(have, want))


def _dims(shape) -> str:
    return "×".join("?" if d is None or d < 0 else str(d) for d in shape) if shape else "one value"


def _rank(c: DataCandidate, purpose: str):
    hints = _HINTS.get(purpose, _HINTS["verify"])
    name = c.path.name.lower()
    hint = next((i for i, h in enumerate(hints) if h in name), len(hints))
    fit = {True: 0, None: 1, False: 2}[c.fits]
    if purpose == "calibration":  # labels do not matter to calibration; a name saying what it is for does
        return fit, hint, c.depth, not c.labelled, name
    return fit, not c.labelled, hint, c.depth, name
