"""Runtime hook of the frozen app (every process of it, the worker included): NVIDIA GPUs are hidden
from TensorFlow. The app bundles no CUDA libraries and packaging/slim_libraries.py empties the CUDA
kernels in TensorFlow's libraries, so where a system CUDA stack would let TensorFlow pick a GPU it
would find no kernel to run; with no visible GPU it converts and verifies on the CPU, as everywhere
else. EdgeWizard's accelerators (Edge TPU, Intel CPU/GPU/NPU through OpenVINO) do not use CUDA."""
import os

os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
