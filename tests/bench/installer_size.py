"""Prints the size of the Linux installer by component (TensorFlow, OpenVINO, Qt, LiteRT, NNCF, the
numeric libraries, ...), as ratios against references measured in the same run:
  - installed: the bytes each component puts on disk, from the .deb's own contents, against the same
    components' wheels in this venv's site-packages (what the recipe starts from: unstripped,
    unfiltered) and, with --before, against an earlier .deb;
  - compressed: each component compressed on its own with the same compressor for both packages
    (xz -1, fast), so the ratio shows what the change of content did (emptied CUDA kernels show here,
    not in the installed size); the real .deb sizes, each with its own compressor, come after.
With --folder, the frozen folder the .deb was made from is measured too (a check that the package
holds what was built).

Run (after `make package`, or packaging/build.sh with OUT=...; about 3 minutes a .deb on 2 cores):
  .venv/bin/python tests/bench/installer_size.py --deb NEW.deb [--before OLD.deb] [--folder NEW/dist/edgewizard]"""
from __future__ import annotations

import argparse
import lzma
import re
import subprocess
import sys
import sysconfig
import tarfile
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
PYTHON = re.compile(r"(libpython3.*|python3\.\d+|base_library\.zip)$")
SYSTEM = "system libraries (bundled)"
EXECUTABLE = "executable (bootloader + all Python modules, zlib)"
REST = "rest"
DESKTOP = "menu entry, icons, file types, docs (/usr)"
LABELS = [*COMPONENTS, "Python", SYSTEM, EXECUTABLE, REST, DESKTOP]
APP = "opt/edgewizard/"


def component(relative: str) -> str:
    """The component of a path relative to _internal/ (or to site-packages)."""
    top = relative.split("/", 1)[0]
    if PYTHON.match(top):
        return "Python"
    if "/" not in relative and re.search(r"\.so(\.\d+)*$", top):
        return SYSTEM
    name = top.lower()
    if name.endswith((".dist-info", ".egg-info")):
        name = re.split(r"-\d", name, maxsplit=1)[0].replace("-", "_")
    name = name.removesuffix(".libs")
    return next((label for label, names in COMPONENTS.items() if name in names), REST)


def package_component(path: str) -> str:
    """The component of a path inside the .deb (./opt/edgewizard/..., ./usr/...)."""
    path = path.removeprefix("./")
    if path.startswith(APP + "_internal/"):
        return component(path.removeprefix(APP + "_internal/"))
    if path == APP + "edgewizard":
        return EXECUTABLE
    return REST if path.startswith(APP) else DESKTOP


def measure_deb(deb: Path, compress: bool) -> tuple[dict[str, int], dict[str, int]]:
    """(installed bytes, xz -1 bytes) by component, streaming the package's files once."""
    installed: dict[str, int] = defaultdict(int)
    packed: dict[str, lzma.LZMACompressor] = {}
    sizes: dict[str, int] = defaultdict(int)
    tar_stream = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    with tarfile.open(fileobj=tar_stream.stdout, mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            label = package_component(member.name)
            installed[label] += member.size
            if compress:
                compressor = packed.setdefault(label, lzma.LZMACompressor(preset=1))
                source = tar.extractfile(member)
                while block := source.read(1 << 22):
                    sizes[label] += len(compressor.compress(block))
    if tar_stream.wait() != 0:
        raise SystemExit(f"dpkg-deb could not read {deb}")
    for label, compressor in packed.items():
        sizes[label] += len(compressor.flush())
    return installed, sizes


def data_member(deb: Path) -> tuple[str, int]:
    """The compressed data member of a .deb (data.tar.xz, .zst or .gz) and its size."""
    with open(deb, "rb") as f:
        if f.read(8) != b"!<arch>\n":
            raise SystemExit(f"{deb} is not a Debian package")
        while header := f.read(60):
            name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58].decode().strip())
            if name.startswith("data.tar"):
                return name, size
            f.seek(size + (size & 1), 1)
    raise SystemExit(f"{deb} has no data member")


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


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
    parser.add_argument("--before", type=Path, help="an earlier .deb to compare with")
    parser.add_argument("--folder", type=Path, help="the frozen folder NEW.deb was made from")
    parser.add_argument("--installed-only", action="store_true", help="installed sizes only (seconds, not minutes)")
    args = parser.parse_args(argv)

    venv = venv_sizes()
    debs = {"now": args.deb, **({"before": args.before} if args.before else {})}
    installed, packed, members = {}, {}, {}
    for name, deb in debs.items():
        members[name] = data_member(deb)
        installed[name], packed[name] = measure_deb(deb, not args.installed_only)

    def row(label, cells):
        print(f"{label:<52}" + "".join(f"{c:>{w}}" for c, w in cells))

    print(f"Installed size by component, MB (MiB); venv = this venv's site-packages ({sys.prefix})")
    row("component", [("venv", 7), ("before", 8), ("now", 8), ("now÷before", 11), ("now÷venv", 9)])
    for label in LABELS + ["total"]:
        def pick(sizes):
            return sum(sizes.values()) if label == "total" else sizes.get(label, 0)
        v = pick(venv) if label in COMPONENTS or label == "total" else None
        before = pick(installed["before"]) if args.before else None
        now = pick(installed["now"])
        row(label, [(mb(v), 7), (mb(before), 8), (mb(now), 8), (ratio(now, before), 11), (ratio(now, v), 9)])
    print("(venv: the listed components only, Python sources included; the frozen app keeps every component's "
          "Python modules compressed in the executable)")

    if not args.installed_only:
        print()
        print("Compressed by component, MB: each compressed alone with xz -1 (the same for both packages)")
        row("component", [("before", 8), ("now", 8), ("now÷before", 11)])
        for label in LABELS + ["total"]:
            def pick(sizes):
                return sum(sizes.values()) if label == "total" else sizes.get(label, 0)
            before = pick(packed["before"]) if args.before else None
            row(label, [(mb(before), 8), (mb(pick(packed["now"])), 8), (ratio(pick(packed["now"]), before), 11)])

    print()
    for name, deb in debs.items():
        member, size = members[name]
        total = sum(installed[name].values())
        print(f".deb {name}: {deb.stat().st_size / MB:,.0f} MB ({member} {size / MB:,.0f} MB); installs "
              f"{total / MB:,.0f} MB; compressed÷installed {ratio(size, total)}")
    if args.before:
        print(f".deb now÷before: {ratio(args.deb.stat().st_size, args.before.stat().st_size)}; installed "
              f"now÷before: {ratio(sum(installed['now'].values()), sum(installed['before'].values()))}")
    if args.folder:
        in_deb = sum(n for label, n in installed["now"].items() if label != DESKTOP)
        print(f"frozen folder {folder_size(args.folder) / MB:,.0f} MB; the .deb's /opt/edgewizard "
              f"{in_deb / MB:,.0f} MB; folder÷.deb {ratio(folder_size(args.folder), in_deb)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
