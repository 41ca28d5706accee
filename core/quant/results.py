"""What the quantization doctor finds, as plain frozen data (codec.py turns it into JSON and back).

LayerReport: every layer's error in an int8 model against the float model, worst first.
BudgetResult: the candidates an accuracy-budget search tried, and the one it chose."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..plan import stable_key

METRIC = "relative error"
# The heat map's top colour is at least this much added error: a model whose worst layer adds 0.007 (usual for
# int8) is not painted red, as if that layer had lost everything.
HEAT_FLOOR = 0.1
METRIC_NOTE = ("Relative error: the root-mean-square difference between a layer's int8 output and its float "
               "output, divided by the spread (standard deviation) of the float output. 0 is exact; 0.01 is "
               "typical of int8; 0.3 or more means the layer's output has lost most of its detail. 'Added' is "
               "how much a layer adds to the error it receives from the layers before it.")


@dataclass(frozen=True)
class LayerError:
    node: str  # the converted model's op: TFLite its output tensor's name, OpenVINO its friendly name
    op: str  # its op type: "CONV_2D", "Convolution", ...
    source_nodes: tuple[str, ...] = ()  # the original model's nodes it comes from (maybe none)
    error: float = 0.0  # relative RMSE of its output against the float model's: rmse / std(float output)
    added: float = 0.0  # error minus the largest error among its inputs: what this layer adds (the sort key)
    rmse_scale: Optional[float] = None  # int8 TFLite outputs: rmse / quantization step (0.29 is ideal rounding)
    quantized: bool = True  # computed in int8 (False: an op kept in float, or a float op between)

    @property
    def label(self) -> str:
        """The name a person knows: the original model's node where known, else the converted op's."""
        return ", ".join(self.source_nodes) if self.source_nodes else self.node


@dataclass(frozen=True)
class LayerReport:
    artifact: str  # path of the int8 model analysed
    file: str  # its file name
    sha256: str  # its content's hash
    runtime: str  # "litert" or "openvino"
    data: str  # one-line description of the data it ran on
    samples: int
    rows: tuple[LayerError, ...] = ()  # worst first (by `added`)
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    key: str = ""  # layers_key(sha256, data)

    def heat_top(self) -> float:
        """The added error the heat map's top colour stands for: the worst layer's, and at least HEAT_FLOOR."""
        return max(HEAT_FLOOR, max((r.added for r in self.rows), default=0.0))

    def heat(self) -> dict[str, float]:
        """Original node -> 0..1 (its largest `added`, divided by heat_top()), for the graph's heat map.
        Rows no original node is known for are left out."""
        top = self.heat_top()
        out: dict[str, float] = {}
        for r in self.rows:
            value = max(r.added, 0.0) / top if top > 0 else 0.0
            for s in r.source_nodes:
                out[s] = max(out.get(s, 0.0), value)
        return out

    def worst_nodes(self, n: int) -> list[str]:
        """The original nodes of the `n` worst int8 rows that name one, without repeats, worst first (a row computed
        in float already, such as OpenVINO's softmax, is not something keeping in float can change)."""
        found: list[str] = []
        for r in self.rows:
            if r.source_nodes and r.added > 0 and r.quantized:
                for s in r.source_nodes[:1]:
                    if s not in found:
                        found.append(s)
            if len(found) >= n:
                break
        return found


def layers_key(artifact_sha256: str, data: str) -> str:
    """A per-layer analysis depends on the int8 file's content and the data it ran on."""
    return stable_key("layers", artifact_sha256, data)


@dataclass(frozen=True)
class Candidate:
    keep_float: tuple[str, ...]  # original model nodes kept in float (empty: full int8)
    accuracy: float  # top-1 accuracy on the labelled data, 0..1
    drop: float  # float accuracy minus this, in points (1.0 = one percentage point)
    size_bytes: int
    accelerator_ops: Optional[int] = None  # ops that run on the accelerator (Edge TPU: as validated; else int8 ops)
    total_ops: Optional[int] = None
    latency_ms: Optional[float] = None  # median on this computer's CPU (LiteRT or OpenVINO CPU)
    fits: bool = False  # drop <= the budget
    files: tuple[str, ...] = ()  # where its converted files are (a folder of the search)
    label: str = ""  # "full int8", "conv2 in float", "NNCF accuracy control", ...
    note: str = ""


@dataclass(frozen=True)
class BudgetResult:
    target: str  # "tflite-int8", "edgetpu" or "openvino-int8"
    float_accuracy: float
    max_drop: float  # points
    data: str
    samples: int
    candidates: tuple[Candidate, ...] = ()
    chosen: int = -1  # index into candidates: the first that fits, else the closest
    fits: bool = False
    message: str = ""  # one plain sentence: what was found
    seconds: float = 0.0
    key: str = ""
