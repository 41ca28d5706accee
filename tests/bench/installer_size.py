"""Prints the size of the Linux installer by component (TensorFlow, OpenVINO, Qt, LiteRT, NNCF, the
numeric libraries, ...): in the frozen folder and in the .deb (installed bytes, from the package's
file list), each against the same components' wheels in this venv's site-packages (what the recipe
starts from, unstripped and unfiltered) measured in the same run, and, when earlier builds are given,
against those (after/before ratios). The .deb's own size is its compressed data member.

Run (after `make package`, or packaging/build.sh with OUT=...):
  .venv/bin/python tests/bench/installer_size.py --deb NEW.deb [--folder NEW/dist/edgewizard]
      [--before-deb OLD.deb] [--before-folder OLD/dist/edgewizard]"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import sysconfig
from collections import defaultdict
from pathlib import Path

MB = 1024 * 1024
# Top-level names under _internal/ (and in site-packages), dist-info folders by their project name.
COMPONENTS = {
    "TensorFlow + Keras": ("tensorflow", "keras", "ml_dtypes", "h5py", "google", "absl", "flatbuffers",
                           "opt_einsum", "gast", "astunparse", "wrapt", "termcolor", "optree", "grpc", "grpcio",
                           "tensorboard", "tensorboard_data_server", "protobuf", "namex", "libclang", "clang"),
    "OpenVINO": ("openvino", "openvino_telemetry"),
    "PySide6 / Qt": ("pyside6", "pyside6_essentials", "pyside6_addons", "shiboken6"),
    "LiteRT": ("ai_edge_litert",),
    "NNCF": ("nncf",),
    "numpy, scipy, Pillow, ONNX": ("numpy", "scipy", "pil", "pillow", "onnx"),
    "Netron, pyqtgraph": ("netron", "pyqtgraph"),
}
# In the frozen folder only: the interpreter and the system libraries PyInstaller bundled.
PYTHON = re.compile(r"(libpython3.*|python3\.\d+|base_library\.zip)$")
EXECUTABLE = "edgewizard (bootloader + every Python module, compressed)"
REST = "rest"


def component(relative: str) -> str:
    """The component of a path relative to _internal/ (or site-packages)."""
    top = relative.split("/", 1)[0]
    if "/" not in relative and PYTHON.match(top) is None and re.search(r"\.so(\.\d+)*$", top):
        return "system libraries (bundled)"
    if PYTHON.match(top):
        return "Python"
    name = top.lower()
    if name.endswith((".dist-info", ".egg-info")):
        name = re.split(r"-\d", name, maxsplit=1)[0].replace("-", "_")
    name = name.removesuffix(".libs")
    for label, names in COMPONENTS.items():
        if name in names:
            return label
    return REST


def folder_sizes(folder: Path) -> dict[str, int]:
    sizes: dict[str, int] = defaultdict(int)
    internal = folder / "_internal"
    for path in folder.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        if path.parent == folder:
            sizes[EXECUTABLE if path.name == "edgewizard" else REST] += path.stat().st_size
        else:
            sizes[component(path.relative_to(internal).as_posix())] += path.stat().st_size
    return sizes


def deb_sizes(deb: Path) -> dict[str, int]:
    """Installed bytes by component, from the package's file list (nothing is unpacked)."""
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    sizes: dict[str, int] = defaultdict(int)
    for line in listing.splitlines():
        fields = line.split(None, 5)
        if len(fields) < 6 or not fields[0].startswith("-"):  # regular files only
            continue
        size, path = int(fields[2]), fields[5].removeprefix("./")
        if path.startswith("opt/edgewizard/_internal/"):
            sizes[component(path.removeprefix("opt/edgewizard/_internal/"))] += size
        elif path == "opt/edgewizard/edgewizard":
            sizes[EXECUTABLE] += size
        else:
            sizes[REST] += size
    return sizes


def deb_members(deb: Path) -> dict[str, int]:
    """The ar members of a .deb and their sizes: data.tar.xz (or .zst, .gz) is what compression made."""
    members = {}
    with open(deb, "rb") as f:
        if f.read(8) != b"!<arch>\n":
            raise SystemExit(f"{deb} is not a Debian package")
        while header := f.read(60):
            name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58].decode().strip())
            members[name] = size
            f.seek(size + (size & 1), 1)
    return members


def venv_sizes() -> dict[str, int]:
    """The same components' installed wheels in this interpreter's site-packages."""
    site = Path(sysconfig.get_path("purelib"))
    sizes: dict[str, int] = defaultdict(int)
    for top in site.iterdir():
        label = component(top.name + ("/" if top.is_dir() else ""))
        if label in COMPONENTS:
            files = [top] if top.is_file() else (p for p in top.rglob("*") if p.is_file() and not p.is_symlink())
            sizes[label] += sum(p.stat().st_size for p in files if "__pycache__" not in p.parts)
    return sizes


def ratio(a: int | None, b: int | None) -> str:
    return f"{a / b:.2f}" if a and b else "-"


def mb(n: int | None) -> str:
    return f"{n / MB:,.0f}" if n else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deb", type=Path, required=True)
    parser.add_argument("--folder", type=Path, help="the frozen folder the .deb was made from")
    parser.add_argument("--before-deb", type=Path)
    parser.add_argument("--before-folder", type=Path)
    args = parser.parse_args(argv)

    venv = venv_sizes()
    now, before = deb_sizes(args.deb), deb_sizes(args.before_deb) if args.before_deb else {}
    frozen = folder_sizes(args.folder) if args.folder else {}
    frozen_before = folder_sizes(args.before_folder) if args.before_folder else {}
    labels = [*COMPONENTS, "Python", "system libraries (bundled)", EXECUTABLE, REST]

    print(f"Installer size by component, MB (MiB); venv = this venv's site-packages ({sys.prefix})")
    head = f"{'component':<58}{'venv':>7}{'folder':>8}{'÷venv':>7}{'.deb':>8}{'÷venv':>7}"
    if before:
        head += f"{'before':>8}{'now÷before':>12}"
    if frozen_before:
        head += f"{'folder before':>15}"
    print(head)
    for label in labels + ["total"]:
        pick = (lambda d: sum(d.values())) if label == "total" else (lambda d: d.get(label, 0))
        v = sum(venv.values()) if label == "total" else venv.get(label)
        row = f"{label:<58}{mb(v):>7}{mb(pick(frozen)):>8}{ratio(pick(frozen), v):>7}{mb(pick(now)):>8}{ratio(pick(now), v):>7}"
        if before:
            row += f"{mb(pick(before)):>8}{ratio(pick(now), pick(before)):>12}"
        if frozen_before:
            row += f"{mb(pick(frozen_before)):>15}"
        print(row)
    print("(venv total: the listed components only; the Python modules of every component are compressed "
          "into the executable, so a component's folder share is its libraries and data files)")

    print()
    for name, deb, listed in (("now", args.deb, now), ("before", args.before_deb, before)):
        if deb is None:
            continue
        members = deb_members(deb)
        data = next((m for m in members if m.startswith("data.tar")), "?")
        installed = sum(listed.values())
        print(f".deb {name}: {deb.stat().st_size / MB:,.0f} MB ({data}: {members.get(data, 0) / MB:,.0f} MB); "
              f"installs {installed / MB:,.0f} MB; compressed/installed {ratio(deb.stat().st_size, installed)}")
    if before:
        print(f".deb now/before: {ratio(args.deb.stat().st_size, args.before_deb.stat().st_size)}; "
              f"installed now/before: {ratio(sum(now.values()), sum(before.values()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
