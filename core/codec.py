"""The one way results become JSON and come back: dataclasses by their fields and type hints.

Our own small codec rather than cattrs or pydantic: the same code runs in the GUI process, in the
frozen app and in the remote bench agent's reader, and a new dependency would have to go into all
three; dataclasses and type hints already say everything a result's JSON needs.

    to_data(obj)        dataclass -> dict by fields (nested), tuple -> list, Path -> str
    from_data(cls, d)   back, by cls's type hints: nested dataclasses, Optional[X], tuple[X, ...],
                        list[X], dict; unknown keys are ignored, missing ones take the field's
                        default; a value of the wrong shape raises ValueError
    dumps / loads       the same, as JSON text"""
from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from pathlib import PurePath
from typing import Any, TypeVar, Union

T = TypeVar("T")


def to_data(obj: Any) -> Any:
    """`obj` as plain JSON-able data (dict, list, str, int, float, bool, None)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_data(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_data(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_data(v) for v in obj]
    if isinstance(obj, PurePath):
        return str(obj)
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise ValueError(f"{type(obj).__name__} cannot be written as JSON.")


def from_data(cls: type[T], data: Any) -> T:
    """An instance of dataclass `cls` (or a value of type `cls`) built from `to_data`'s output."""
    return _build(cls, data, cls.__name__ if isinstance(cls, type) else str(cls))


def dumps(obj: Any, indent: int | None = 2) -> str:
    return json.dumps(to_data(obj), indent=indent, ensure_ascii=False)


def loads(cls: type[T], text: str) -> T:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"Not JSON: {exc}.") from None
    return from_data(cls, data)


_hints_cache: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _hints_cache:
        module = sys.modules.get(cls.__module__)
        _hints_cache[cls] = typing.get_type_hints(cls, vars(module) if module else None)
    return _hints_cache[cls]


def _build(tp: Any, data: Any, where: str) -> Any:
    if tp is Any or tp is object:
        return data
    origin = typing.get_origin(tp)
    if origin is Union or (hasattr(types, "UnionType") and isinstance(tp, types.UnionType)):
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _build(arg, data, where)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(errors[0] if len(errors) == 1 else f"{where}: {data!r} fits none of {tp}.")
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object for {tp.__name__}, got {type(data).__name__}.")
        hints = _hints(tp)
        kwargs = {f.name: _build(hints[f.name], data[f.name], f"{where}.{f.name}")
                  for f in dataclasses.fields(tp) if f.init and f.name in data}
        try:
            return tp(**kwargs)
        except TypeError as exc:  # a required field is missing
            raise ValueError(f"{where}: {exc}.") from None
    if origin in (tuple, list):
        if not isinstance(data, (list, tuple)):
            raise ValueError(f"{where}: expected a list, got {type(data).__name__}.")
        args = typing.get_args(tp)
        if origin is tuple and args and (len(args) != 2 or args[1] is not Ellipsis):  # tuple[X, Y]: fixed length
            if len(args) != len(data):
                raise ValueError(f"{where}: expected {len(args)} items, got {len(data)}.")
            return tuple(_build(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, data)))
        item = args[0] if args else Any
        return origin(_build(item, v, f"{where}[{i}]") for i, v in enumerate(data))
    if origin is dict or tp is dict:
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object, got {type(data).__name__}.")
        args = typing.get_args(tp)
        value = args[1] if len(args) == 2 else Any
        return {k: _build(value, v, f"{where}[{k!r}]") for k, v in data.items()}
    if tp in (tuple, list):
        if not isinstance(data, (list, tuple)):
            raise ValueError(f"{where}: expected a list, got {type(data).__name__}.")
        return tp(data)
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise ValueError(f"{where}: expected a number, got {data!r}.")
        return float(data)
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise ValueError(f"{where}: expected a whole number, got {data!r}.")
        return data
    if tp in (str, bool):
        if not isinstance(data, tp):
            raise ValueError(f"{where}: expected {tp.__name__}, got {data!r}.")
        return data
    if tp is type(None):
        if data is not None:
            raise ValueError(f"{where}: expected null, got {data!r}.")
        return None
    if isinstance(tp, type) and issubclass(tp, PurePath):
        if not isinstance(data, str):
            raise ValueError(f"{where}: expected a path, got {data!r}.")
        return tp(data)
    raise ValueError(f"{where}: cannot read a value of type {tp}.")
