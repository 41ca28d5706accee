"""The one reader of NumPy .npy and .npz files a person gives (calibration and verification data).

It reads an array's header first and then only the bytes of the samples asked for, so a huge file
costs no more memory than those samples. It never unpickles (an object array is refused before its
data is read: unpickling can run code) and says what is wrong with a bad file in one sentence.

Zip bombs are refused from the archive's directory, before anything is unpacked: an archive whose
members would unpack to more than MAX_UNPACKED_BYTES in all when it is opened, and a member whose
packed size is a bomb's (core.loaders.limits) when a read would unpack more than a little of it."""
from __future__ import annotations

import math
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from .errors import UserError
from .loaders.limits import gb, zip_bomb_error

# EdgeWizard holds what it reads in memory (verification reads its arrays whole). 10,000 samples of
# 224x224x3 float32 take 6 GB, more than any calibration or verification set needs, and more than
# most machines it runs on have free: a file that would unpack to more is a zip bomb or a mistake.
MAX_UNPACKED_BYTES = 8 * 2**30


@dataclass(frozen=True)
class ArrayHeader:
    shape: tuple[int, ...]
    dtype: Any  # numpy.dtype
    fortran: bool


class ArrayFile:
    """An open .npy, or .npz archive, that `what` ("calibration data") names in messages.

    ``names`` are a .npz's arrays in the archive's order (empty for a .npy); ``name=None`` in
    header() and read() means the .npy's one array."""

    def __init__(self, path, what: str):
        self.path, self.what = Path(path), what
        self._zip: Optional[zipfile.ZipFile] = None
        self._members: dict[str, zipfile.ZipInfo] = {}
        if not self._is_zip():
            if self.path.suffix.lower() == ".npz":
                raise self._error("is not a NumPy .npz archive (or it is damaged)")
            return
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise self._error("is not a NumPy .npz archive (or it is damaged)") from exc
        self._members = {m.filename[:-4]: m for m in self._zip.infolist() if m.filename.endswith(".npy")}
        total = sum(m.file_size for m in self._members.values())
        if total > MAX_UNPACKED_BYTES:
            self.close()
            raise UserError(f"{self.path} is refused: its arrays would unpack to {gb(total)} in all, more than the "
                            f"{gb(MAX_UNPACKED_BYTES)} EdgeWizard reads; nothing was extracted.")

    @property
    def is_archive(self) -> bool:
        return self._zip is not None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._members)

    def header(self, name: Optional[str] = None) -> ArrayHeader:
        with self._open(name) as fp:
            return self._header(fp, name)

    def read(self, name: Optional[str] = None, rows: Optional[int] = None):
        """The array, or only its first `rows` samples (rows along the first axis)."""
        import numpy as np

        with self._open(name) as fp:
            head, shape, size = self._planned_read(fp, name, rows)
            if size > self._left(fp, name):
                raise self._error("is truncated (the file ends before its data does)", name)
            arr = np.empty(shape[::-1] if head.fortran else shape, head.dtype)
            try:
                if size:
                    self._fill(fp, memoryview(arr.reshape(-1).view(np.uint8)), name)
                if self._zip is not None and shape == head.shape:
                    fp.read()  # the member's end: the zip checks its CRC there
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                raise self._error("is damaged", name) from exc
            return arr.T[:rows] if head.fortran else arr

    def check(self) -> None:
        """Refuse now what a whole read of every array would refuse (pickled, damaged, too large, a zip
        bomb), without reading the data: for a file another program (the bench agent) reads whole."""
        for name in self.names or (None,):
            with self._open(name) as fp:
                self._planned_read(fp, name, None)

    def _planned_read(self, fp, name: Optional[str], rows: Optional[int]):
        """(header, shape to read, bytes) of reading `rows` samples (all when None) of one array, refused
        with a sentence when it is too large or would unpack a zip bomb."""
        head = self._header(fp, name)
        shape = head.shape
        if rows is not None and shape:
            rows = min(rows, shape[0])
            # Column-major data puts the first samples everywhere in the file: read it whole.
            shape = (shape[0] if head.fortran else rows, *shape[1:])
        size = math.prod(shape) * head.dtype.itemsize
        if size > MAX_UNPACKED_BYTES:
            hint = (" It is stored in column-major order, so it is read whole; save it again with "
                    "np.save(file, np.ascontiguousarray(x)) to read only the samples needed."
                    if head.fortran and rows is not None and rows < shape[0] else "")
            raise UserError(f"{self.path} is refused: {self._subject(name)} would take {gb(size)} in memory, "
                            f"more than the {gb(MAX_UNPACKED_BYTES)} EdgeWizard reads.{hint}")
        if self._zip is not None:
            refusal = zip_bomb_error(self.path, self._members[name], self.path.stat().st_size,
                                     "set of samples", fp.tell() + size)
            if refusal is not None:
                raise refusal
        return head, shape, size

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> "ArrayFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _is_zip(self) -> bool:
        try:
            with open(self.path, "rb") as f:
                return f.read(4) == b"PK\x03\x04"
        except OSError as exc:
            raise UserError(f"Cannot read the {self.what} {self.path}: {exc.strerror or exc}.") from exc

    def _open(self, name: Optional[str]):
        if self._zip is None:
            try:
                return open(self.path, "rb")
            except OSError as exc:
                raise UserError(f"Cannot read the {self.what} {self.path}: {exc.strerror or exc}.") from exc
        if name not in self._members:
            raise UserError(f"{self.path} holds no array named '{name}'.")
        try:
            return self._zip.open(self._members[name])
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            raise self._error("is damaged", name) from exc

    def _header(self, fp, name: Optional[str]) -> ArrayHeader:
        import numpy as np

        fmt = np.lib.format
        try:
            magic = fp.read(6)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise self._error("is damaged", name) from exc
        if magic != fmt.MAGIC_PREFIX:
            raise self._error("is not a NumPy array" + ("" if name else " file"), name)
        try:
            version = (fp.read(1)[0], fp.read(1)[0])
            reader = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
            if reader is None:
                raise ValueError(f"format version {version}")
            shape, fortran, dtype = reader(fp)
        except Exception as exc:  # noqa: BLE001 - numpy's header parser raises several kinds on garbage
            raise self._error("has a damaged header, or one of a format version EdgeWizard does not read",
                              name) from exc
        if dtype.hasobject:
            raise self._error("holds Python objects (pickled data), which EdgeWizard never loads because "
                              "unpickling can run code; save a numeric array instead", name)
        return ArrayHeader(tuple(int(d) for d in shape), dtype, bool(fortran))

    def _left(self, fp, name: Optional[str]) -> int:
        """Bytes of the file (or member) after the header just read."""
        total = self._members[name].file_size if self._zip is not None else self.path.stat().st_size
        return total - fp.tell()

    def _fill(self, fp, view: memoryview, name: Optional[str]) -> None:
        done = 0
        while done < len(view):
            n = fp.readinto(view[done:])
            if not n:
                raise self._error("is truncated (the file ends before its data does)", name)
            done += n

    def _subject(self, name: Optional[str]) -> str:
        return "it" if name is None else f"array '{name}'"

    def _error(self, problem: str, name: Optional[str] = None) -> UserError:
        return UserError(f"Cannot read the {self.what} {self.path}: {self._subject(name)} {problem}.")
