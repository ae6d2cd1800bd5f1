"""How a config option is declared (a dataclass field with choices, a minimum, the models it
applies to, its help) and how a section is read from a mapping, checking every key and value
and naming the first bad one. Generic over the fields, so a new option is one field."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import field
from typing import Any

from vaekit.core.errors import VaekitError


def option(
    default: Any,
    *,
    choices: tuple[str, ...] | None = None,
    minimum: float | None = None,
    exclusive_min: bool = False,
    models: tuple[str, ...] | None = None,
    help: str = "",
) -> Any:
    """A config field; ``models`` names the models the option applies to (None: all)."""
    meta = {
        "choices": choices,
        "min": minimum,
        "exclusive_min": exclusive_min,
        "models": models,
        "help": help,
    }
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def section_from_dict(kind: type, raw: Any, where: str) -> Any:
    """Build one config section from a mapping, naming the first bad key."""
    if not isinstance(raw, dict):
        raise VaekitError(f"{where}: expected a mapping of options")
    fields = {f.name: f for f in dataclasses.fields(kind)}
    hints = typing.get_type_hints(kind)
    values = {}
    for key, value in raw.items():
        if key not in fields:
            raise VaekitError(f"{where}.{key}: unknown option (known: {', '.join(fields)})")
        values[key] = check_value(value, hints[key], fields[key].metadata, f"{where}.{key}")
    return kind(**values)


def check_value(value: Any, hint: Any, meta: Any, where: str) -> Any:
    """Check one value against its type hint and metadata; return it normalised."""
    if not _matches(value, hint):
        raise VaekitError(f"{where}: expected {_describe(hint)}, got {value!r}")
    if isinstance(value, int) and not isinstance(value, bool) and hint is float:
        value = float(value)
    choices = meta.get("choices")
    if choices and value not in choices:
        raise VaekitError(f"{where}: {value!r} is not one of {', '.join(choices)}")
    minimum = meta.get("min")
    if minimum is not None and value is not None:
        numbers = value if isinstance(value, list) else [value]
        for number in numbers:
            if isinstance(number, (int, float)) and (
                number < minimum or (meta.get("exclusive_min") and number == minimum)
            ):
                sign = ">" if meta.get("exclusive_min") else ">="
                raise VaekitError(f"{where}: must be {sign} {minimum}, got {number!r}")
    return value


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arm) for arm in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is Any:
        return True
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and (value == value and abs(value) != float("inf"))
        )
    if hint is str:
        return isinstance(value, str)
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    raise TypeError(f"unsupported config type {hint!r}")


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arm) for arm in typing.get_args(hint))
    if origin is list:
        return f"a list of {_describe(typing.get_args(hint)[0])}"
    if origin is dict:
        return "a mapping"
    return {
        type(None): "null",
        int: "an integer",
        float: "a finite number",
        str: "a string",
        bool: "true or false",
    }.get(hint, str(hint))
