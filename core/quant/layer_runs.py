"""Run a float model and its int8 counterpart on the same samples, keeping every op's output, and
gather per-tensor error statistics as they stream by (the tensors of a whole data set would not fit in memory).

TFLite: both models run with all tensors preserved and without the default delegate (XNNPACK fuses ops and
reuses their buffers, hiding intermediate tensors); tensors match by name, which the converter keeps.
OpenVINO: an output is added at every op both models hold (by friendly name), and both run in f32."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

TINY = 1e-12
PASS_THROUGH_TFLITE = frozenset({"QUANTIZE", "DEQUANTIZE"})
SKIP_OV = frozenset({"Parameter", "Constant", "Result", "FakeQuantize", "Convert"})


@dataclass
class Stats:
    """Running figures of one tensor pair: squared error and the float tensor's mean and spread."""

    n: int = 0
    sse: float = 0.0
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean (Chan's parallel update)

    def add(self, f, q) -> None:
        """One batch: float32 passes with BLAS dot products (float64 copies of big tensors cost most of the time)."""
        import numpy as np

        f = np.ascontiguousarray(f, dtype=np.float32).ravel()
        q = np.ascontiguousarray(q, dtype=np.float32).ravel()
        if f.size != q.size or not f.size:
            return
        k = f.size
        d = q - f
        sse = float(np.dot(d, d))
        mean_b = float(f.mean(dtype=np.float64))
        np.subtract(f, np.float32(mean_b), out=d)
        m2_b = float(np.dot(d, d))
        total = self.n + k
        delta = mean_b - self.mean
        self.m2 += m2_b + delta * delta * self.n * k / total
        self.mean += delta * k / total
        self.n = total
        self.sse += sse

    @property
    def rmse(self) -> float:
        return (self.sse / self.n) ** 0.5 if self.n else 0.0

    @property
    def error(self) -> float:
        std = (self.m2 / self.n) ** 0.5 if self.n else 0.0
        return self.rmse / (std + TINY)


@dataclass
class Tap:
    """One op of the int8 model whose output is compared."""

    node: str  # output tensor name (TFLite) or friendly name (OpenVINO)
    op: str
    inputs: tuple[str, ...]  # names of the compared tensors this op reads (after pass-through ops)
    quantized: bool
    scale: Optional[float] = None  # integer output: its quantization step
    members: tuple[str, ...] = ()  # OpenVINO: the ops of the fused chain it ends (first to last)
    stats: Stats = field(default_factory=Stats)


# ---------------------------------------------------------------- TFLite


class _TFLiteModel:
    def __init__(self, content: bytes, label: str) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        from ..errors import UserError

        try:
            self.it = Interpreter(model_content=content, experimental_preserve_all_tensors=True,
                                  experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
            self.it.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise UserError(f"TensorFlow Lite cannot open {label}: {str(exc).strip()[:200]}") from exc
        self.label = label
        self.ops = self.it._get_ops_details()
        self.tensors = {}  # index -> (name, dtype, scale, zero point)
        for op in self.ops:
            for t in list(op["outputs"]) + list(op["inputs"]):
                if t >= 0 and t not in self.tensors:
                    d = self.it._get_tensor_details(t, 0)
                    scale, zero = d["quantization"]
                    self.tensors[t] = (d["name"], d["dtype"], float(scale), int(zero))
        self.ins = self.it.get_input_details()

    def order_inputs(self, names: list[str]) -> list[dict]:
        own = [d["name"] for d in self.ins]
        if all(n in own for n in names) and len(set(names)) == len(names):
            return [self.ins[own.index(n)] for n in names]
        return list(self.ins)[: len(names)]

    def run(self, feed: list, order: list[dict]) -> None:
        import numpy as np

        for d, x in zip(order, feed):
            dtype = np.dtype(d["dtype"])
            scale, zero = d["quantization"]
            if dtype.kind in "iu" and scale and x.dtype.kind == "f":
                lim = np.iinfo(dtype)
                x = np.clip(np.round(x / scale + zero), lim.min, lim.max)
            self.it.set_tensor(d["index"], x.astype(dtype, copy=False))
        self.it.invoke()

    def value(self, index: int):
        """A tensor's real values: integer tensors dequantized with their scale and zero point."""
        import numpy as np

        name, dtype, scale, zero = self.tensors[index]
        v = self.it.get_tensor(index)
        if v.dtype.kind in "iu" and scale:
            return (v.astype(np.float32) - zero) * np.float32(scale)
        return v.astype(np.float32, copy=False)


def tflite_taps(float_bytes: bytes, int8_bytes: bytes, int8_label: str, input_names: list[str], batches,
                progress) -> list[Tap]:
    """Compare every op output of the int8 model with the float model's tensor of the same name."""
    import numpy as np

    fm = _TFLiteModel(float_bytes, "the float reference model")
    qm = _TFLiteModel(int8_bytes, int8_label)
    f_index = {}
    for op in fm.ops:
        for t in op["outputs"]:
            f_index.setdefault(fm.tensors[t][0], t)
    alias: dict[int, int] = {}  # int8 tensor made by a QUANTIZE/DEQUANTIZE -> the tensor it converts
    for op in qm.ops:
        if op["op_name"] in PASS_THROUGH_TFLITE and len(op["inputs"]) and op["inputs"][0] >= 0:
            for t in op["outputs"]:
                alias[t] = op["inputs"][0]

    def source(t: int) -> int:
        seen = 0
        while t in alias and seen < 100:
            t, seen = alias[t], seen + 1
        return t

    pairs: list[tuple[Tap, int, int]] = []
    for op in qm.ops:
        if op["op_name"] in PASS_THROUGH_TFLITE:
            continue
        for t in op["outputs"]:
            name, dtype, scale, _ = qm.tensors[t]
            if name not in f_index:
                continue
            integer = np.dtype(dtype).kind in "iu"
            reads = tuple(qm.tensors[source(i)][0] for i in op["inputs"] if i >= 0)
            tap = Tap(node=name, op=op["op_name"], inputs=reads, quantized=integer, scale=scale if integer and scale else None)
            pairs.append((tap, t, f_index[name]))
    f_order, q_order = fm.order_inputs(input_names), qm.order_inputs(input_names)
    batches = list(batches)
    for k, feed in enumerate(batches):
        fm.run(feed, f_order)
        qm.run(feed, q_order)
        for tap, qi, fi in pairs:
            tap.stats.add(fm.value(fi), qm.value(qi))
        progress((k + 1) / len(batches), f"Compared {k + 1} of {len(batches)} samples")
    return [tap for tap, _, _ in pairs]


# ---------------------------------------------------------------- OpenVINO


def _constness(model) -> dict:
    """Op name -> whether its value is fixed (a Constant, or computed from constants only: compressed weights)."""
    const: dict = {}
    for op in model.get_ordered_ops():
        kind = op.get_type_name()
        sources = [p.get_source_output().get_node().get_name() for p in op.inputs()]
        const[op.get_name()] = kind == "Constant" or (kind != "Parameter" and bool(sources)
                                                       and all(const.get(s, False) for s in sources))
    return const


def _through(output):
    """The output an input really reads, through FakeQuantize and Convert ops."""
    seen = 0
    while output.get_node().get_type_name() in ("FakeQuantize", "Convert") and seen < 100:
        output, seen = output.get_node().input(0).get_source_output(), seen + 1
    return output


def match_ops(reference, qmodel, input_names: list[str]) -> list[tuple]:
    """(int8 op, float op) pairs of the ops that compute the same thing, found by walking both graphs from
    their inputs: OpenVINO names many ops by a process-wide counter, so names differ between two conversions."""
    f_const, q_const = _constness(reference), _constness(qmodel)
    mapped: dict = {}
    f_nodes = {op.get_name(): op for op in reference.get_ordered_ops()}
    f_params, q_params = list(reference.get_parameters()), list(qmodel.get_parameters())
    for k, qp in enumerate(q_params):
        names = set(qp.output(0).get_names())
        fp = next((p for p in f_params if names & set(p.output(0).get_names())), None)
        if fp is None and len(f_params) == len(q_params):
            fp = f_params[k]
        if fp is not None:
            mapped[qp.get_name()] = fp
    pairs = []
    for op in qmodel.get_ordered_ops():
        kind = op.get_type_name()
        if kind in SKIP_OV or q_const[op.get_name()]:
            continue
        sources = []
        for port in op.inputs():
            out = _through(port.get_source_output())
            node = out.get_node()
            if q_const[node.get_name()]:
                sources.append(None)
            elif node.get_name() in mapped:
                sources.append((mapped[node.get_name()].get_name(), out.get_index()))
            else:
                break
        else:
            first = next((s for s in sources if s is not None), None)
            if first is None:
                continue
            f_src = f_nodes[first[0]]
            found = []
            for target in f_src.output(first[1]).get_target_inputs():
                cand = target.get_node()
                if cand.get_type_name() != kind or cand.get_input_size() != len(sources):
                    continue
                ok = True
                for port, want in zip(cand.inputs(), sources):
                    out = _through(port.get_source_output())
                    got = None if f_const[out.get_node().get_name()] else (out.get_node().get_name(), out.get_index())
                    ok = ok and got == want
                if ok and all(c.get_name() != cand.get_name() for c in found):
                    found.append(cand)
            if len(found) == 1:
                mapped[op.get_name()] = found[0]
                pairs.append((op, found[0]))
    return pairs


MOVE_OV = frozenset({"MaxPool", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Pad", "StridedSlice",
                     "Split", "VariadicSplit", "DepthToSpace", "SpaceToDepth"})


def int8_input(node, depth: int = 0) -> bool:
    """Whether an input is int8: a FakeQuantize (maybe behind ops that only move data), or weights stored as
    8-bit (or smaller) integers and decompressed on the fly."""
    kind = node.get_type_name()
    if kind == "FakeQuantize":
        return True
    if kind == "Constant":
        return node.get_output_element_type(0).get_type_name() in ("i8", "u8", "i4", "u4")
    if depth > 6 or kind == "Parameter":
        return False
    sources = [p.get_source_output().get_node() for p in node.inputs()]
    if kind in MOVE_OV:
        return bool(sources) and int8_input(sources[0], depth + 1)
    if kind in ("Convert", "Subtract", "Multiply"):
        return any(int8_input(n, depth + 1) for n in sources if n.get_type_name() in ("Constant", "Convert", "Subtract"))
    return False


ACTIVATIONS_OV = frozenset({"Relu", "Clamp", "Swish", "HSwish", "Sigmoid", "Tanh", "PRelu", "Elu", "Gelu", "HSigmoid"})


def _chains(pairs) -> dict:
    """{int8 op name: the op ending its chain}: an op whose only consumer is an activation or an operation with
    a constant (bias, batch-norm scale) is one layer with it. The CPU plugin fuses such chains; an output at
    each op would split them and make the run many times slower."""
    matched = {q.get_name() for q, _ in pairs}
    end: dict = {}
    for q, _ in reversed(pairs):
        consumers = [t.get_node() for t in q.output(0).get_target_inputs()] if q.get_output_size() == 1 else []
        nxt = consumers[0] if len(consumers) == 1 else None
        joins = nxt is not None and nxt.get_name() in matched and (
            nxt.get_type_name() in ACTIVATIONS_OV or (nxt.get_type_name() in ("Add", "Multiply", "Subtract") and any(
                _through(p.get_source_output()).get_node().get_type_name() == "Constant" for p in nxt.inputs())))
        end[q.get_name()] = end.get(nxt.get_name(), nxt) if joins else q
    return end


def openvino_taps(reference, int8_path: str, input_names: list[str], shapes: list, batches, progress):
    """`reference` is the FP32 ov.Model of the cut; `int8_path` the INT8 IR. Returns the taps (one per chain
    of ops the CPU fuses into a layer, Tap.members naming its ops) and the float values of every op on the
    first batch ({int8 op friendly name: (op type, array)}), to name them by."""
    import numpy as np

    from ..loaders.openvino_loader import core

    ov_core = core()
    qmodel = ov_core.read_model(int8_path)
    pairs = [(q, f) for q, f in match_ops(reference, qmodel, input_names) if q.get_output_size() >= 1]
    end = _chains(pairs)
    members: dict = {}
    for q, _ in pairs:
        members.setdefault(end[q.get_name()].get_name(), []).append(q)
    ends = [(q, f) for q, f in pairs if end[q.get_name()].get_name() == q.get_name()]
    taps = []
    for op, _ in ends:
        chain = members[op.get_name()]
        inside = {m.get_name() for m in chain}
        reads, quantized = [], False
        for m in chain:
            quantized = quantized or any(int8_input(port.get_source_output().get_node()) for port in m.inputs())
            for port in m.inputs():
                src = _through(port.get_source_output()).get_node()
                if src.get_type_name() not in ("Constant", "Parameter") and src.get_name() not in inside:
                    reads.append(end[src.get_name()].get_friendly_name() if src.get_name() in end else src.get_friendly_name())
        taps.append(Tap(node=op.get_friendly_name(), op=chain[0].get_type_name(), inputs=tuple(reads), quantized=quantized,
                        members=tuple(m.get_friendly_name() for m in chain)))
    compiled = []
    for side, model in ((1, reference), (0, qmodel)):
        compiled.append(_compiled(ov_core, model, [pair[side] for pair in ends], input_names, shapes))
    batches = list(batches)
    for k, feed in enumerate(batches):
        results = [_infer(c, feed) for c in compiled]
        for j, tap in enumerate(taps):
            tap.stats.add(results[0][j], results[1][j])
        progress((k + 1) / len(batches), f"Compared {k + 1} of {len(batches)} samples")
    # Every op's float values once, to find the TensorFlow op each computes (ov_names.py).
    naming = _compiled(ov_core, reference, [f for _, f in pairs], input_names, shapes)
    values = _infer(naming, batches[0])
    first = {q.get_friendly_name(): (q.get_type_name(), np.array(v, dtype=np.float32)) for (q, _), v in zip(pairs, values)}
    return taps, first


def _compiled(ov_core, model, ops, input_names: list[str], shapes: list):
    """The model compiled in f32 with an output at each of `ops`: (compiled, request, input order, output indices)."""
    model.add_outputs([op.output(0) for op in ops])
    where = {}
    for i, out in enumerate(model.outputs):
        producer = out.get_node().input(0).get_source_output()
        if producer.get_index() == 0:
            where.setdefault(producer.get_node().get_name(), i)
    _reshape(model, input_names, shapes)
    c = ov_core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return c, c.create_infer_request(), _ov_order(c, input_names), [where[op.get_name()] for op in ops]


def _infer(compiled, feed: list) -> list:
    c, request, order, where = compiled
    types = [c.inputs[i].get_element_type().to_dtype() for i in order]
    request.infer({i: x.astype(t, copy=False) for i, x, t in zip(order, feed, types)})
    return [request.get_output_tensor(i).data for i in where]


def _ov_order(compiled, names: list[str]) -> list[int]:
    own = [set(p.get_names()) for p in compiled.inputs]
    found = [next((i for i, n in enumerate(own) if name in n or any(x.split(":")[0] == name for x in n)), None)
             for name in names]
    if None in found or len(set(found)) != len(found):
        return list(range(len(names)))
    return found


def _reshape(model, names: list[str], shapes: list) -> None:
    own = [set(p.get_names()) for p in model.inputs]
    wanted = {}
    for name, shape in zip(names, shapes):
        i = next((i for i, n in enumerate(own) if name in n or any(x.split(":")[0] == name for x in n)), None)
        if i is not None and model.inputs[i].get_partial_shape().is_dynamic:
            wanted[i] = list(shape)
    if wanted:
        model.reshape(wanted)
