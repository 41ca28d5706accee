"""The error doctor: turns a tool's raw error text into one plain sentence saying what went wrong,
naming the ops, tensors and versions involved, and what to do.

The known signatures are data, `resources/errors/*.toml` (one file per tool family), each with the
real message it was written from: a test that makes the tool print it, or a quote from the tool's
public issue tracker. An unknown message gives no diagnosis and the caller keeps its own sentence;
the raw text always stays in the error's details. A sentence is shared by the command line and the wizard,
so it names no command-line option; an entry's `cli_hint` holds the option that helps, which only the
command line shows (core/errors.py). Standard library only (no Qt, no tool imports),
so the GUI process and the bench agent's host side may use it too."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Optional, Sequence, Union

from .errors import EdgeWizardError, InternalError, MissingDependency, UserError

TABLES = ("openvino", "tensorflow", "nncf", "litert", "edgetpu")
KINDS = {"user": UserError, "missing": MissingDependency, "internal": InternalError}
MAX_LISTED = 6  # longer lists end in "and N more": a sentence, not a dump
_FIELDS = {"id", "tool", "kind", "match", "sentence", "cli_hint", "collect", "requires", "model_has", "provenance",
           "defaults"}
_COLLECT_FIELDS = {"regex", "format", "clean"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")

Context = Mapping[str, Union[str, Sequence[str], None]]


def _split_commas(values: list[str]) -> list[str]:
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


# Clean-ups a table may ask for on collected values, by name (the table holds no code).
CLEANERS = {
    "split_commas": _split_commas,
    # "Conv-17" (ONNX op with its opset) -> "Conv"; "com.example.FancyOp" is left whole
    "strip_opset": lambda vs: [re.sub(r"-\d+$", "", v) for v in vs],
    # OpenVINO prints a numpy-style shape (1, 5) as "(1.5)"
    "dots_to_commas": lambda vs: [v.replace(".", ",") for v in vs],
    "strip_flex": lambda vs: [v[4:] if v.startswith("Flex") else v for v in vs],
    "lower": lambda vs: [v.lower() for v in vs],
}


@dataclass(frozen=True)
class Collect:
    """Every match of `regex` in the text, formatted and cleaned, as one list-valued argument."""

    regex: re.Pattern
    format: str = ""  # e.g. "'{name}' ({op})" from named groups; default: the first group
    clean: tuple[str, ...] = ()

    def values(self, text: str) -> list[str]:
        found = []
        for m in self.regex.finditer(text):
            if self.format:
                found.append(self.format.format(**{k: (v or "").strip() for k, v in m.groupdict().items()}))
            else:
                found.append((m.group(1) if m.re.groups else m.group(0)).strip())
        for name in self.clean:
            found = CLEANERS[name](found)
        return list(dict.fromkeys(v for v in found if v))


@dataclass(frozen=True)
class Signature:
    """One known error: its id, the tool family that prints it, how to recognise it, the sentence."""

    id: str
    tool: str
    kind: str  # "user", "missing" or "internal": which EdgeWizardError it becomes
    match: re.Pattern
    sentence: str
    collect: Mapping[str, Collect] = field(default_factory=dict)
    requires: tuple[str, ...] = ()  # arguments that must have a value (from the text or the context)
    model_has: tuple[str, ...] = ()  # op types of which the model (context "model_ops") must hold one
    defaults: Mapping[str, str] = field(default_factory=dict)
    provenance: Mapping[str, str] = field(default_factory=dict)
    table: str = ""
    cli_hint: str = ""  # the command-line option that helps ("--shape 1,H,W,C"); filled like the sentence


@dataclass(frozen=True)
class Diagnosis:
    id: str
    sentence: str
    args: dict
    kind: str = "user"
    tool: str = ""
    cli_hint: str = ""

    def error(self, details: str = "") -> EdgeWizardError:
        return KINDS[self.kind](self.sentence, details, message_id=self.id, message_args=self.args,
                                cli_hint=self.cli_hint)


# ---------------------------------------------------------------- the tables


def _toml():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib


def _compile(regex: str, where: str) -> re.Pattern:
    try:
        return re.compile(regex)
    except re.error as exc:
        raise InternalError(f"The error table {where} has a bad regex: {exc}.") from exc


def parse_table(name: str, text: str) -> tuple[Signature, ...]:
    """The signatures of one table; InternalError naming the entry for anything malformed."""
    data = _toml().loads(text)
    out = []
    for i, raw in enumerate(data.get("error", [])):
        where = f"{name}.toml [[error]] #{i + 1} ({raw.get('id', '?')})"
        unknown = set(raw) - _FIELDS
        missing = {"id", "tool", "kind", "match", "sentence", "provenance"} - set(raw)
        if unknown or missing:
            raise InternalError(f"The error table {where} has unknown fields {sorted(unknown)} or lacks {sorted(missing)}.")
        if raw["kind"] not in KINDS:
            raise InternalError(f"The error table {where} has kind {raw['kind']!r}; use user, missing or internal.")
        collect = {}
        for arg, spec in raw.get("collect", {}).items():
            if set(spec) - _COLLECT_FIELDS or "regex" not in spec or set(spec.get("clean", ())) - set(CLEANERS):
                raise InternalError(f"The error table {where} has a bad collect.{arg}.")
            regex = _compile(spec["regex"], where)
            if set(_PLACEHOLDER.findall(spec.get("format", ""))) - set(regex.groupindex):
                raise InternalError(f"The error table {where} formats collect.{arg} with a group its regex lacks.")
            collect[arg] = Collect(regex, spec.get("format", ""), tuple(spec.get("clean", ())))
        hint = raw.get("cli_hint", "").strip()
        if set(_PLACEHOLDER.findall(hint)) - set(_PLACEHOLDER.findall(raw["sentence"])):
            raise InternalError(f"The error table {where} fills its cli_hint with a value its sentence does not name.")
        out.append(Signature(
            id=raw["id"], tool=raw["tool"], kind=raw["kind"], match=_compile(raw["match"], where),
            sentence=raw["sentence"].strip(), collect=collect, requires=tuple(raw.get("requires", ())),
            model_has=tuple(raw.get("model_has", ())), defaults=dict(raw.get("defaults", {})),
            provenance=dict(raw["provenance"]), table=name, cli_hint=hint))
    return tuple(out)


@functools.lru_cache(maxsize=None)
def signatures() -> tuple[Signature, ...]:
    """Every signature of every table, in table order and, within a table, in file order (the first
    that fits a message wins, so specific entries come before general ones)."""
    from edgewizard.resources import files

    found: list[Signature] = []
    for name in TABLES:
        resource = files().joinpath("errors", f"{name}.toml")
        try:
            text = resource.read_text(encoding="utf-8")
        except OSError as exc:
            raise InternalError(f"The error table {name}.toml cannot be read: {exc}.") from exc
        found.extend(parse_table(name, text))
    ids = [s.id for s in found]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InternalError(f"The error tables define {', '.join(dupes)} more than once.")
    return tuple(found)


# ---------------------------------------------------------------- diagnosing


def listed(values: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c', 'a, b, …, f and 3 more'."""
    values = list(values)
    if len(values) > MAX_LISTED:
        rest = len(values) - MAX_LISTED
        values = values[:MAX_LISTED] + [f"{rest} more"]
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + " and " + values[-1]


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value if str(v)]


def _try(sig: Signature, text: str, context: Context) -> Optional[Diagnosis]:
    m = sig.match.search(text)
    if m is None:
        return None
    # The message's own words first, then what the caller knows, then the table's defaults.
    args = {k: str(v).strip() for k, v in m.groupdict().items() if v}
    for arg, spec in sig.collect.items():
        values = spec.values(text)
        if values:
            args[arg] = listed(values)
    for key, value in context.items():
        if key not in args and key != "model_ops" and _as_list(value):
            args[key] = listed(_as_list(value))
    for key, value in sig.defaults.items():
        args.setdefault(key, value)
    if sig.model_has:
        ops = set(_as_list(context.get("model_ops")))
        present = [op for op in sig.model_has if op in ops]
        if not present:
            return None
        args["model_has"] = listed(present)
    if any(not args.get(r) for r in sig.requires):
        return None
    needed = set(_PLACEHOLDER.findall(sig.sentence))
    if needed - set(args):
        return None  # the message lacks a part the sentence names: a less specific entry may fit
    args = {k: v for k, v in args.items() if k in needed}
    return Diagnosis(sig.id, sig.sentence.format(**args), args, sig.kind, sig.tool, sig.cli_hint.format(**args))


def diagnose(text: str, tool: Union[str, Iterable[str], None] = None,
             context: Optional[Context] = None) -> Optional[Diagnosis]:
    """The first signature of `tool` (a family such as "openvino", or several in order; None: all)
    that fits `text`, with its sentence filled in; None when the message is not a known one.

    `context` adds what the caller knows and the text may not say: "model" (a file name),
    "model_ops" (op types in the model, for control-flow entries), "float_tensors", "device", ..."""
    if not text:
        return None
    tools = [tool] if isinstance(tool, str) else (list(tool) if tool is not None else None)
    pool = signatures()
    ordered = pool if tools is None else [s for t in tools for s in pool if s.tool == t]
    for sig in ordered:
        found = _try(sig, text, context or {})
        if found is not None:
            return found
    return None


def try_entry(entry_id: str, text: str, context: Optional[Context] = None) -> Optional[Diagnosis]:
    """One named signature applied to `text`, whatever comes before it in the tables (for tests, and
    for entries that fit the same message as a more specific one)."""
    sig = next((s for s in signatures() if s.id == entry_id), None)
    if sig is None:
        raise KeyError(entry_id)
    return _try(sig, text, context or {})


# Lines of a tool's message that say where in the tool's own source it stopped, not what is wrong.
_WHERE_IN_TOOL = re.compile(r"^(Exception from \S+|Check '.*' failed at \S+|FrontEnd API failed with \w+:?|Summary:?)$"
                            r"|\.(?:cpp|hpp|cc|h):\d+:?$")


def tool_line(text: str, limit: int = 300) -> str:
    """The first line of a tool's message that says what is wrong ("Unexpected type: RESOURCE"), for
    a sentence the doctor has no entry for: OpenVINO opens with lines naming its C++ files."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    useful = [ln for ln in lines if not _WHERE_IN_TOOL.search(ln)]
    return (useful or lines or [""])[0][:limit]


def exception_text(exc: BaseException) -> str:
    """The exception's text with the texts of the exceptions it was raised from (Keras wraps the
    cause of a failed deserialization in a TypeError of its own)."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc).strip()
        parts.append(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


def explain(exc: Union[BaseException, str], tool: Union[str, Iterable[str]], fallback: EdgeWizardError,
            context: Optional[Context] = None, lead: str = "") -> EdgeWizardError:
    """The error to raise for a caught tool exception (or a tool's output text): the doctor's
    sentence, with its id and arguments, when the message is known; otherwise `fallback`, today's
    sentence. Either way the raw text stays in the details.

    `lead` is a caller's own opening ("TensorFlow Lite cannot convert this model at all, so it cannot
    run on the Edge TPU"): it replaces the sentence's opening up to its first colon."""
    text = exc if isinstance(exc, str) else exception_text(exc)
    found = diagnose(text, tool, context)
    if found is None:
        if not fallback.details:
            fallback.details = text
        return fallback
    if lead:
        head, sep, rest = found.sentence.partition(": ")
        found = replace(found, sentence=f"{lead}: {rest if sep else found.sentence}")
    return found.error(fallback.details or text)
