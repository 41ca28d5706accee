"""OpenVINO devices: the NCS2 (MYRIAD) judged against the OpenVINO 2022.3 table, and CPU / GPU / NPU
asked directly with Core().query_model when the device is present.

All judge the OpenVINO IR of the cut, converted once exactly as the openvino targets do. An absent
GPU or NPU is a clear "cannot check without the device", never a crash."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

from ..devices import device, devices
from ..doctor import diagnose, exception_text
from .base import ValidationContext, missing_module, register
from .report import (CHECKED, DEVICE, QUERY_MODEL, TABLE, UNSUPPORTED, NodeVerdict, Suggestion, ValidationReport,
                     not_checked)
from .tables import load_table

_NOT_OPS = frozenset({"Parameter", "Result", "Constant"})  # inputs, outputs and weights: not computations


def ov_model(ctx: ValidationContext):
    """The cut as an ov.Model, converted once per validation (shared with the other devices)."""
    from ..convert.openvino_ir import convert_to_ov

    return convert_to_ov(ctx.target_job())


def ordered_ops(model) -> list:
    return [op for op in model.get_ordered_ops() if op.get_type_name() not in _NOT_OPS]


def _opset(op) -> Optional[int]:
    version = op.get_type_info().version_id or ""
    digits = version[5:] if version.startswith("opset") else ""
    return int(digits) if digits.isdigit() else None


def _rank(output) -> Optional[int]:
    ps = output.get_partial_shape()
    return None if ps.rank.is_dynamic else ps.rank.get_length()


# ---------------------------------------------------------------- MYRIAD

def judge_myriad(op, table: dict) -> tuple[str, str, str, bool]:
    """(where, reason, rule, confirmed) of one IR operation on the NCS2."""
    kind = op.get_type_name()
    general = table["general"]
    opset, limit = _opset(op), int(general["opset"]["max_opset"])
    if opset is not None and opset > limit:
        return (UNSUPPORTED, f"{kind} is written as an opset{opset} operation; OpenVINO 2022.3, the last release "
                f"with the NCS2, reads operations up to opset{limit}.", "general:opset",
                general["opset"]["status"] == "confirmed")
    if any(out.get_partial_shape().is_dynamic for out in op.outputs()):
        return (UNSUPPORTED, f"{kind} has an output whose size is only known while the model runs; the NCS2 needs "
                "static shapes.", "general:static", True)
    row = next((r for r in table.get("op", []) if r["ir"] == kind), None)
    if row is None:
        return (UNSUPPORTED, f"{kind} is not in the NCS2's table of supported layers (OpenVINO 2022.3); the NCS2 "
                "most likely cannot run it.", f"op:{kind}", False)
    confirmed = row["status"] == "confirmed"
    if not row["supported"]:
        return (UNSUPPORTED, f"The NCS2 does not support {kind} ('{row['doc_layer']}' is 'Not Supported' for the "
                "VPU in the OpenVINO 2022.3 table).", f"op:{kind}", confirmed)
    checks = row.get("checks", [])
    rank = _rank(op.input(0).get_source_output()) if op.get_input_size() else None
    if "spatial_2d" in checks and rank is not None and rank > 4:
        return (UNSUPPORTED, f"This is a {rank - 2}-D {kind}: the NCS2 runs 2-D convolution and pooling only "
                f"('{row['doc_layer']}').", "check:spatial_2d", confirmed)
    if "rank_4" in checks and rank is not None and rank != 4:
        return (UNSUPPORTED, f"{kind} works on a {rank}-D tensor; the NCS2 supports it on 4-D tensors only.",
                "check:rank_4", confirmed)
    reason = "Runs on the NCS2."
    if row.get("limitation"):
        reason += f" Limited: {row['limitation']}"
    if not confirmed:
        reason += " (not in the 2022.3 table; unconfirmed)"
    return DEVICE, reason, f"op:{kind}", confirmed


MYRIAD = device("myriad")


def _source_nodes(model, ctx):
    """Op name -> the original nodes it comes from; OpenVINO renames most ops it converts from TensorFlow
    ("Convolution_17"), and those are paired with the TensorFlow ops by type and order (core/quant/ov_order.py)."""
    from ..quant.ov_order import openvino_mapper

    return openvino_mapper(model, ctx.cut, ctx.source_nodes)


@dataclass(frozen=True)
class MyriadValidator:
    name: str = MYRIAD.validator
    title: str = MYRIAD.title

    def availability(self) -> Optional[str]:
        return missing_module("openvino")

    def validate(self, ctx: ValidationContext) -> ValidationReport:
        started = time.monotonic()
        ctx.progress(0.1, "Converting to OpenVINO IR")
        model = ov_model(ctx)
        table = load_table("myriad")
        ctx.progress(0.7, "Checking each operation against the NCS2 table")
        verdicts = []
        sources = _source_nodes(model, ctx)
        for i, op in enumerate(ordered_ops(model)):
            where, reason, rule, confirmed = judge_myriad(op, table)
            name = op.get_friendly_name()
            verdicts.append(NodeVerdict(i, name, op.get_type_name(), where, reason, sources(name), rule,
                                        confirmed))
        notes = ["Judged as the FP16 OpenVINO model conversion for the NCS2 writes: the NCS2 runs FP16 models only.",
                 "The NCS2 runs a model whole: if any operation is unsupported it refuses the model (OpenVINO's "
                 "HETERO mode could run those operations on the CPU).",
                 "Running on the NCS2 needs Intel's own OpenVINO 2022.3 download (its last release with the "
                 "stick's plugin) and a Python 3.8–3.10 of its own."]
        suggestions = []
        allowed = set(table["general"]["input_types"])
        bad = [p for p in model.get_parameters() if _element_type(p) not in allowed]
        if bad:
            names = ", ".join(p.get_friendly_name() for p in bad)
            suggestions.append(Suggestion("input_type", f"The NCS2 takes U8, FP16 or FP32 inputs; {names} "
                                          f"{'is' if len(bad) == 1 else 'are'} {_element_type(bad[0])}."))
        unsupported = [v for v in verdicts if v.where == UNSUPPORTED]
        if any(v.rule == "check:spatial_2d" for v in unsupported):
            suggestions.append(Suggestion("replace_op", "Replace 3-D convolutions and pooling with 2-D ones (fold "
                                          "depth into channels or batch), or run the model on the CPU or a GPU.",
                                          tuple(v.name for v in unsupported if v.rule == "check:spatial_2d")))
        if any(v.rule == "general:opset" for v in unsupported):
            suggestions.append(Suggestion("opset", "Convert the model with OpenVINO 2022.3's own tools (mo) in the "
                                          "NCS2 environment so that it uses operations that release knows."))
        point = next((v.index for v in unsupported), None)
        ctx.progress(1.0, "NCS2 checked")
        return ValidationReport(
            device=self.name, title=self.title, short=MYRIAD.short, status=CHECKED, source_of_truth=TABLE,
            judged="the OpenVINO IR (FP16) of the cut model", nodes=tuple(verdicts), partition_index=point,
            suggestions=tuple(suggestions), notes=tuple(notes), table_sources=dict(table["sources"]),
            seconds=round(time.monotonic() - started, 3))


def _element_type(port) -> str:
    try:
        return str(port.get_element_type().to_dtype())
    except Exception:  # noqa: BLE001 - types numpy cannot name keep OpenVINO's name
        return port.get_element_type().get_type_name()


# ---------------------------------------------------------------- CPU / GPU / NPU through query_model

@dataclass(frozen=True)
class OpenVINOQueryValidator:
    device: str  # OpenVINO device name: "CPU", "GPU", "NPU"
    title: str
    short: str

    @property
    def name(self) -> str:
        return f"openvino:{self.device}"

    def availability(self) -> Optional[str]:
        return missing_module("openvino")

    def validate(self, ctx: ValidationContext) -> ValidationReport:
        from ..loaders.openvino_loader import core

        started = time.monotonic()
        ov_core = core()
        present = [d for d in ov_core.available_devices if d.split(".")[0] == self.device]
        if not present:
            seen = ", ".join(ov_core.available_devices) or "none"
            return not_checked(self.name, self.title, (
                f"No {self.device} is visible to OpenVINO on this machine (devices seen: {seen}), and no support "
                f"table documents the {self.device} plugin's operations; EdgeWizard cannot check this device "
                "without it."))
        device = present[0]
        ctx.progress(0.1, "Converting to OpenVINO IR")
        model = ov_model(ctx)
        ctx.progress(0.6, f"Asking OpenVINO's {device} plugin which operations it supports")
        try:
            supported = ov_core.query_model(model, device)
        except Exception as exc:
            # A plugin refusing the model (dynamic shapes on the NPU, an opset its driver lacks) is
            # said in the doctor's words; anything else stays a bug report from validate/run.py.
            found = diagnose(exception_text(exc), ("openvino_device", "openvino"), {"device": device})
            if found is None:
                raise
            raise found.error(exception_text(exc)) from exc
        verdicts = []
        sources = _source_nodes(model, ctx)
        for i, op in enumerate(ordered_ops(model)):
            name = op.get_friendly_name()
            if name in supported:
                where, reason = DEVICE, f"OpenVINO's {device} plugin supports it (query_model)."
            else:
                where, reason = UNSUPPORTED, f"OpenVINO's {device} plugin reports that it cannot run this operation."
            verdicts.append(NodeVerdict(i, name, op.get_type_name(), where, reason, sources(name), "query_model"))
        point = next((v.index for v in verdicts if v.where == UNSUPPORTED), None)
        notes = [f"Asked OpenVINO {_ov_version()} on device {device}."]
        if point is not None and self.device != "CPU":
            notes.append(f"OpenVINO's HETERO:{device},CPU mode can run the unsupported operations on the CPU.")
        ctx.progress(1.0, f"OpenVINO {device} checked")
        return ValidationReport(
            device=self.name, title=self.title, short=self.short, status=CHECKED,
            source_of_truth=QUERY_MODEL, judged="the OpenVINO IR of the cut model", nodes=tuple(verdicts),
            partition_index=point, notes=tuple(notes), seconds=round(time.monotonic() - started, 3))


def _ov_version() -> str:
    import openvino

    return getattr(openvino, "__version__", "(version unknown)").split("-")[0]


register(MyriadValidator(), aliases=MYRIAD.aliases)
for _d in devices():  # every catalogued OpenVINO device is asked through query_model
    if _d.validator.startswith("openvino:"):
        register(OpenVINOQueryValidator(_d.validator.split(":", 1)[1], _d.title, _d.short), aliases=_d.aliases)
