"""OpenVINO IR targets (.xml + .bin), FP32 or FP16-compressed; FP16 is also the NCS2 (MYRIAD) preset.

convert_model cannot cut at internal nodes, so it always receives the cut model; inputs get the
cut's static shapes (MYRIAD needs them)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..devices import device
from ..doctor import explain, tool_line
from ..errors import UserError
from .base import ArtifactResult, TargetJob, register


def convert_to_ov(job: TargetJob):
    import openvino as ov

    cut = job.cut
    key = ("ov-model", cut.path)
    if key in job.shared:
        return job.shared[key]
    shapes = [(t.name, ov.PartialShape(list(t.shape))) for t in cut.inputs]
    try:
        if cut.kind == "graphdef":
            # The cut's placeholders already carry static shapes. OpenVINO names TF tensors "name:0";
            # add the plain node names the person chose, so both work downstream.
            model = ov.convert_model(cut.path)
            for port, t in zip(model.inputs, cut.inputs):
                port.get_tensor().add_names({t.name})
            for port, t in zip(model.outputs, cut.outputs):
                port.get_tensor().add_names({t.name})
        elif cut.kind in ("tflite", "onnx", "openvino_ir"):
            model = ov.Core().read_model(cut.path) if cut.kind == "openvino_ir" else ov.convert_model(cut.path)
            model.reshape({name: shape for name, shape in shapes})
        else:
            raise UserError(f"OpenVINO cannot convert a {cut.kind} model.")
    except UserError:
        raise
    except Exception as exc:
        reason = tool_line(str(exc)) or type(exc).__name__
        # The op types tell the doctor whether control flow (If, Loop) is behind an unknown rank.
        raise explain(exc, "openvino", UserError(f"OpenVINO could not convert this model: {reason[:300]}", str(exc)),
                      context={"model_ops": list(cut.op_counts)}) from exc
    job.shared[key] = model
    return model


@dataclass(frozen=True)
class OpenVINOTarget:
    name: str
    title: str
    fp16: bool
    needs_calibration: bool = False

    def output_names(self, stem: str) -> list[str]:
        tag = "fp16" if self.fp16 else "fp32"
        return [f"{stem}_{tag}.xml", f"{stem}_{tag}.bin"]

    def convert(self, job: TargetJob) -> ArtifactResult:
        import openvino as ov

        job.progress(0.05, f"Converting to OpenVINO IR ({'FP16' if self.fp16 else 'FP32'})")
        model = convert_to_ov(job)
        xml, bin_ = (job.staging / n for n in self.output_names(job.stem))
        job.progress(0.7, "Saving IR")
        ov.save_model(model, str(xml), compress_to_fp16=self.fp16)
        counts = Counter(op.get_type_name() for op in model.get_ordered_ops())
        notes = []
        if self.fp16:
            notes.append("Weights compressed to FP16; this IR is also what the NCS2 (MYRIAD) runs, with static input shapes.")
        job.progress(1.0, "Done")
        return ArtifactResult(files=[xml, bin_], op_counts=dict(counts.most_common()), notes=notes)


register(OpenVINOTarget("openvino-fp32", "OpenVINO IR, FP32", fp16=False), aliases=("openvino",))
register(OpenVINOTarget("openvino-fp16", f"OpenVINO IR, FP16 (also the {device('myriad').short} preset)", fp16=True))
