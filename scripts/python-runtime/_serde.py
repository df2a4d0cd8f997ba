"""Turns JSON values into the typed models of models.py and back, driven by their type hints."""
from __future__ import annotations

import dataclasses
import datetime
import sys
import typing
from typing import Any, Dict, Literal, Tuple

_JSON_NAME = "json_name"
_HINTS: Dict[type, Dict[str, Any]] = {}


class Model:
    """Base of every generated model: ``from_dict`` reads the JSON shape, ``to_dict`` writes it back."""

    @classmethod
    def from_dict(cls, data: Any) -> Any:
        return decode(data, cls)

    def to_dict(self) -> Dict[str, Any]:
        return encode(self)


def json_field(name: str, **kwargs: Any) -> Any:
    """A dataclass field whose JSON key differs from its Python name (e.g. ``from`` -> ``from_``)."""
    return dataclasses.field(metadata={_JSON_NAME: name}, **kwargs)


def _hints(cls: type) -> Dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        module = sys.modules[cls.__module__]
        hints = typing.get_type_hints(cls, vars(module), vars(module))
        _HINTS[cls] = hints
    return hints


def _json_name(f: "dataclasses.Field[Any]") -> str:
    return f.metadata.get(_JSON_NAME, f.name)


def _is_optional_field(f: "dataclasses.Field[Any]") -> bool:
    return f.default is None


def _extra_field(cls: type) -> Any:
    return getattr(cls, "__extra_field__", None)


def decode(value: Any, hint: Any) -> Any:
    """Reads a JSON value as ``hint``. Lenient: a value that does not fit is returned as it is."""
    if value is None or hint is Any:
        return value
    origin = typing.get_origin(hint)
    if origin is typing.Union:
        return _decode_union(value, typing.get_args(hint))
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return [decode(v, item) for v in value] if isinstance(value, list) else value
    if origin is dict:
        args = typing.get_args(hint)
        item = args[1] if len(args) == 2 else Any
        return {k: decode(v, item) for k, v in value.items()} if isinstance(value, dict) else value
    if origin is Literal:
        return value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode_model(value, hint) if isinstance(value, dict) else value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _decode_model(data: Dict[str, Any], cls: type) -> Any:
    hints = _hints(cls)
    extra_name = _extra_field(cls)
    kwargs: Dict[str, Any] = {}
    known = set()
    for f in dataclasses.fields(cls):
        if not f.init or f.name == extra_name:
            continue
        key = _json_name(f)
        known.add(key)
        if key in data:
            kwargs[f.name] = decode(data[key], hints[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
            kwargs[f.name] = None
    if extra_name:
        value_hint = typing.get_args(hints[extra_name])
        item = value_hint[1] if len(value_hint) == 2 else Any
        kwargs[extra_name] = {k: decode(v, item) for k, v in data.items() if k not in known}
    return cls(**kwargs)


def _fit(value: Any, hint: Any) -> int:
    """How well a JSON value fits a type: -1 not at all, higher is better."""
    if hint is Any:
        return 0
    if hint is type(None):
        return 1 if value is None else -1
    origin = typing.get_origin(hint)
    if origin is typing.Union:
        return max(_fit(value, h) for h in typing.get_args(hint))
    if origin is Literal:
        return 3 if value in typing.get_args(hint) else -1
    if origin is list:
        return 1 if isinstance(value, list) else -1
    if origin is dict:
        return 1 if isinstance(value, dict) else -1
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            return -1
        hints = _hints(hint)
        score = 1
        for f in dataclasses.fields(hint):
            if f.name == _extra_field(hint):
                continue
            key = _json_name(f)
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING  # type: ignore[misc]
            if key in value:
                literal = _fit_literal(value[key], hints[f.name])
                if literal < 0:
                    return -1
                score += 1 + literal
            elif required:
                return -1
        return score
    if hint is bool:
        return 1 if isinstance(value, bool) else -1
    if hint is int:
        return 1 if isinstance(value, int) and not isinstance(value, bool) else -1
    if hint is float:
        return 1 if isinstance(value, (int, float)) and not isinstance(value, bool) else -1
    if hint is str:
        return 1 if isinstance(value, str) else -1
    if hint is bytes:
        return -1
    return 0


def _fit_literal(value: Any, hint: Any) -> int:
    """A field typed with a Literal (a discriminator such as ``type: "error"``) must match it."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        return 2 if value in typing.get_args(hint) else -1
    if origin is typing.Union:
        literals = [h for h in typing.get_args(hint) if typing.get_origin(h) is Literal]
        if literals and len(literals) == len([h for h in typing.get_args(hint) if h is not type(None)]):
            return 2 if any(value in typing.get_args(h) for h in literals) or value is None else -1
    return 0


def _decode_union(value: Any, options: Tuple[Any, ...]) -> Any:
    best, best_score = None, -1
    for option in options:
        if option is type(None):
            continue
        score = _fit(value, option)
        if score > best_score:
            best, best_score = option, score
    return value if best is None else decode(value, best)


def encode(value: Any) -> Any:
    """Writes a model (or a plain value holding models) as JSON-ready data; unset optional fields are left out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        extra_name = _extra_field(type(value))
        out: Dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if f.name == extra_name:
                for k, v in (item or {}).items():
                    out.setdefault(k, encode(v))
                continue
            if item is None and _is_optional_field(f):
                continue
            out[_json_name(f)] = encode(item)
        return out
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def parse_datetime(value: str) -> datetime.datetime:
    """An ISO-8601 timestamp from the API (``2025-01-02T03:04:05.678Z``) as an aware datetime.

    Models keep timestamps as the strings the server sends; Python 3.9's ``fromisoformat`` does not read ``Z``.
    """
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    return datetime.datetime.fromisoformat(text)
