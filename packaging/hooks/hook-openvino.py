"""OpenVINO loads its device plugins and model frontends with dlopen from openvino/libs/, so
analysis of imports cannot see them: collect the libraries the app uses, keep their folder."""
from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs, collect_submodules, copy_metadata

# Frontends for formats EdgeWizard never hands to OpenVINO (PyTorch, JAX, Paddle, GGUF) stay out,
# as do the Python parts that would import those frameworks.
_UNUSED = ("pytorch", "jax", "paddle", "gguf")


def _used(name: str) -> bool:
    return not any(u in name.lower() for u in _UNUSED) and ".torch" not in name


binaries = [(src, dest) for src, dest in collect_dynamic_libs("openvino") if _used(src.rsplit("/", 1)[-1])]
hiddenimports = collect_submodules("openvino", filter=_used, on_error="ignore")
# The versioned frontend libraries (libopenvino_*_frontend.so.NNNN) are found as data files and turned
# into binaries by PyInstaller; leave the unused ones out here. Those a collected extension links to
# (the PyTorch and JAX frontends' Python bindings) come back through binary analysis.
datas = collect_data_files("openvino", excludes=["include", "cmake", "**/*.pyi", "**/*.pc"]
                           + [f"**/*{u}*" for u in _UNUSED]) + copy_metadata("openvino")
