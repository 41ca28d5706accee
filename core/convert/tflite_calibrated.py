"""Calibrated (int8) TensorFlow Lite conversion: in the worker, or in a child process for graphs with loops.

TensorFlow's int8 calibrator runs the float model in an interpreter of its own. On recurrent graphs
(the loops GRU and LSTM layers become) it has crashed the process with SIGSEGV (sleepecg's BiGRU with
TensorFlow 2.21), which would take the worker and every other target of the run with it. In a child
process that crash becomes one sentence, and the other targets go on."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass

from ..errors import UserError

# Ops of the loops a frozen graph gets from RNN layers (v1 and v2 control flow, tensor lists).
LOOP_OPS = frozenset({"While", "StatelessWhile", "LoopCond", "Enter", "TensorListReserve", "TensorListFromTensor"})
CHILD_FLAG = "--tflite-calibrated-child"  # how the frozen app runs the child (gui/launch.py)


@dataclass(frozen=True)
class Int8Spec:
    """What the converter is asked for, as data a child process can be given."""

    ops: tuple[str, ...]  # tf.lite.OpsSet names, e.g. ("TFLITE_BUILTINS_INT8",)
    io_type: str  # "uint8", "int8" or "float32"
    allow_custom_ops: bool = False
    denylisted_nodes: tuple[str, ...] = ()  # output tensor names of ops kept in float (core/quant/keep_float.py)


class ConverterCrashed(UserError):
    """The converter died on this model (a signal, not an error it raised)."""


def calibrated_convert(job, spec: Int8Spec) -> bytes:
    """TFLite bytes calibrated on the job's samples. A converter error is raised as the converter's own
    exception (callers word it); a crash is ConverterCrashed."""
    samples = job.calibration_data()
    cut = job.cut
    request = {"graph": cut.path, "inputs": [t.name for t in cut.inputs], "outputs": [t.name for t in cut.outputs],
               "shapes": [list(t.shape) for t in cut.inputs], "spec": asdict(spec)}
    if not LOOP_OPS & set(cut.op_counts):
        return convert_request(request, samples)
    return _in_child(job, request, samples)


def frozen_converter(graph: str, inputs: list, outputs: list, shapes: list):
    """TensorFlow's frozen-graph converter for a cut (every TFLite target starts here)."""
    import tensorflow as tf

    return tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(graph, inputs, outputs, dict(zip(inputs, shapes)))


def convert_request(request: dict, samples) -> bytes:
    import tensorflow as tf

    spec = Int8Spec(**{**request["spec"], "ops": tuple(request["spec"]["ops"]),
                       "denylisted_nodes": tuple(request["spec"].get("denylisted_nodes", ()))})
    conv = frozen_converter(request["graph"], request["inputs"], request["outputs"], request["shapes"])
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: iter(samples)
    conv.target_spec.supported_ops = [getattr(tf.lite.OpsSet, name) for name in spec.ops]
    conv.allow_custom_ops = spec.allow_custom_ops
    io = {"uint8": tf.uint8, "int8": tf.int8, "float32": tf.float32}[spec.io_type]
    if spec.denylisted_nodes:
        return _with_float_ops(conv, spec, io)
    conv.inference_input_type, conv.inference_output_type = io, io
    return conv.convert()


def _with_float_ops(conv, spec: Int8Spec, io) -> bytes:
    """Int8 with some ops left in float: calibrate only, then quantize with those ops denylisted (what
    TensorFlow's QuantizationDebugger does), then give the model the integer inputs and outputs asked for where
    its first and last ops are int8 (an input read by a float op stays float32)."""
    import tensorflow as tf
    from tensorflow.lite.python import convert as tf_convert
    from tensorflow.lite.python import util as tf_util

    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
    conv.experimental_mlir_quantizer = True
    conv._experimental_calibrate_only = True  # noqa: SLF001 - the documented way the debugger calibrates
    calibrated = conv.convert()
    data = tf_convert.mlir_quantize(calibrated, disable_per_channel=False, fully_quantize=False,
                                    denylisted_nodes=list(spec.denylisted_nodes))
    if io != tf.float32:
        data = tf_util.modify_model_io_type(data, io, io)
    return data


def _in_child(job, request: dict, samples) -> bytes:
    import numpy as np

    from ..jobs import describe_exit

    folder = job.staging / ".calibrated-child"
    folder.mkdir(exist_ok=True)
    try:
        np.savez(folder / "samples.npz", **{f"i{k}": np.stack([s[k] for s in samples]) for k in range(len(request["inputs"]))})
        (folder / "request.json").write_text(json.dumps({**request, "samples": str(folder / "samples.npz"),
                                                         "out": str(folder / "model.tflite")}), encoding="utf-8")
        job.progress(None, "Calibrating in a separate process (the model has loops)")
        entry = [CHILD_FLAG] if getattr(sys, "frozen", False) else ["-m", __name__]
        proc = subprocess.run([sys.executable, *entry, str(folder / "request.json")], capture_output=True, timeout=None)
        if proc.returncode == 0:
            return (folder / "model.tflite").read_bytes()
        error = folder / "error.txt"
        if proc.returncode == 2 and error.is_file():
            raise RuntimeError(error.read_text(encoding="utf-8"))  # the converter's own message, worded by the caller
        raise ConverterCrashed(
            f"TensorFlow Lite's int8 calibrator crashed on this model ({describe_exit(proc.returncode)}) while running "
            "its loops (recurrent layers such as GRU or LSTM); use tflite-dynamic or tflite-fp16 for it, or cut the "
            "model before the loop.", proc.stderr.decode("utf-8", "replace")[-20000:],
            message_id="tflite.calibrator_crashed", message_args={"exit": describe_exit(proc.returncode)})
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def _die_with_parent() -> None:
    """A cancelled conversion kills the worker; this child must not go on converting without it."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def main(argv) -> int:
    _die_with_parent()
    from ..arrays import ArrayFile

    request = json.loads(open(argv[0], encoding="utf-8").read())
    with ArrayFile(request["samples"], "calibration samples") as arrays:
        stacked = [arrays.read(f"i{k}") for k in range(len(request["inputs"]))]
    samples = [[a[i] for a in stacked] for i in range(len(stacked[0]))]
    try:
        data = convert_request(request, samples)
    except Exception as exc:  # noqa: BLE001 - handed back as text for the parent to word
        with open(os.path.join(os.path.dirname(request["out"]), "error.txt"), "w", encoding="utf-8") as f:
            f.write(f"{type(exc).__name__}: {exc}")
        return 2
    with open(request["out"], "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
