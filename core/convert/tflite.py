"""TensorFlow Lite targets: float, FP16, dynamic-range and full-integer (int8) models.

All start from the cut's frozen GraphDef through TensorFlow's frozen-graph converter, which keeps
the input and output names the person chose (the Keras-model path is unreliable for Keras 3)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..doctor import explain
from ..errors import UserError
from .base import ArtifactResult, TargetJob, register
from .tflite_calibrated import Int8Spec, calibrated_convert, frozen_converter

SUFFIX = {"float": "float", "fp16": "fp16", "dynamic": "dynamic", "int8": "int8"}


def _require_graph(job: TargetJob) -> None:
    cut = job.cut
    if cut.kind != "graphdef":
        raise UserError(
            f"TensorFlow Lite targets convert from TensorFlow or Keras models; this is a {cut.kind} model. "
            "Open the original TensorFlow/Keras model instead."
        )


def converter_for(job: TargetJob):
    _require_graph(job)
    cut = job.cut
    return frozen_converter(cut.path, [t.name for t in cut.inputs], [t.name for t in cut.outputs],
                            [list(t.shape) for t in cut.inputs])


def convert_int8(job: TargetJob) -> bytes:
    """Full-integer TFLite bytes (integer-only ops, except the layers kept in float), made once per run and
    shared with `edgetpu`; job.shared["keep_float"] then holds the KeepPlan."""
    key = ("tflite-int8", job.options.io_type, job.options.keep_float)
    if key in job.shared:
        return job.shared[key]
    _require_graph(job)
    deny: tuple[str, ...] = ()
    if job.options.keep_float:
        from ..quant.keep_float import keep_plan, tflite_ops

        job.progress(0.05, "Finding the layers to keep in float")
        plan = keep_plan(tflite_ops(_convert(converter_for(job).convert, "float")), job)
        job.shared[("keep_float", "tflite")] = plan
        deny = plan.ops
    job.progress(0.1, f"Calibrating on {len(job.calibration_data())} samples")
    spec = Int8Spec(ops=("TFLITE_BUILTINS_INT8",), io_type=job.options.io_type, denylisted_nodes=deny)
    data = _convert(lambda: calibrated_convert(job, spec), "full-integer")
    job.shared[key] = data
    return data


def keep_float_details(job: TargetJob, runtime: str = "tflite") -> dict:
    """The manifest's record of the layers kept in float by this job's int8 conversion (empty when none)."""
    plan = job.shared.get(("keep_float", runtime))
    return {"keep_float": plan.record(job.options.keep_float_why or "chosen by hand")} if plan is not None else {}


def _convert(convert, what: str) -> bytes:
    try:
        return convert()
    except UserError:
        raise
    except Exception as exc:  # the converter raises ConverterError and friends with long logs
        first = str(exc).strip().splitlines()
        reason = next((ln.strip() for ln in first if "error" in ln.lower()), first[0] if first else type(exc).__name__)
        raise explain(exc, "tensorflow", UserError(
            f"TensorFlow Lite could not make a {what} model from this graph: {reason[:300]}", str(exc)
        )) from exc


def tflite_op_counts(data: bytes) -> dict[str, int]:
    """Op counts read from the flatbuffer (not from an interpreter, where XNNPACK hides ops)."""
    from ..loaders.tflite_loader import parse

    graph, *_ = parse(data, "the converted model")
    return graph.op_counts()


@dataclass(frozen=True)
class TFLiteTarget:
    name: str
    title: str
    mode: str  # "float", "fp16", "dynamic", "int8"

    @property
    def needs_calibration(self) -> bool:
        return self.mode == "int8"

    def output_names(self, stem: str) -> list[str]:
        return [f"{stem}_{SUFFIX[self.mode]}.tflite"]

    def convert(self, job: TargetJob) -> ArtifactResult:
        import tensorflow as tf

        job.progress(0.05, f"Converting to TensorFlow Lite ({self.mode})")
        notes = []
        details = {}
        if self.mode == "int8":
            data = convert_int8(job)
            details = keep_float_details(job)
            if details:
                notes.append(job.shared[("keep_float", "tflite")].sentence())
                notes.append(_io_note(data, job.options.io_type))
            else:
                notes.append(f"Full-integer: integer-only ops, input/output {job.options.io_type}.")
        else:
            conv = converter_for(job)
            if self.mode == "fp16":
                conv.optimizations = [tf.lite.Optimize.DEFAULT]
                conv.target_spec.supported_types = [tf.float16]
            elif self.mode == "dynamic":
                conv.optimizations = [tf.lite.Optimize.DEFAULT]
            data = _convert(conv.convert, self.title)
        out = job.staging / self.output_names(job.stem)[0]
        Path(out).write_bytes(data)
        job.progress(1.0, "Done")
        return ArtifactResult(files=[out], op_counts=tflite_op_counts(data), notes=notes, details=details)


def _io_note(data: bytes, asked: str) -> str:
    """What the model with float layers takes and gives: an input read by a float layer stays float32."""
    from ..loaders.tflite_loader import parse

    graph, *_ = parse(data, "the converted model")
    ins = sorted({t.dtype for t in graph.inputs})
    outs = sorted({t.dtype for t in graph.outputs})
    text = f"Input {'/'.join(ins)}, output {'/'.join(outs)}"
    if set(ins) | set(outs) != {asked}:
        text += f" (not {asked} where a layer kept in float reads the input or writes the output)"
    return text + "."


register(TFLiteTarget("tflite-float", "TensorFlow Lite, float32", "float"))
register(TFLiteTarget("tflite-fp16", "TensorFlow Lite, float16 weights", "fp16"))
register(TFLiteTarget("tflite-dynamic", "TensorFlow Lite, dynamic-range quantized (int8 weights)", "dynamic"))
register(TFLiteTarget("tflite-int8", "TensorFlow Lite, full integer (int8)", "int8"))
