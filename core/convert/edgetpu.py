"""The `edgetpu` target: a full-integer TFLite model, then `edgetpu_compiler` when it is installed.

The compiler only runs on x86-64 Debian-family Linux and cannot be installed everywhere; when it is
absent the int8 model is still written and the result says plainly that no compile happened."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .base import ArtifactResult, TargetJob, register
from .edgetpu_compiler import compile_model, find_compiler, install_hint
from .tflite import convert_int8, tflite_op_counts

NOT_COMPILED = "not_compiled"


@dataclass(frozen=True)
class EdgeTPUTarget:
    name: str = "edgetpu"
    title: str = "Coral Edge TPU (full int8 + edgetpu_compiler)"
    needs_calibration: bool = True

    def output_names(self, stem: str) -> list[str]:
        return [f"{stem}_int8.tflite", f"{stem}_int8_edgetpu.tflite", f"{stem}_int8_edgetpu.log"]

    def convert(self, job: TargetJob) -> ArtifactResult:
        int8_name = self.output_names(job.stem)[0]  # written whether or not the compiler is here
        if job.cut.kind == "tflite":
            data = Path(job.cut.path).read_bytes()  # an int8 .tflite is compiled as it is
        else:
            job.progress(0.05, "Making the full-integer model")
            data = convert_int8(job)
        int8_path = job.staging / int8_name
        int8_path.write_bytes(data)
        counts = tflite_op_counts(data)
        compiler = find_compiler()
        if compiler is None:
            return ArtifactResult(
                files=[int8_path],
                op_counts=counts,
                status=NOT_COMPILED,
                notes=[f"The Edge TPU compile step was NOT run. {install_hint()}"],
            )
        job.progress(0.6, "Running edgetpu_compiler")
        result = compile_model(int8_path, job.staging, job.options.edgetpu, compiler=compiler,
                               progress=lambda f, m: job.progress(None, m))
        models = list(result.edgetpu_models) or [Path(result.edgetpu_model)]
        files = [int8_path, *models, *(Path(p) for p in result.log_files)]
        log = result.log
        notes = []
        if log.ops_on_cpu:
            notes.append(f"{log.ops_on_cpu} op(s) will run on the CPU instead of the Edge TPU (see the compiler log).")
        job.progress(1.0, "Compiled")
        return ArtifactResult(
            files=files, op_counts=counts, status="compiled", notes=notes,
            details={"compiler_log": log.to_dict(), "compiler_argv": list(result.argv)},
        )


register(EdgeTPUTarget(), aliases=("coral",))
