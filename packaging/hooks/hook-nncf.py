"""NNCF picks its backend at run time (importlib) and reads hardware configs from JSON files."""
from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

# Only the OpenVINO backend is used (core/convert/openvino_int8.py); the PyTorch and ONNX ones would
# drag in their frameworks.
_UNUSED = ("nncf.torch", "nncf.experimental.torch", "nncf.onnx", "nncf.experimental.onnx", "nncf.tensorflow",
           "nncf.experimental.tensorflow", "nncf.keras")

hiddenimports = collect_submodules("nncf", filter=lambda n: not n.startswith(_UNUSED) and ".torch" not in n,
                                   on_error="ignore")
datas = collect_data_files("nncf") + copy_metadata("nncf")
