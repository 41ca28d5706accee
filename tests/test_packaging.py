"""`pip install .` gives edgewizard.core/.gui/.resources (no bare core/gui), with every subpackage and
resource file of the source tree, and the installed package finds its resources through
importlib.resources, not paths into the repository. The wheel, installed alone in a fresh venv,
passes `edgewizard --self-test` (the editable install and PyInstaller once hid a missing gui.pages).
The frozen app's libraries are stripped, and TensorFlow's CUDA kernels emptied, without breaking them
(packaging/slim_libraries.py)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = ("core", "gui", "resources")  # install as edgewizard.<name>
# Made by builds, editors and test runs, never part of the project.
NOT_SOURCE = ("__pycache__", "*.pyc", "*.pyo", ".*", "*.egg-info", "build", "dist", ".venv", "out")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    # Built from a copy: setuptools reuses a build/ folder in the tree it builds, and files left there
    # by an earlier build (a module since deleted) would land in the wheel.
    src = tmp_path_factory.mktemp("src") / "edgewizard"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*NOT_SOURCE, "packaging"))
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr
    return next(out.glob("edgewizard-*.whl"))


def source_files() -> set[str]:
    """Every file of core/, gui/ and resources/ as the wheel should name it (edgewizard/...)."""
    found = set()
    for top in PACKAGED:
        for path in (ROOT / top).rglob("*"):
            rel = path.relative_to(ROOT)
            if path.is_file() and not any(_ignored(part) for part in rel.parts):
                found.add("edgewizard/" + rel.as_posix())
    return found


def _ignored(part: str) -> bool:
    from fnmatch import fnmatch

    return any(fnmatch(part, pattern) for pattern in NOT_SOURCE)


def test_wheel_holds_only_the_edgewizard_namespace(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.startswith("edgewizard-")}
    assert tops == {"edgewizard"}
    assert "edgewizard/__init__.py" not in names  # a namespace package: other distributions may add to it
    assert "edgewizard/core/jobs.py" in names
    assert "edgewizard/gui/launch.py" in names
    assert "edgewizard/resources/samples/digits_cnn.keras" in names
    assert not any(n.startswith(("tests/", "edgewizard/tests/")) for n in names)


def test_wheel_has_every_package_and_resource_of_the_source_tree(wheel):
    """Compared with the tree, not with a list: a new subpackage or resource kind cannot be forgotten."""
    names = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("edgewizard/")}
    expected = source_files()
    assert "edgewizard/gui/pages/__init__.py" in expected and "edgewizard/gui/widgets/__init__.py" in expected
    assert sorted(expected - names) == [], "files of the source tree missing from the wheel"
    assert sorted(names - expected) == [], "files in the wheel that the source tree does not have"


def test_installed_package_finds_its_resources(wheel, tmp_path):
    target = tmp_path / "site"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr
    code = (
        "import edgewizard.resources as r, edgewizard.core.samples as s;"
        "p = s.sample_model_path(); print(p); assert p.is_file(), p;"
        "assert (r.files() / 'samples' / 'digits_calib.npz').is_file()"
    )
    # Run from an empty folder, with the installed copy first and the repository nowhere on the path.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    r = subprocess.run([sys.executable, "-S", "-c", "import site; site.main();" + code], capture_output=True, text=True,
                       cwd=tmp_path, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()).is_relative_to(target), r.stdout


@pytest.fixture(scope="module")
def fresh_venv(wheel, tmp_path_factory):
    """A new venv holding only the wheel. Its dependencies (gigabytes: TensorFlow, OpenVINO, Qt) come
    from this test's environment through a .pth line: a path added that way is not a site dir, so the
    editable install's own .pth and import finder there stay inactive."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    return venv, site


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


@pytest.mark.slow
def test_fresh_venv_imports_edgewizard_from_the_wheel(fresh_venv, tmp_path):
    venv, site = fresh_venv
    code = (
        "import json, sys, edgewizard.gui.pages, edgewizard.gui.widgets, edgewizard.core.cli, edgewizard.resources\n"
        "mods = ('edgewizard.gui.pages', 'edgewizard.gui.widgets', 'edgewizard.core.cli', 'edgewizard.resources')\n"
        "print(json.dumps({'files': {m: sys.modules[m].__file__ for m in mods},\n"
        "    'editable': [type(f).__module__ for f in sys.meta_path if 'editable' in type(f).__module__]}))"
    )
    r = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, cwd=tmp_path,
                       env=clean_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    found = json.loads(r.stdout)
    assert found["editable"] == []
    for module, file in found["files"].items():
        assert Path(file).is_relative_to(site), f"{module} came from {file}, not the fresh venv"
        assert not Path(file).resolve().is_relative_to(ROOT), f"{module} came from the repository"


@pytest.mark.slow
def test_fresh_venv_passes_the_self_test(fresh_venv, tmp_path):
    """The installed `edgewizard` script: window, worker, conversion, verify, bench agent, report."""
    venv, _ = fresh_venv
    r = subprocess.run([str(venv / "bin" / "edgewizard"), "--self-test", "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, cwd=tmp_path, env=clean_env(), timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert "self-test: passed" in r.stdout
    assert (tmp_path / "out" / "report.html").is_file()


# ---------------------------------------------------------------- stripping the frozen app's libraries

PKG = ROOT / "packaging"

LIBRARY_C = "int edgewizard_answer(void) { return 42; }\nstatic int helper(int x) { return x + 1; }\n" \
            "int edgewizard_next(int x) { return helper(x); }\n"


def _slim_module():
    sys.path.insert(0, str(PKG))
    try:
        import slim_libraries
    finally:
        sys.path.remove(str(PKG))
    return slim_libraries


@pytest.fixture
def built(tmp_path):
    """A folder shaped like the frozen app: an unstripped library with debug data, the same library
    beside a FIPS checksum, a link to it, and an executable named like the bootloader."""
    if shutil.which("cc") is None or shutil.which("strip") is None:
        pytest.skip("needs a C compiler and binutils' strip to build an unstripped library")
    src = tmp_path / "lib.c"
    src.write_text(LIBRARY_C)
    app = tmp_path / "app"
    (app / "_internal" / "pkg").mkdir(parents=True)
    lib = app / "_internal" / "pkg" / "libanswer.so.2"
    subprocess.run(["cc", "-g", "-O0", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    fips = app / "_internal" / "libfips.so.1"
    shutil.copy(lib, fips)
    (app / "_internal" / ".libfips.so.1.hmac").write_text("0123abcd")
    (app / "_internal" / "libanswer.so").symlink_to("pkg/libanswer.so.2")
    exe = app / "edgewizard"
    (tmp_path / "main.c").write_text("int main(void) { return 0; }\n")
    subprocess.run(["cc", "-g", "-o", str(exe), str(tmp_path / "main.c")], check=True)
    return app, lib, fips, exe


def test_strip_removes_symbols_and_keeps_the_library_usable(built):
    import ctypes

    slim_libraries = _slim_module()
    app, lib, fips, exe = built
    before = {p: p.read_bytes() for p in (lib, fips, exe)}
    mode = lib.stat().st_mode
    assert slim_libraries.has_symbols(slim_libraries.elf_sections(lib))
    assert slim_libraries.main([str(app)]) == 0
    sections = slim_libraries.elf_sections(lib)
    assert ".symtab" not in sections and not any(s.startswith(".debug_") for s in sections)
    assert len(lib.read_bytes()) < len(before[lib])
    assert lib.stat().st_mode == mode
    loaded = ctypes.CDLL(str(lib))
    assert loaded.edgewizard_answer() == 42 and loaded.edgewizard_next(1) == 2
    assert fips.read_bytes() == before[fips]  # its checksum would no longer match
    assert exe.read_bytes() == before[exe]  # an executable: the bootloader carries the app after its image
    assert (app / "_internal" / "libanswer.so").is_symlink()
    once = lib.read_bytes()
    assert slim_libraries.main([str(app)]) == 0 and lib.read_bytes() == once  # SKIP_FREEZE=1 runs it again


def test_strip_keeps_a_patchelf_library_that_strip_would_break(tmp_path):
    """numpy's OpenBLAS comes patched by auditwheel: binutils' strip misplaces its segments and the
    loader refuses the result. slim_libraries must see that and keep the original."""
    import ctypes

    import numpy

    slim_libraries = _slim_module()
    libs = sorted((Path(numpy.__file__).parent.parent / "numpy.libs").glob("libscipy_openblas*.so"))
    if not libs or shutil.which("strip") is None:
        pytest.skip("needs numpy's bundled OpenBLAS (a manylinux wheel) and binutils' strip")
    lib = tmp_path / "pkg.libs" / libs[0].name
    lib.parent.mkdir()
    shutil.copy(libs[0], lib)
    if not slim_libraries.has_symbols(slim_libraries.elf_sections(lib)):
        pytest.skip(f"{libs[0].name} carries no symbol table in this numpy: nothing to strip")
    plain = tmp_path / "plain.so"
    subprocess.run(["strip", "--strip-unneeded", "-o", str(plain), str(lib)], check=True)
    broken = not slim_libraries.load_segments_aligned(plain)
    original = lib.read_bytes()
    assert slim_libraries.main([str(tmp_path / "pkg.libs")]) == 0
    if broken:  # the case seen with numpy 2.4's OpenBLAS: the loader refuses it, the original stays
        with pytest.raises(OSError, match="not page-aligned|not properly aligned"):
            ctypes.CDLL(str(plain))
        assert lib.read_bytes() == original
    ctypes.CDLL(str(lib))  # loads either way


FATBIN_C = r"""
/* Two NVIDIA fat binaries in a .nv_fatbin section, as nvcc lays them out, and the code around them. */
struct fatbin { unsigned int magic; unsigned short version, header_size; unsigned long long size;
                unsigned char kernels[48]; };
__attribute__((section(".nv_fatbin"), used)) const struct fatbin edgewizard_fatbins[2] = {
    {0xBA55ED50u, 1, 16, 48, {[0 ... 47] = 0xAB}}, {0xBA55ED50u, 1, 16, 48, {[0 ... 47] = 0xCD}}};
int edgewizard_kernels(int i) { return edgewizard_fatbins[i].version; }
"""


def test_cuda_kernels_are_emptied_in_place_and_the_library_still_loads(tmp_path):
    import ctypes
    import struct

    if shutil.which("cc") is None or shutil.which("strip") is None:
        pytest.skip("needs a C compiler and binutils' strip to build a library with a .nv_fatbin section")
    slim_libraries = _slim_module()
    (tmp_path / "fatbin.c").write_text(FATBIN_C)
    lib = tmp_path / "app" / "_internal" / "tensorflow" / "libkernels.so.2"
    lib.parent.mkdir(parents=True)
    # -s: linked without a symbol table, so only the kernels change (stripping is tested above)
    subprocess.run(["cc", "-O1", "-s", "-shared", "-fPIC", "-o", str(lib), str(tmp_path / "fatbin.c")], check=True)
    venv_copy = tmp_path / "wheel-copy.so"
    os.link(lib, venv_copy)  # a hard link, as into a venv's wheel: that copy must not change
    original, size = lib.read_bytes(), lib.stat().st_size
    offset, length = slim_libraries.section_table(lib)[".nv_fatbin"]
    assert length == 2 * 64

    assert slim_libraries.main([str(tmp_path / "app")]) == 0
    data = lib.read_bytes()
    assert lib.stat().st_size == size and data[:offset] == original[:offset]  # the layout is unchanged
    assert data[offset + length:] == original[offset + length:]
    for i in range(2):
        assert struct.unpack_from("<IHHQ", data, offset + 64 * i) == (0xBA55ED50, 1, 16, 0)  # valid, empty
        assert data[offset + 64 * i + 16:offset + 64 * (i + 1)] == bytes(48)
    assert venv_copy.read_bytes() == original
    assert ctypes.CDLL(str(lib)).edgewizard_kernels(1) == 1
    assert slim_libraries.blank_cuda_kernels(lib) == 0  # a second run: nothing left to empty
