"""LiteRT: the interpreter's extension modules and the shared libraries they load by path."""
from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs, collect_submodules, copy_metadata

# aot/ and vendors/ are the ahead-of-time compilers and dispatch libraries for phone NPUs (Qualcomm,
# MediaTek, Google Tensor, ...): not used by the interpreter, and they need SDKs that are not here.
_NPU = ("/aot/", "/vendors/")
hiddenimports = collect_submodules("ai_edge_litert", filter=lambda n: ".aot" not in n and ".vendors" not in n,
                                   on_error="ignore")
binaries = [(src, dest) for src, dest in collect_dynamic_libs("ai_edge_litert")
            if not any(part in src.replace("\\", "/") for part in _NPU)]
datas = collect_data_files("ai_edge_litert", excludes=["aot", "vendors"]) + copy_metadata("ai-edge-litert")
