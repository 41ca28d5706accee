"""Input shapes, written once for the Nodes step and the command line: a shape as a person types it,
the one rule for when a shape is static, and the static shape each input of a cut gets.

The rule: a size is known when it is a whole number of at least 0; None and negative sizes (-1 is
how TensorFlow, ONNX and OpenVINO write "any size") are unknown. Typed by a person, -1, ? and None
leave a size open; zero and other negative numbers are refused with a sentence."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional

from .errors import UserError
from .graph import Dim, Graph, TensorInfo, resolve_node

if TYPE_CHECKING:
    from .plan import Selection

Shape = tuple[Dim, ...]

EXAMPLE = "1,224,224,3"
CLI_ASK = "with --shape {name}={example}"  # how the command line asks for a shape; the GUI passes its own
_SEPARATOR = re.compile(r"\s*[,xX×]\s*|\s+")
_OPEN_WORDS = {"", "-1", "?", "none"}  # "" as in "1,,,3"


def known(d: Dim) -> bool:
    """Whether a size is known: the one rule for negative sizes, which are unknown."""
    return d is not None and d >= 0


def parse_shape(text: str, label: str = "The shape") -> Shape:
    """A shape typed by a person: "1,224,224,3", "1x224x224x3", "[1, ?, ?, 3]". -1, ?, None and
    an empty size are sizes left open (None in the result). Raises UserError, starting with `label`, for anything else
    that is not a positive whole number."""
    body = text.strip().strip("[]()").strip()
    if not body:
        raise UserError(f"{label} is empty; type one size per dimension, like {EXAMPLE}.")
    dims: list[Dim] = []
    for token in _SEPARATOR.split(body):
        if token.lower() in _OPEN_WORDS:
            dims.append(None)
            continue
        try:
            d = int(token)
        except ValueError:
            raise UserError(f"{label} has '{token}', which is not a size; sizes are whole numbers like {EXAMPLE} "
                            "(-1 or ? for one left open).") from None
        if d <= 0:
            raise UserError(f"{label} has the size {d}; a size is a positive whole number, or -1 or ? for one "
                            "left open.")
        dims.append(d)
    return tuple(dims)


def why_not_static(shape: Optional[Shape], label: str = "The shape") -> Optional[str]:
    """None when every size of `shape` is known, else a sentence saying which are missing."""
    if shape is None:
        return f"{label} has an unknown number of dimensions; give one size per dimension, like {EXAMPLE}."
    missing = [str(i) for i, d in enumerate(shape) if not known(d)]
    if not missing:
        return None
    which = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " and " + missing[-1]
    plural = "s" if len(missing) > 1 else ""
    return f"{label} leaves dimension{plural} {which} open ({shape_text(shape)}); give every size."


def parse_static_shape(text: str, label: str = "The shape") -> tuple[int, ...]:
    """parse_shape, refusing a shape that leaves a size open (UserError saying which)."""
    shape = parse_shape(text, label)
    why = why_not_static(shape, label)
    if why:
        raise UserError(why)
    return shape  # type: ignore[return-value]  (every size is known)


def shape_text(shape: Optional[Shape]) -> str:
    """A shape as parse_shape reads it back: "1,?,?,3"."""
    return "?" if shape is None else ",".join(str(d) if known(d) else "?" for d in shape)


def default_shape(tensor: TensorInfo) -> Optional[Shape]:
    """The shape an input gets when none is given: its own, with an unknown batch fixed to 1 (other
    unknown sizes stay None). None when even the rank is unknown."""
    if tensor.shape is None:
        return None
    return tuple(1 if i == 0 and not known(d) else (d if known(d) else None) for i, d in enumerate(tensor.shape))


def static_shape(tensor: TensorInfo, given: Optional[tuple[int, ...]], label: Optional[str] = None,
                 ask: str = CLI_ASK) -> tuple[int, ...]:
    """The static shape an input gets: the one given, else default_shape. Any other unknown size
    must be given; a given shape must fit the sizes the model fixes (the batch may change). `ask`
    says where a shape is given ({name}, {example} filled in)."""
    label = label or tensor.name
    own = tensor.shape
    if given is not None:
        given = tuple(int(d) for d in given)
        if any(d <= 0 for d in given):
            raise UserError(f"The shape given for input '{label}' ({_fmt(given)}) has a dimension that is not a positive number.")
        if own is not None:
            if len(own) != len(given):
                raise UserError(
                    f"Input '{label}' has {len(own)} dimensions {tensor.shape_text()}, but the shape given has {len(given)} ({_fmt(given)})."
                )
            for i, (o, g) in enumerate(zip(own, given)):
                if known(o) and o != g and i > 0:
                    raise UserError(
                        f"Input '{label}' has dimension {i} fixed to {o} in the model, but the shape given says {g} ({_fmt(given)})."
                    )
        return given
    shape = default_shape(tensor)
    if shape is None:
        raise UserError(f"Input '{label}' has an unknown shape; give one {ask.format(name=label, example='1,H,W,C')}.")
    if any(d is None for d in shape):
        letters = ["1", "H", "W", "C"] if len(shape) == 4 else ["1"] + [f"D{i}" for i in range(1, len(shape))]
        example = ",".join(str(d) if d is not None else letters[i] for i, d in enumerate(shape))
        raise UserError(f"Input '{label}' has dimensions of unknown size {tensor.shape_text()}; "
                        f"give its full shape {ask.format(name=label, example=example)}.")
    return shape  # type: ignore[return-value]  (every size is known)


def _fmt(shape) -> str:
    return ",".join(str(d) for d in shape)


def cut_inputs(graph: Graph, selection: "Selection") -> list[TensorInfo]:
    """The inputs that need a static shape, named as the selection names them: the chosen ones,
    else the model's own. A name the graph does not have gets an unknown shape."""
    if not selection.inputs:
        return list(graph.inputs)
    out = []
    for name in selection.inputs:
        try:
            node = resolve_node(graph, name, "input")
        except UserError:
            node = None
        outs = node.outputs if node is not None else ()
        t = next((o for o in outs if o.name == name), outs[0] if outs else TensorInfo(name, None, "float32"))
        out.append(TensorInfo(name, t.shape, t.dtype))
    return out


def shape_problem(graph: Graph, selection: "Selection", ask: str = CLI_ASK) -> Optional[str]:
    """None when every input of the cut gets a static shape, else the sentence the cut would raise."""
    for t in cut_inputs(graph, selection):
        try:
            static_shape(t, selection.shape_for(t.name), ask=ask)
        except UserError as exc:
            return exc.message
    return None
