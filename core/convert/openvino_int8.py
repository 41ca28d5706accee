"""OpenVINO INT8 target: the cut converted to OpenVINO, then post-training quantized with NNCF.

NNCF calibrates on the same samples as the TFLite int8 target (core/calibrate), so the two int8
artifacts are comparable. Outputs `<stem>_int8.xml/.bin` (tflite-int8 writes `<stem>_int8.tflite`)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..doctor import explain
from ..errors import UserError
from ..privacy import block_vendor_telemetry
from .base import ArtifactResult, TargetJob, register
from .openvino_ir import convert_to_ov


@dataclass(frozen=True)
class OpenVINOInt8Target:
    name: str = "openvino-int8"
    title: str = "OpenVINO IR, INT8 (NNCF post-training quantization)"
    needs_calibration: bool = True

    def output_names(self, stem: str) -> list[str]:
        return [f"{stem}_int8.xml", f"{stem}_int8.bin"]

    def convert(self, job: TargetJob) -> ArtifactResult:
        block_vendor_telemetry()  # also done at worker start; here for direct callers (tests, scripts)
        import nncf
        import openvino as ov

        samples = job.calibration_data()
        job.progress(0.05, "Converting to OpenVINO IR")
        # convert_to_ov's model is shared with the fp32/fp16 targets; quantize a copy of it.
        model = convert_to_ov(job).clone()
        if len(model.inputs) != len(job.cut.inputs):
            raise UserError(
                f"The OpenVINO model has {len(model.inputs)} inputs but the cut has {len(job.cut.inputs)}; "
                "cannot feed the calibration data."
            )
        kept = None
        extra = {}
        if job.options.keep_float:
            from ..quant.keep_float import keep_plan, openvino_ops

            kept = keep_plan(openvino_ops(model), job, model)
            quiet_nncf()
            # validate=False: a name NNCF finds nothing to quantize at (a pooling op) is not an error here.
            extra["ignored_scope"] = nncf.IgnoredScope(names=list(kept.ops), validate=False)
        job.progress(0.2, f"Quantizing with NNCF on {len(samples)} calibration samples")
        # A calibration sample is one array per cut input, in the cut's (= the model's) input order.
        dataset = nncf.Dataset(samples, lambda sample: list(sample))
        try:
            quantized = nncf.quantize(model, dataset, subset_size=len(samples), **extra)
        except Exception as exc:  # NNCF raises its own errors and plain RuntimeErrors with long texts
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            reason = lines[0] if lines else type(exc).__name__
            raise explain(exc, ("nncf", "openvino_device", "openvino"),
                          UserError(f"NNCF could not quantize this model to INT8: {reason[:300]}", str(exc))) from exc
        xml, bin_ = (job.staging / n for n in self.output_names(job.stem))
        job.progress(0.9, "Saving IR")
        # Weights are int8 already; keep the remaining float constants (biases, scales) in FP32.
        ov.save_model(quantized, str(xml), compress_to_fp16=False)
        counts = Counter(op.get_type_name() for op in quantized.get_ordered_ops())
        fq = counts.get("FakeQuantize", 0)
        notes = [
            f"INT8 by NNCF post-training quantization on {len(samples)} samples ({fq} FakeQuantize op(s)); "
            "inputs and outputs stay float32. Runs on OpenVINO CPU/GPU/NPU; the NCS2 needs the FP16 IR."
        ]
        details = {}
        if kept is not None:
            notes.append(kept.sentence())
            details["keep_float"] = kept.record(job.options.keep_float_why or "chosen by hand")
        job.progress(1.0, "Done")
        return ArtifactResult(files=[xml, bin_], op_counts=dict(counts.most_common()), notes=notes, details=details)


def quiet_nncf() -> None:
    """NNCF lists every op an ignored scope or its accuracy control touches at INFO level, dozens of lines of op
    ids; the warnings stay."""
    import logging

    logging.getLogger("nncf").setLevel(logging.WARNING)


register(OpenVINOInt8Target())
