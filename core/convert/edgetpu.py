"""The `edgetpu` target: a full-integer TFLite model, then `edgetpu_compiler` when it is installed.

The compiler only runs on x86-64 Debian-family Linux and cannot be installed everywhere; when it is
absent the int8 model is still written and the result says plainly that no compile happened."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..devices import device
from ..doctor import listed
from ..errors import UserError
from .base import ArtifactResult, TargetJob, register
from .edgetpu_compiler import compile_model, find_compiler, install_hint
from .tflite import convert_int8, keep_float_details, tflite_op_counts

NOT_COMPILED = "not_compiled"


@dataclass(frozen=True)
class EdgeTPUTarget:
    name: str = "edgetpu"
    title: str = f"{device('edgetpu').title} (full int8 + edgetpu_compiler)"
    needs_calibration: bool = True

    def output_names(self, stem: str) -> list[str]:
        return [f"{stem}_int8.tflite", f"{stem}_int8_edgetpu.tflite", f"{stem}_int8_edgetpu.log"]

    def convert(self, job: TargetJob) -> ArtifactResult:
        int8_name = self.output_names(job.stem)[0]  # written whether or not the compiler is here
        calibrated = job.cut.kind != "tflite"
        if not calibrated:
            data = Path(job.cut.path).read_bytes()  # an int8 .tflite is compiled as it is
            _refuse_float(data, Path(job.cut.path).name)
        else:
            job.progress(0.05, "Making the full-integer model")
            data = convert_int8(job)
        int8_path = job.staging / int8_name
        int8_path.write_bytes(data)
        counts = tflite_op_counts(data)
        kept = keep_float_details(job) if calibrated else {}
        kept_notes = [job.shared[("keep_float", "tflite")].sentence() + " Float layers run on the CPU, not the Edge "
                      "TPU, and the Edge TPU stops at the first of them."] if kept else []
        compiler = find_compiler()
        if compiler is None:
            return ArtifactResult(
                files=[int8_path],
                op_counts=counts,
                status=NOT_COMPILED,
                notes=[f"The Edge TPU compile step was NOT run. {install_hint()}", *kept_notes],
                details={"calibrated": calibrated, **kept},
            )
        job.progress(0.6, "Running edgetpu_compiler")
        result = compile_model(int8_path, job.staging, job.options.edgetpu, compiler=compiler,
                               progress=lambda f, m: job.progress(None, m))
        models = list(result.edgetpu_models) or [Path(result.edgetpu_model)]
        files = [int8_path, *models, *(Path(p) for p in result.log_files)]
        log = result.log
        notes = list(kept_notes)
        if log.ops_on_cpu:
            notes.append(f"{log.ops_on_cpu} op(s) will run on the CPU instead of the Edge TPU (see the compiler log).")
        job.progress(1.0, "Compiled")
        return ArtifactResult(
            files=files, op_counts=counts, status="compiled", notes=notes,
            details={"compiler_log": log.to_dict(), "compiler_argv": list(result.argv), "calibrated": calibrated, **kept},
        )


def _refuse_float(data: bytes, name: str) -> None:
    """A .tflite given as the source is compiled as it is, so it must already be full-integer: a float or
    dynamic-range model would be written as "<stem>_int8.tflite" while it is not one."""
    from ..loaders.tflite_loader import parse

    graph, *_ = parse(data, name)
    # Float outputs of DEQUANTIZE are a full-integer model's float interface, which the compiler accepts.
    floating = [n for n in graph.nodes if n.op != "DEQUANTIZE" and any(t.dtype in ("float32", "float16") for t in n.outputs)]
    if floating:
        ops = listed(list(dict.fromkeys(n.op for n in floating)))
        raise UserError(
            f"{name} is not a full-integer model ({len(floating)} of its {len(graph.nodes)} ops compute in float: "
            f"{ops}), and the Edge TPU runs only int8 ops; convert the original TensorFlow or Keras model with the "
            "edgetpu target, which quantizes it with your calibration data.",
            message_id="convert.tflite_not_full_integer", message_args={"model": name, "ops": ops})


register(EdgeTPUTarget())
