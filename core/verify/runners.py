"""Run the original (the cut) and converted artifacts on the same inputs, returning float outputs.

Integer inputs of full-integer TFLite models are quantized with the model's own scale and zero
point, and integer outputs dequantized, so every runner takes and gives real values."""
from __future__ import annotations

from pathlib import Path
from ..bench.agent import precision_name
from ..doctor import explain, tool_line
from ..errors import UserError
from ..plan import CutModel

EDGETPU_OP = "edgetpu-custom-op"


class Skipped(Exception):
    """This artifact cannot run here (e.g. it needs the Edge TPU); the message says why."""


class Runner:
    """One model ready to run. `inputs[i]` describes the model input fed with cut input i."""

    runtime = ""
    precision = ""  # what the file stores: "float32", "float16", "int8", ...
    inference_precision = ""  # what the device computed in, where the runtime says (OpenVINO): "f32", "f16"
    notes: tuple = ()

    def __init__(self) -> None:
        self.inputs: list[dict] = []  # name, dtype, shape, and scale/zero_point/range when quantized
        self.output_names: list[str] = []

    def run(self, feed: list) -> list:  # one array per cut input -> one float32 array per model output
        raise NotImplementedError


def _order(own_names: list[set], wanted: list[str], what: str, label: str) -> list[int]:
    """For each wanted name, the index of the model port that carries it; by position when the
    model does not use the names (a converter renamed them)."""
    found = []
    for name in wanted:
        hits = [i for i, names in enumerate(own_names) if name in names or any(n.split(":")[0] == name for n in names)]
        found.append(hits[0] if len(hits) == 1 else None)
    if None in found or len(set(found)) != len(found):
        if len(own_names) != len(wanted):
            raise UserError(
                f"{label} has {len(own_names)} {what}s but the original (cut) model has {len(wanted)}; "
                "verify it against the model it was converted from."
            )
        return list(range(len(wanted)))
    return found


def _check_shape(label: str, name: str, own: list, cut: list) -> None:
    """An artifact must take the cut's input shapes; a dynamic dimension (-1) takes any size."""
    own, cut = [int(d) for d in own], [int(d) for d in cut]  # runtimes give numpy integers: say [1, 16], not np.int32(1)
    if len(own) != len(cut) or any(o not in (-1, c) for o, c in zip(own, cut)):
        raise UserError(
            f"{label} does not take the original model's inputs: its input '{name}' has shape {own}, the original's "
            f"{cut}; verify it against the model it was converted from, or with the input shapes it was converted with.",
            cli_hint="--shape"
        )


class TFLiteRunner(Runner):
    runtime = "litert"

    def __init__(self, path: Path, cut: CutModel) -> None:
        super().__init__()
        import numpy as np
        from ai_edge_litert.interpreter import Interpreter

        from ..loaders.tflite_loader import parse

        data = Path(path).read_bytes()
        graph, *_ = parse(data, path.name)
        if any(n.op == EDGETPU_OP for n in graph.nodes):
            raise Skipped(
                f"{path.name} is compiled for the Edge TPU and runs only with the Edge TPU attached; "
                "its int8 source model is verified instead, and the Benchmark step runs this one on the device."
            )
        self.precision = _tflite_precision(graph)
        try:
            self.it = Interpreter(model_content=data)
            self.it.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise explain(exc, ("litert", "edgetpu"), UserError(
                f"TensorFlow Lite cannot open {path.name}: {tool_line(str(exc))}"), {"model": path.name}) from exc
        self.label = path.name
        ins, outs = self.it.get_input_details(), self.it.get_output_details()
        self._in = [ins[i] for i in _order([{d["name"]} for d in ins], [t.name for t in cut.inputs], "input", path.name)]
        self._out = outs
        self.output_names = [d["name"] for d in outs]
        for d, t in zip(self._in, cut.inputs):
            _check_shape(path.name, d["name"], list(d.get("shape_signature", d["shape"])), list(t.shape))
            info = {"name": d["name"], "dtype": np.dtype(d["dtype"]).name, "shape": [int(v) for v in d["shape"]]}
            scale, zero = d["quantization"]
            if np.dtype(d["dtype"]).kind in "iu" and scale:
                lim = np.iinfo(d["dtype"])
                info.update(scale=float(scale), zero_point=int(zero),
                            range=[float((lim.min - zero) * scale), float((lim.max - zero) * scale)])
            self.inputs.append(info)

    def run(self, feed: list) -> list:
        import numpy as np

        for d, x in zip(self._in, feed):
            dtype = np.dtype(d["dtype"])
            scale, zero = d["quantization"]
            if dtype.kind in "iu" and scale and x.dtype.kind == "f":
                lim = np.iinfo(dtype)
                x = np.clip(np.round(x / scale + zero), lim.min, lim.max)
            x = x.astype(dtype, copy=False)
            if list(d["shape"]) != list(x.shape):
                self.it.resize_tensor_input(d["index"], list(x.shape))
                self.it.allocate_tensors()
                d["shape"] = list(x.shape)
            try:
                self.it.set_tensor(d["index"], x)
            except ValueError as exc:
                raise UserError(f"{self.label} does not take the original model's inputs: {str(exc).strip()[:300]}") from exc
        self.it.invoke()
        out = []
        for d in self._out:
            r = self.it.get_tensor(d["index"])
            scale, zero = d["quantization"]
            if r.dtype.kind in "iu" and scale:
                r = (r.astype(np.float32) - zero) * np.float32(scale)
            out.append(r.astype(np.float32, copy=False))
        return out


def _tflite_precision(graph) -> str:
    produced = [t.dtype for n in graph.nodes for t in n.outputs]
    constants = {c for n in graph.nodes for c in n.attrs.get("constant_inputs", ())}
    const_types = {t.dtype for n in graph.nodes for t in n.attrs.get("input_tensors", ()) if t.name in constants}
    integer = sum(d in ("int8", "uint8", "int16") for d in produced)
    if produced and integer * 2 > len(produced):
        return "int8"
    if const_types & {"int8", "int4"}:
        return "dynamic-range int8"
    if "float16" in const_types:
        return "float16"
    return "float32"


class OpenVINORunner(Runner):
    runtime = "openvino"

    def __init__(self, path: Path, cut: CutModel, device: str = "CPU", reference: bool = False) -> None:
        super().__init__()
        from ..loaders.openvino_loader import core

        path = Path(path)
        if path.suffix.lower() == ".bin":
            path = path.with_suffix(".xml")
        ov_core = core()
        try:
            model = ov_core.read_model(str(path))
            ins = [set(p.get_names()) for p in model.inputs]
            self._order = _order(ins, [t.name for t in cut.inputs], "input", path.name)
            shapes = {}
            for i, t in zip(self._order, cut.inputs):
                own = model.inputs[i].get_partial_shape()
                dims = [-1 if d.is_dynamic else d.get_length() for d in own] if own.rank.is_static else None
                if dims is not None:
                    _check_shape(path.name, model.inputs[i].get_any_name(), dims, list(t.shape))
                if own.is_dynamic:
                    shapes[i] = list(t.shape)
            if shapes:
                model.reshape(shapes)
            self.precision = "float32 (original)" if reference else _openvino_precision(model)
            hint = exact_hint(ov_core, device, self.precision)
            self.compiled = ov_core.compile_model(model, device, {"INFERENCE_PRECISION_HINT": hint})
            self.inference_precision = precision_name(self.compiled.get_property("INFERENCE_PRECISION_HINT"))
            self.notes = (_precision_note(ov_core, device, self.precision, self.inference_precision),)
        except UserError:
            raise
        except Exception as exc:  # OpenVINO raises RuntimeError with multi-line texts
            raise explain(exc, ("openvino_device", "openvino"), UserError(
                f"OpenVINO cannot open {path.name}: {tool_line(str(exc))}"),
                {"model": path.name, "device": device}) from exc
        self.request = self.compiled.create_infer_request()
        self.label = path.name
        self.output_names = [next(iter(sorted(p.get_names())), f"output_{k}") for k, p in enumerate(self.compiled.outputs)]
        self._types = []
        for i in self._order:
            port = self.compiled.inputs[i]
            dtype = port.get_element_type().to_dtype()
            self._types.append(dtype)
            self.inputs.append({"name": port.get_any_name(), "dtype": dtype.name, "shape": [int(d) for d in port.get_shape()]})
        self._own_names = [set(p.get_names()) for p in self.compiled.outputs]

    def run(self, feed: list) -> list:
        import numpy as np

        try:
            result = self.request.infer({i: x.astype(t, copy=False) for i, x, t in zip(self._order, feed, self._types)})
        except Exception as exc:
            raise explain(exc, ("openvino_device", "openvino"), UserError(
                f"{self.label} does not take the original model's inputs: {tool_line(str(exc))}")) from exc
        return [np.asarray(result[p], dtype=np.float32) for p in self.compiled.outputs]


def exact_hint(ov_core, device: str, stored: str) -> str:
    """The INFERENCE_PRECISION_HINT for an exact check of a model stored in `stored` precision.

    Left to itself OpenVINO's CPU plugin computes in bf16 on CPUs with AMX / AVX512-BF16, so an FP32
    model would look 1e-2 off its original on some machines and exact on others. FP32 and INT8 IR
    (its float parts) are run in f32; an FP16 IR in f16 where the device has FP16 arithmetic, as the
    NCS2, GPUs and NPUs run it, else in f32."""
    if stored == "float16":
        try:
            caps = ov_core.get_property(device, "OPTIMIZATION_CAPABILITIES")
        except Exception:  # a device without the property: stay exact
            caps = ()
        if "FP16" in caps:
            return "f16"
    return "f32"


def _precision_note(ov_core, device: str, stored: str, used: str) -> str:
    try:
        default = precision_name(ov_core.get_property(device, "INFERENCE_PRECISION_HINT"))
    except Exception:
        default = ""
    why = ", this device's default" if used == default else (
        f" for an exact check (left to itself this {device} computes in {default})" if default else " for an exact check")
    if stored == "float16" and used == "f16":
        return f"OpenVINO ran this FP16 model in f16 on {device}, as the NCS2, GPUs and NPUs compute it."
    if stored == "float16":
        return (f"OpenVINO ran this FP16 model in {used} on {device}: this {device} has no FP16 arithmetic, so the check "
                "shows the rounding of the FP16 weights, not FP16 arithmetic.")
    return f"OpenVINO ran this model in {used} on {device}{why}."


def _openvino_precision(model) -> str:
    types = {op.get_type_name() for op in model.get_ordered_ops()}
    if "FakeQuantize" in types:
        return "int8"
    consts = {op.get_output_element_type(0).get_type_name() for op in model.get_ordered_ops() if op.get_type_name() == "Constant"}
    return "float16" if "f16" in consts else "float32"


class GraphDefRunner(Runner):
    """The cut itself: the frozen TensorFlow GraphDef every converter started from."""

    runtime = "tensorflow"
    precision = "float32 (original)"

    def __init__(self, cut: CutModel) -> None:
        super().__init__()
        import tensorflow as tf

        gd = tf.compat.v1.GraphDef()
        gd.ParseFromString(Path(cut.path).read_bytes())
        imported = tf.compat.v1.wrap_function(lambda: tf.graph_util.import_graph_def(gd, name=""), [])
        self._fn = imported.prune([f"{t.name}:0" for t in cut.inputs], [f"{t.name}:0" for t in cut.outputs])
        self.output_names = [t.name for t in cut.outputs]
        self.inputs = [{"name": t.name, "dtype": t.dtype, "shape": list(t.shape)} for t in cut.inputs]
        self._tf = tf

    def run(self, feed: list) -> list:
        import numpy as np

        outs = self._fn(*[self._tf.constant(x) for x in feed])
        return [np.asarray(o, dtype=np.float32) for o in self._tf.nest.flatten(outs)]


def open_reference(cut: CutModel) -> Runner:
    if cut.kind == "graphdef":
        return GraphDefRunner(cut)
    if cut.kind == "tflite":
        return TFLiteRunner(Path(cut.path), cut)
    if cut.kind in ("openvino_ir", "onnx"):
        return OpenVINORunner(Path(cut.path), cut, reference=True)
    raise UserError(f"Cannot run a {cut.kind} model to compare with.")


def open_artifact(path: Path, cut: CutModel) -> Runner:
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        return TFLiteRunner(path, cut)
    if suffix in (".xml", ".bin"):
        return OpenVINORunner(path, cut)
    if suffix == ".onnx":
        return OpenVINORunner(path, cut)
    raise UserError(f"{path.name} is not a model EdgeWizard can verify (.tflite, OpenVINO .xml, .onnx).")


def output_order(runner: Runner, cut: CutModel, label: str) -> list[int]:
    names = getattr(runner, "_own_names", None) or [{n} for n in runner.output_names]
    return _order(names, [t.name for t in cut.outputs], "output", label)

