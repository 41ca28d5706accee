"""The installer recipes are well-formed and agree with each other, without building anything: the
PyInstaller spec, the .deb's control/desktop/MIME files and maintainer scripts, the Inno Setup and
macOS recipes, the frozen entry point's guard, and the first-run welcome."""
from __future__ import annotations

import ast
import configparser
import os
import plistlib
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the welcome tests; set before Qt starts

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "packaging"
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"
EXTENSIONS = ("h5", "keras", "pb", "tflite", "xml", "onnx")
# Types the system's shared MIME database already defines for these extensions (freedesktop.org.xml).
SYSTEM_TYPES = {"application/x-hdf": ("h5",), "application/x-hdf5": ("h5",)}


def _spec_tree() -> ast.Module:
    return ast.parse((PKG / "edgewizard.spec").read_text(encoding="utf-8"), "edgewizard.spec")


def _spec_list(name: str) -> list:
    for node in _spec_tree().body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"edgewizard.spec defines no {name}")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _mime_types() -> dict[str, ET.Element]:
    root = ET.parse(PKG / "linux" / "edgewizard-mime.xml").getroot()
    assert root.tag == f"{MIME_NS}mime-info"
    return {m.get("type"): m for m in root.findall(f"{MIME_NS}mime-type")}


def _desktop() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive in desktop files
    parser.read(PKG / "linux" / "edgewizard.desktop", encoding="utf-8")
    return parser["Desktop Entry"]


# ---------------------------------------------------------------- PyInstaller spec


def test_spec_names_files_that_exist():
    text = (PKG / "edgewizard.spec").read_text(encoding="utf-8")
    _spec_tree()  # valid Python
    assert (PKG / "entry.py").is_file() and '"entry.py"' in text
    for hook in ("openvino", "nncf", "ai_edge_litert", "netron"):
        assert (PKG / "hooks" / f"hook-{hook}.py").is_file()
    for icon in ("edgewizard.ico", "edgewizard.png"):
        assert (PKG / "icons" / icon).is_file() and icon in text
    assert _spec_list("PACKAGE_DIRS") == {"core": "core", "gui": "gui", "resources": "resources"}


def test_spec_excludes_nothing_the_app_imports():
    """A module left out of the frozen app must not be imported by any module that goes in (the
    sample's make_sample.py, which needs scikit-learn, is left out on purpose)."""
    excluded = _spec_list("EXCLUDES")
    assert "make_sample.py" in (PKG / "edgewizard.spec").read_text(encoding="utf-8")
    for folder in ("core", "gui", "resources"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "make_sample.py":
                continue
            used = {m for m in _imports(path) if any(m == e or m.startswith(e + ".") for e in excluded)}
            assert not used, f"{path.relative_to(ROOT)} imports {used}, which edgewizard.spec excludes"


def test_frozen_entry_point_reaches_freeze_support_first():
    """The spawned worker re-enters the frozen executable: freeze_support() must run before the
    launcher does anything else, and the entry script must import nothing heavy before it."""
    assert _imports(PKG / "entry.py") == {"sys", "edgewizard.gui.launch"}
    main = next(n for n in ast.parse((ROOT / "gui" / "launch.py").read_text()).body
                if isinstance(n, ast.FunctionDef) and n.name == "main")
    first = main.body[0]
    assert isinstance(first, ast.Expr) and ast.unparse(first) == "multiprocessing.freeze_support()"


def test_frozen_app_runs_only_the_bench_agent_bootstrap_with_dash_c(monkeypatch, capsys, tmp_path):
    from edgewizard.gui import launch

    marker = tmp_path / "ran"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(launch, "_restore_library_path", lambda: None)
    assert launch.main(["-c", f"open({str(marker)!r}, 'w').close()"]) == 2
    assert not marker.exists()
    assert "only EdgeWizard's own bench agent" in capsys.readouterr().err


def test_frozen_app_gives_child_programs_the_users_library_path(monkeypatch):
    from edgewizard.gui import launch

    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/edgewizard/_internal")
    monkeypatch.setenv("LD_LIBRARY_PATH_ORIG", "/usr/local/lib")
    launch._restore_library_path()
    assert os.environ["LD_LIBRARY_PATH"] == "/usr/local/lib" and "LD_LIBRARY_PATH_ORIG" not in os.environ
    launch._restore_library_path()  # no saved value: the launcher's own path is dropped
    assert "LD_LIBRARY_PATH" not in os.environ


def _spec_function(name: str):
    """A function defined in edgewizard.spec, with the spec's constants it reads, to call in a test."""
    tree = _spec_tree()
    namespace = {"sys": sys, "os": os}
    for node in tree.body:
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            namespace.update({t.id: value for t in node.targets})
    found = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    exec(compile(ast.Module([found], []), "edgewizard.spec", "exec"), namespace)
    return namespace[name]


def test_spec_keeps_qt_and_chromium_translations_of_english_chinese_and_japanese_only():
    unwanted = _spec_function("_unwanted_translation")
    qt, chromium = "PySide6/Qt/translations/", "PySide6/Qt/translations/qtwebengine_locales/"
    for kept in ("qt_en.qm", "qt_zh_CN.qm", "qtbase_ja.qm", "qtwebengine_zh_CN.qm", "qt_ja.qm"):
        assert not unwanted(qt + kept), kept
    for dropped in ("qt_de.qm", "qt_zh_TW.qm", "qtbase_pt_BR.qm", "qt_help_zh_CN.qm", "qt_help_de.qm",
                    "qtlocation_ja.qm", "qtwebengine_fr.qm"):
        assert unwanted(qt + dropped), dropped
    for kept in ("en-US.pak", "zh-CN.pak", "ja.pak"):
        assert not unwanted(chromium + kept), kept
    for dropped in ("de.pak", "zh-TW.pak", "en-GB.pak", "pt-BR.pak"):
        assert unwanted(chromium + dropped), dropped
    for elsewhere in ("PySide6/Qt/resources/qtwebengine_resources.pak", "netron/translations/de.qm",
                      "PySide6/Qt/lib/libQt6Core.so.6"):
        assert not unwanted(elsewhere), elsewhere


def test_spec_translation_filter_matches_the_installed_qt():
    """Against this venv's PySide6: each kept language is found under Qt's own file names (a rename in a
    new Qt would otherwise drop them all silently), and what is kept is a small part of the folder."""
    import PySide6

    folder = Path(PySide6.__file__).parent / "Qt" / "translations"
    if not folder.is_dir():
        pytest.skip(f"this PySide6 has no translations folder ({folder})")
    unwanted = _spec_function("_unwanted_translation")
    files = [p for p in folder.rglob("*") if p.is_file()]
    kept = {p.relative_to(folder).as_posix() for p in files
            if not unwanted("PySide6/Qt/translations/" + p.relative_to(folder).as_posix())}
    for name in ("qtbase_zh_CN.qm", "qtbase_ja.qm", "qt_zh_CN.qm", "qtwebengine_locales/en-US.pak",
                 "qtwebengine_locales/zh-CN.pak", "qtwebengine_locales/ja.pak"):
        assert name in kept, f"{name} would be left out of the frozen app"
    kept_bytes = sum(p.stat().st_size for p in files if p.relative_to(folder).as_posix() in kept)
    assert kept_bytes < 0.15 * sum(p.stat().st_size for p in files)


def test_spec_leaves_out_unused_qt_pdf_and_grpc():
    assert "grpc" in _spec_list("EXCLUDES")
    assert "imageformats/libqpdf" in _spec_list("DROP_QT_PLUGINS")


def test_litert_hook_collects_the_interpreter_without_the_gpu_accelerator_and_npu_tools():
    """Run against the installed ai_edge_litert: a .so in the package also looks like a module to
    collect_submodules, which once brought the 19 MB GPU accelerator back as a hidden import."""
    import runpy

    pytest.importorskip("PyInstaller", reason="the hooks run inside PyInstaller (the package extra)")
    pytest.importorskip("ai_edge_litert", reason="LiteRT is not installed")
    hook = runpy.run_path(str(PKG / "hooks" / "hook-ai_edge_litert.py"))
    collected = [src for src, _dest in hook["binaries"] + hook["datas"]] + hook["hiddenimports"]
    assert not [c for c in collected if "WebGpu" in c or "apply_plugin_main" in c or "/vendors/" in c]
    assert "ai_edge_litert.interpreter" in hook["hiddenimports"]
    assert any(src.endswith("libpywrap_litert_common.so") for src, _dest in hook["binaries"])
    for path in list((ROOT / "core").rglob("*.py")) + list((ROOT / "gui").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        # The app runs .tflite files with the classic Interpreter: never the CompiledModel API, whose GPU
        # accelerator the hook leaves out.
        assert "compiled_model" not in text and "CompiledModel" not in text, path


def test_spec_hides_nvidia_gpus_from_the_frozen_tensorflow():
    """slim_libraries.py empties TensorFlow's CUDA kernels: every frozen process must run it on the CPU."""
    assert 'runtime_hooks=[str(HOOKS / "rthook-cpu-only.py")]' in (PKG / "edgewizard.spec").read_text()
    hook = PKG / "hooks" / "rthook-cpu-only.py"
    code = f"exec(open({str(hook)!r}).read()); import os; print(os.environ['CUDA_VISIBLE_DEVICES'])"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "0"}  # even where the person picked a GPU
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "-1", r.stderr


def test_build_strips_the_frozen_libraries_before_checking_and_packing_them():
    build = (PKG / "build.sh").read_text()
    code = "\n".join(ln for ln in build.splitlines() if not ln.lstrip().startswith("#"))
    freeze, strip = code.index("-m PyInstaller"), code.index("slim_libraries.py")
    check, stage, pack = code.index("--version"), code.index("cp -al"), code.index("dpkg-deb --root-owner-group")
    assert freeze < strip < check < stage < pack
    assert re.search(r'COMPRESSION="\$\{DEB_COMPRESSION:-xz\}"', code)
    assert re.search(r"xz\) level=6 ;;", code)
    assert '"-Z$COMPRESSION" "-z$level"' in code
    assert re.search(r"\bbinutils\b", (PKG / "system-deps.sh").read_text())


# ---------------------------------------------------------------- Debian package


def test_desktop_entry_opens_models_with_edgewizard():
    entry = _desktop()
    assert entry["Type"] == "Application" and entry["Name"] == "EdgeWizard"
    assert entry["Icon"] == "edgewizard" and entry["Terminal"] == "false"
    assert re.fullmatch(r"edgewizard %[fF]", entry["Exec"])
    assert "Science" in entry["Categories"].split(";") or "Development" in entry["Categories"].split(";")
    listed = set(filter(None, entry["MimeType"].split(";")))
    ours = _mime_types()
    unknown = listed - set(ours) - set(SYSTEM_TYPES)
    assert not unknown, f"MimeType lists types nobody defines: {unknown}"
    for ext in EXTENSIONS:
        claimed = {t for t, m in ours.items() if m.find(f"{MIME_NS}glob[@pattern='*.{ext}']") is not None}
        claimed |= {t for t, exts in SYSTEM_TYPES.items() if ext in exts}
        if ext == "xml":  # an OpenVINO IR is told from other XML by its root element, not its name
            claimed |= {t for t, m in ours.items() if m.find(f"{MIME_NS}root-XML[@localName='net']") is not None}
        assert claimed & listed, f".{ext} files are not offered to EdgeWizard"


def test_mime_types_are_well_formed_and_leave_plain_xml_alone():
    ours = _mime_types()
    for name, m in ours.items():
        assert name.startswith("application/x-") and m.find(f"{MIME_NS}comment") is not None
    assert all(g.get("pattern") != "*.xml" for m in ours.values() for g in m.findall(f"{MIME_NS}glob"))
    magic = ours["application/x-tflite"].find(f"{MIME_NS}magic/{MIME_NS}match")
    assert (magic.get("offset"), magic.get("value")) == ("4", "TFL3")  # the flatbuffer's file identifier


@pytest.mark.skipif(shutil.which("update-mime-database") is None,
                    reason="update-mime-database (shared-mime-info) is not installed to compile the MIME file")
def test_mime_file_compiles_with_shared_mime_info(tmp_path):
    (tmp_path / "packages").mkdir()
    shutil.copy(PKG / "linux" / "edgewizard-mime.xml", tmp_path / "packages" / "edgewizard.xml")
    r = subprocess.run(["update-mime-database", "-V", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Error" not in r.stderr, r.stderr
    globs = (tmp_path / "globs2").read_text()
    for line in ("application/x-tflite:*.tflite", "application/x-keras:*.keras", "application/x-onnx:*.onnx"):
        assert line in globs


def _render_control() -> dict[str, str]:
    """control.in as build.sh fills it, parsed as deb822 (continuation lines start with a space)."""
    template = (PKG / "linux" / "control.in").read_text()
    build = (PKG / "build.sh").read_text()
    placeholders = set(re.findall(r"@([A-Z_]+)@", template))
    assert placeholders and all(f"@{p}@" in build for p in placeholders), "build.sh leaves a placeholder unfilled"
    depends = re.search(r'^DEPENDS="(.*?)"$', build, re.S | re.M).group(1).replace("$glibc", "2.36")
    values = {"VERSION": "0.1.0", "ARCH": "amd64", "MAINTAINER": "A <a@b.invalid>", "INSTALLED_SIZE": "1",
              "DEPENDS": " ".join(depends.split())}
    text = re.sub(r"@([A-Z_]+)@", lambda m: values[m.group(1)], template)
    fields, key = {}, None
    for line in text.splitlines():
        if line.startswith(" "):
            fields[key] += "\n" + line
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def test_control_file_is_complete_and_depends_parse():
    fields = _render_control()
    for key in ("Package", "Version", "Architecture", "Maintainer", "Installed-Size", "Depends", "Description", "Section"):
        assert fields.get(key), f"control lacks {key}"
    atom = r"[a-z0-9][a-z0-9+.-]+(?: \((?:>=|<=|=|>>|<<) [0-9][0-9.:~+-]*\))?"
    for dep in fields["Depends"].split(","):
        assert re.fullmatch(rf"{atom}(?: \| {atom})*", dep.strip()), f"bad Depends item {dep!r}"
    needed = {"libxcb-cursor0", "libxkbcommon-x11-0", "libnss3", "libegl1", "libfontconfig1", "libdbus-1-3"}
    assert needed <= set(re.findall(r"[a-z0-9][a-z0-9+.-]+", fields["Depends"]))


@pytest.mark.parametrize("script", ["postinst", "prerm", "postrm", "edgewizard.sh"])
def test_maintainer_scripts_are_posix_sh(script):
    path = PKG / "linux" / script
    assert path.read_text().startswith("#!/bin/sh\n")
    assert os.access(path, os.X_OK)
    r = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_launcher_starts_the_installed_app_with_its_arguments():
    text = (PKG / "linux" / "edgewizard.sh").read_text()
    assert text.rstrip().endswith('exec /opt/edgewizard/edgewizard "$@"')


def test_uninstall_keeps_the_users_files():
    for script in ("prerm", "postrm"):
        code = "\n".join(ln for ln in (PKG / "linux" / script).read_text().splitlines() if not ln.lstrip().startswith("#"))
        assert "$HOME" not in code and "/home" not in code and ".config" not in code
        assert not re.search(r"rm -rf? +/opt/edgewizard\b", code)  # dpkg removes what it installed, nothing more


@pytest.mark.parametrize("script", ["build.sh", "smoke.sh", "macos/build_dmg.sh"])
def test_shell_recipes_parse(script):
    path = PKG / script
    assert os.access(path, os.X_OK)
    r = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_smoke_test_checks_what_the_issue_asks():
    text = (PKG / "smoke.sh").read_text()
    assert "dpkg-deb -x" in text and "--self-test" in text
    for command in ("run inspect", "run convert", "run bench"):
        assert command in text


def test_build_installs_every_linux_file():
    build = (PKG / "build.sh").read_text()
    for name in ("edgewizard.sh", "edgewizard.desktop", "edgewizard-mime.xml", "copyright", "edgewizard.svg",
                 "edgewizard.png", "edgewizard-48.png"):
        assert name in build, f"build.sh does not install {name}"
        assert (PKG / "linux" / name).is_file() or (PKG / "icons" / name).is_file()
    for script in ("postinst", "prerm", "postrm"):
        assert script in build


def test_makefile_has_the_package_targets():
    text = (ROOT / "Makefile").read_text()
    assert re.search(r"^package:", text, re.M) and re.search(r"^package-test: package$", text, re.M)
    assert "packaging/build.sh" in text and "packaging/smoke.sh" in text
    assert '"pyinstaller==' in (ROOT / "pyproject.toml").read_text()


# ---------------------------------------------------------------- Windows and macOS


def test_inno_setup_script_packs_the_spec_output_and_registers_the_model_types():
    text = (PKG / "windows" / "edgewizard.iss").read_text()
    sections = set(re.findall(r"^\[(\w+)\]", text, re.M))
    assert {"Setup", "Files", "Icons", "Registry", "Tasks"} <= sections
    assert re.search(r"^AppId=\{\{[0-9A-F-]{36}\}$", text, re.M)
    assert '#define DistDir "..\\..\\build\\package\\dist\\edgewizard"' in text
    assert "SetupIconFile=..\\icons\\edgewizard.ico" in text
    for ext in EXTENSIONS:
        assert f'Software\\Classes\\.{ext}\\OpenWithProgids"' in text
    # Only "Open with" entries: no extension's default program (its unnamed value) is taken over.
    assert not re.search(r'Subkey: "Software\\Classes\\\.\w+"; ValueType: string; ValueName: ""', text)


def test_macos_recipe_bundles_the_app_with_document_types():
    spec = (PKG / "edgewizard.spec").read_text()
    assert "BUNDLE(" in spec and "CFBundleDocumentTypes" in spec
    declared = set(re.findall(r'"(\w+)"', " ".join(re.findall(r"_doc\([^)]*\)", spec))))
    assert set(EXTENSIONS) <= declared
    script = (PKG / "macos" / "build_dmg.sh").read_text()
    assert "hdiutil create" in script and "EdgeWizard.app" in script and "--self-test" in script
    entitlements = plistlib.loads((PKG / "macos" / "entitlements.plist").read_bytes())
    assert entitlements["com.apple.security.cs.allow-jit"] is True


def test_packaging_readme_says_the_untested_recipes_are_untested():
    text = (PKG / "README.md").read_text()
    for needle in ("make package", "smoke.sh", "Inno Setup", "hdiutil", "untested"):
        assert needle in text


# ---------------------------------------------------------------- first-run welcome


class WelcomeHost:
    """Stands in for MainWindow in these tests: a parent widget with the two things the welcome uses."""

    def __init__(self, settings):
        from PySide6.QtWidgets import QWidget

        self.widget = QWidget()
        self.settings = settings
        self.opened: list[str] = []

    def open_model(self, path: str) -> None:
        self.opened.append(path)


@pytest.fixture
def host(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from edgewizard.gui.settings import Settings

    h = WelcomeHost(Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)))
    qtbot.addWidget(h.widget)
    return h


def _show(host):
    """maybe_show_welcome on a QWidget parent that also carries settings and open_model."""
    from edgewizard.gui import welcome

    window = host.widget
    window.settings, window.open_model = host.settings, host.open_model
    welcome.maybe_show_welcome(window)
    return getattr(window, "welcome", None)


def test_welcome_is_shown_once_and_remembered(host, qtbot):
    from edgewizard.gui.welcome import SHOWN_KEY

    dialog = _show(host)
    assert dialog is not None and dialog.isVisible()
    text = dialog.text.text()
    for needle in ("libedgetpu", "edgetpu_compiler", "OpenVINO 2022.3", "Neural Compute Stick 2"):
        assert needle in text
    assert host.settings.value(SHOWN_KEY)
    dialog.reject()
    qtbot.waitUntil(lambda: host.widget.welcome is None)
    assert host.opened == []
    assert _show(host) is None  # a second start: nothing


def test_try_the_sample_opens_the_bundled_sample(host, qtbot):
    from PySide6.QtCore import Qt

    from edgewizard.core.samples import sample_model_path

    dialog = _show(host)
    qtbot.mouseClick(dialog.sample_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: host.opened == [str(sample_model_path())])
