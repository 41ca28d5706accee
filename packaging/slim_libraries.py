"""Makes the shared libraries of a frozen folder smaller without changing what they do here:

1. Strips those that still carry their symbol tables (TensorFlow's libtensorflow_cc.so.2: 1046 MB ->
   836 MB) with `strip --strip-unneeded`: the static symbol table and debug sections go; the dynamic
   symbols the loader and dlopen/dlsym use stay.
2. Blanks the CUDA kernels built into TensorFlow's libraries (323 MB of GPU machine code in
   .nv_fatbin sections, ~140 MB of a compressed .deb). The frozen app cannot run them: it bundles no
   CUDA runtime, cuDNN or cuBLAS (edgewizard.spec leaves them out) and its runtime hook hides NVIDIA
   GPUs from TensorFlow (hooks/rthook-cpu-only.py). Each fat binary keeps a valid header that says
   it is empty, and the file keeps its size and layout, so a CUDA runtime that registers the kernels
   at load time (a system one, found on the library path) sees empty containers, not garbage.

Stripping touches regular files named *.so or *.so.N that are ELF shared objects with a .symtab or
.debug_* section. Left alone: executables (the PyInstaller bootloader carries the app's archive
after its ELF image; QtWebEngineProcess), symbolic links, already stripped libraries (the system's),
and a library with a FIPS checksum file beside it (.name.hmac / name.hmac: its self-test hashes the
file). A stripped result whose dynamic sections (.dynsym, .dynstr, .dynamic, symbol versions) differ
in size from the original, or whose loadable segments the loader would refuse (strip misplaces them
in libraries that patchelf rewrote), is thrown away and the original kept. Running it again on a
slimmed folder changes nothing.

Usage: python slim_libraries.py FOLDER   (prints what it saved; exit 1 when strip is missing)"""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

SHARED_OBJECT_NAME = re.compile(r".+\.so(\.\d+)*$")
ET_DYN = 3
PT_LOAD = 1
PAGE = 4096
# Sections the dynamic loader reads: stripping must leave them as they were.
DYNAMIC_SECTIONS = (".dynsym", ".dynstr", ".dynamic", ".gnu.version", ".gnu.version_d", ".gnu.version_r",
                    ".gnu.hash", ".hash")
# NVIDIA's fat binary container (fatbinary.h): magic, version, header size, size of what follows.
FATBIN_MAGIC = 0xBA55ED50
FATBIN_HEADER = struct.Struct("<IHHQ")
FATBIN_SECTION = ".nv_fatbin"


def section_table(path: Path) -> dict[str, tuple[int, int]] | None:
    """{section name: (file offset, size)} of an ELF shared object (ET_DYN), or None for anything else."""
    with open(path, "rb") as f:
        ident = f.read(64)
        if len(ident) < 64 or ident[:4] != b"\x7fELF":
            return None
        bits, order = ident[4], "<" if ident[5] == 1 else ">"
        if bits == 2:  # 64-bit
            e_type, = struct.unpack_from(order + "H", ident, 16)
            shoff, = struct.unpack_from(order + "Q", ident, 0x28)
            shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", ident, 0x3A)
            fmt = order + "IIQQQQIIQQ"
        elif bits == 1:
            e_type, = struct.unpack_from(order + "H", ident, 16)
            shoff, = struct.unpack_from(order + "I", ident, 0x20)
            shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", ident, 0x2E)
            fmt = order + "IIIIIIIIII"
        else:
            return None
        if e_type != ET_DYN or shoff == 0 or shnum == 0 or shstrndx >= shnum:
            return None
        f.seek(shoff)
        table = f.read(shentsize * shnum)
        if len(table) < shentsize * shnum:
            return None
        # (name, type, flags, address, offset, size, ...) in both layouts
        headers = [struct.unpack_from(fmt, table, i * shentsize) for i in range(shnum)]
        f.seek(headers[shstrndx][4])
        names = f.read(headers[shstrndx][5])
    sections = {}
    for h in headers:
        start = h[0]
        name = names[start:names.index(b"\0", start)].decode("ascii", "replace") if start < len(names) else ""
        sections[name] = (h[4], h[5])
    return sections


def elf_sections(path: Path) -> dict[str, int] | None:
    """{section name: size} of an ELF shared object (ET_DYN), or None for anything else."""
    table = section_table(path)
    return None if table is None else {name: size for name, (_offset, size) in table.items()}


def load_segments_aligned(path: Path) -> bool:
    """True when every PT_LOAD segment's file offset and address agree modulo the page size and its
    alignment, as the dynamic loader demands. binutils' strip breaks this on libraries that patchelf
    rewrote (the *.libs folders of auditwheel-repaired wheels: numpy's OpenBLAS), and the loader then
    refuses them: "ELF load command address/offset not page-aligned"."""
    with open(path, "rb") as f:
        ident = f.read(64)
        bits, order = ident[4], "<" if ident[5] == 1 else ">"
        if bits == 2:
            phoff, = struct.unpack_from(order + "Q", ident, 0x20)
            phentsize, phnum = struct.unpack_from(order + "HH", ident, 0x36)
            fmt, fields = order + "IIQQQQQQ", ("type", "flags", "offset", "vaddr", "paddr", "filesz", "memsz", "align")
        else:
            phoff, = struct.unpack_from(order + "I", ident, 0x1C)
            phentsize, phnum = struct.unpack_from(order + "HH", ident, 0x2A)
            fmt, fields = order + "IIIIIIII", ("type", "offset", "vaddr", "paddr", "filesz", "memsz", "flags", "align")
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    if len(table) < phentsize * phnum:
        return False
    for i in range(phnum):
        ph = dict(zip(fields, struct.unpack_from(fmt, table, i * phentsize)))
        if ph["type"] != PT_LOAD:
            continue
        for unit in (PAGE, ph["align"]):
            if unit > 1 and (ph["vaddr"] - ph["offset"]) % unit:
                return False
    return True


def has_symbols(sections: dict[str, int]) -> bool:
    return ".symtab" in sections or any(name.startswith(".debug_") for name in sections)


def has_fips_checksum(path: Path) -> bool:
    return (path.parent / f".{path.name}.hmac").exists() or (path.parent / f"{path.name}.hmac").exists()


def shared_objects(folder: Path):
    """(path, section table) of every ELF shared object under folder that is ours to change."""
    for root, _dirs, files in os.walk(folder):
        for name in sorted(files):
            path = Path(root) / name
            if not SHARED_OBJECT_NAME.match(name) or path.is_symlink() or not path.is_file():
                continue
            table = section_table(path)
            if table is not None and not has_fips_checksum(path):
                yield path, table


def strip_one(path: Path, sections: dict[str, int], strip: str) -> tuple[int, int, str]:
    """Strips path in place (through a temporary file); returns (bytes before, bytes after, problem)."""
    before = path.stat().st_size
    fd, tmp = tempfile.mkstemp(prefix=".strip-", dir=path.parent)
    os.close(fd)
    try:
        r = subprocess.run([strip, "--strip-unneeded", "-o", tmp, str(path)], capture_output=True, text=True)
        if r.returncode != 0:
            return before, before, f"strip failed: {r.stderr.strip()[:200]}"
        after_sections = elf_sections(Path(tmp)) or {}
        changed = [s for s in DYNAMIC_SECTIONS if sections.get(s) != after_sections.get(s)]
        if changed:
            return before, before, f"kept unstripped: strip changed {', '.join(changed)}"
        if not load_segments_aligned(Path(tmp)):
            return before, before, "kept unstripped: stripped, its segments would not load (a patchelf-ed library)"
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
        return before, path.stat().st_size, ""
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def blank_cuda_kernels(path: Path) -> int:
    """Empties every fat binary in path's .nv_fatbin section (header kept, its size set to 0, its
    kernels zeroed); returns the bytes zeroed (0 when there were none, or they were blanked before)."""
    offset, size = (section_table(path) or {}).get(FATBIN_SECTION, (0, 0))
    if size == 0:
        return 0
    if path.stat().st_nlink > 1:  # never write through a hard link into another copy (a venv's wheel)
        tmp = path.with_name(f".blank-{path.name}")
        shutil.copy2(path, tmp)
        os.replace(tmp, path)
    magic = struct.pack("<I", FATBIN_MAGIC)
    zeroed = 0
    with open(path, "r+b") as f:
        f.seek(offset)
        data = f.read(size)
        pos = data.find(magic)
        while 0 <= pos and pos + FATBIN_HEADER.size <= size:
            _magic, version, header_size, fat_size = FATBIN_HEADER.unpack_from(data, pos)
            start, end = pos + header_size, min(pos + header_size + fat_size, size)
            if fat_size and header_size >= FATBIN_HEADER.size:
                f.seek(offset + pos)
                f.write(FATBIN_HEADER.pack(FATBIN_MAGIC, version, header_size, 0))
                f.seek(offset + start)
                for chunk in range(start, end, 1 << 24):
                    f.write(bytes(min(1 << 24, end - chunk)))
                zeroed += end - start
            pos = data.find(magic, max(end, pos + FATBIN_HEADER.size))
    return zeroed


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(__doc__.rsplit("Usage: ", 1)[-1], file=sys.stderr)
        return 2
    strip = shutil.which("strip")
    if strip is None:
        print("slim_libraries: `strip` is missing (Debian package binutils).", file=sys.stderr)
        return 1
    folder = Path(argv[0])
    before = after = stripped = blanked = 0
    for path, table in shared_objects(folder):
        sections = {name: size for name, (_offset, size) in table.items()}
        if has_symbols(sections):
            was, now, problem = strip_one(path, sections, strip)
            if problem:
                print(f"slim_libraries: {path.relative_to(folder)}: {problem}", file=sys.stderr)
            else:
                stripped += 1
            before, after = before + was, after + now
        if FATBIN_SECTION in table:
            blanked += blank_cuda_kernels(path)
    mib = 1024 * 1024
    print(f"slim_libraries: stripped {stripped} shared libraries ({before / mib:.0f} MB -> {after / mib:.0f} MB); "
          f"blanked {blanked / mib:.0f} MB of CUDA kernels", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
