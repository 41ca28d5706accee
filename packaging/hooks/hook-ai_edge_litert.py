"""LiteRT: the interpreter's extension modules and the shared libraries they load by path."""
from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs, collect_submodules, copy_metadata

# aot/ and vendors/ are the ahead-of-time compilers and dispatch libraries for phone NPUs (Qualcomm,
# MediaTek, Google Tensor, ...): not used by the interpreter, and they need SDKs that are not here.
# tools/apply_plugin_main is the command-line tool that applies those NPU compiler plugins (8 MB).
# libLiteRtWebGpuAccelerator is the GPU accelerator of the CompiledModel API (19 MB); EdgeWizard runs
# .tflite models with the classic Interpreter on the CPU or through the Edge TPU delegate.
_NPU = ("/aot/", "/vendors/", "/tools/")
_UNUSED_LIBRARIES = ("libLiteRtWebGpuAccelerator",)
# A .so in the package folder also looks like an extension module to collect_submodules: the unused
# library is filtered there as well, or it comes back as a "module".
hiddenimports = collect_submodules(
    "ai_edge_litert", on_error="ignore",
    filter=lambda n: ".aot" not in n and ".vendors" not in n and not n.rsplit(".", 1)[-1].startswith(_UNUSED_LIBRARIES))


def _used(src: str) -> bool:
    src = src.replace("\\", "/")
    return not any(part in src for part in _NPU) and not src.rsplit("/", 1)[-1].startswith(_UNUSED_LIBRARIES)


# collect_data_files also returns the package's .so files (PyInstaller turns them into binaries), so
# both lists are filtered.
binaries = [(src, dest) for src, dest in collect_dynamic_libs("ai_edge_litert") if _used(src)]
datas = [(src, dest) for src, dest in collect_data_files("ai_edge_litert", excludes=["aot", "vendors"])
         if _used(src)] + copy_metadata("ai-edge-litert")
