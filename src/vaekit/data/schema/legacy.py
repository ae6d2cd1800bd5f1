"""A schema recorded in a run's ``config.json`` (``data.schema``), read back and checked field by
field, so a hand-edited or damaged config fails in one line naming what is wrong; and the schema
of a run written before vaekit recorded schemas (config format 1), made from its
``data.transform`` (a divisor for images, per-column moments for tables).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vaekit.config.run import FORMAT_VERSION, DataConfig
from vaekit.core.errors import fail
from vaekit.data import dates
from vaekit.data.schema.columns import KINDS, MISSING_POLICIES, ROLES, SCALINGS, Column
from vaekit.data.schema.image import ImageSchema
from vaekit.data.schema.keys import KeyFilter
from vaekit.data.schema.rules import KINDS as RULE_KINDS
from vaekit.data.schema.rules import Rule
from vaekit.data.schema.table import Schema, TableSchema


def recorded_schema(config: DataConfig, where: object = "config.json") -> Schema | None:
    """The schema recorded in ``config`` (None before the data was first read)."""
    return schema_from_dict(config.schema, where) if config.schema else None


def schema_from_dict(raw: Any, where: object) -> Schema:
    """A recorded schema, checked field by field (a hand-edited config fails in one line)."""
    if not isinstance(raw, dict) or raw.get("kind") not in ("image", "table"):
        raise fail(where, "data.schema: expected a mapping with kind image or table")
    try:
        if raw["kind"] == "image":
            body = {k: v for k, v in raw.items() if k != "kind"}
            if body.get("condition") is not None:
                body["condition"] = Column(**body["condition"])
                _check_column(body["condition"])
            schema = ImageSchema(**body)
            if len(schema.shape) != 3 or not all(
                isinstance(s, int) and s > 0 for s in schema.shape
            ):
                raise ValueError(f"shape {schema.shape!r} is not three positive sizes")
            if not schema.divide_by > 0:
                raise ValueError(f"divide_by must be positive, got {schema.divide_by!r}")
            if schema.factors is not None and not (
                isinstance(schema.factors, dict)
                and all(isinstance(v, list) and v for v in schema.factors.values())
            ):
                raise ValueError("factors must map each factor's name to its values")
            if schema.near_binary is not None and not 0 <= schema.near_binary <= 1:
                raise ValueError(f"near_binary {schema.near_binary!r} is not a share in [0, 1]")
            if schema.levels is not None and not (
                isinstance(schema.levels, int) and schema.levels >= 2 and (schema.step or 0) > 0
            ):
                raise ValueError(
                    f"levels {schema.levels!r} / step {schema.step!r}: need levels >= 2, step > 0"
                )
            return schema
        columns = [Column(**c) for c in raw["columns"]]
        for c in columns:
            _check_column(c)
        if not columns:
            raise ValueError("no columns")
        rules = [Rule(**r) for r in raw.get("rules", [])]
        names = {c.name for c in columns}
        for rule in rules:
            if rule.kind not in RULE_KINDS or not set(rule.columns) <= names:
                raise ValueError(f"rule {rule.text!r}: bad kind or columns")
        return TableSchema(columns, rules)
    except (TypeError, KeyError, ValueError) as err:
        raise fail(where, f"data.schema is damaged ({err})") from None


def _check_column(c: Column) -> None:
    if not isinstance(c.name, str) or c.kind not in KINDS or c.role not in ROLES:
        raise ValueError(f"column {c.name!r}: bad name, kind or role")
    if c.kind == "datetime" and (not isinstance(c.format, str) or dates.check_format(c.format)):
        raise ValueError(f"column {c.name!r}: bad date format {c.format!r}")
    if c.kind == "id":
        KeyFilter.from_text(c.keys or "")
        if not isinstance(c.patterns, list) or not c.patterns:
            raise ValueError(f"column {c.name!r}: an id column needs its key patterns")
    if c.levels is not None and not _knots(c.levels):
        raise ValueError(f"column {c.name!r}: levels must be two or more increasing numbers")
    if c.missing not in MISSING_POLICIES:
        raise ValueError(f"column {c.name!r}: bad missing policy {c.missing!r}")
    if c.in_model and not c.computed and c.kind in ("continuous", "integer", "datetime"):
        # lo and hi are unknown (None) only for continuous columns of runs from before schemas.
        numbers = (c.mean, c.std) + (
            (c.lo, c.hi) if c.kind == "integer" or c.lo is not None else ()
        )
        if not all(_finite(v) for v in numbers) or c.std <= 0:
            raise ValueError(f"column {c.name!r}: mean, std, lo and hi must be finite numbers")
    if c.scaling not in SCALINGS:
        raise ValueError(f"column {c.name!r}: scaling {c.scaling!r} is not one of {SCALINGS}")
    if c.scaling == "quantile" and not _knots(c.quantiles):
        raise ValueError(f"column {c.name!r}: quantiles must be two or more increasing numbers")
    numeric_condition = c.role == "condition" and c.kind in ("continuous", "integer")
    if numeric_condition and (not all(_finite(v) for v in (c.mean, c.std)) or c.std <= 0):
        raise ValueError(f"condition column {c.name!r}: mean and std must be finite numbers")
    if (c.kind in ("binary", "categorical") or c.role == "label") and not (
        isinstance(c.categories, list) and c.categories
    ):
        raise ValueError(f"column {c.name!r}: categories missing")


def _knots(values: Any) -> bool:
    """Whether ``values`` are a quantile map's knots: two or more finite, non-decreasing."""
    if not isinstance(values, list) or len(values) < 2 or not all(_finite(v) for v in values):
        return False
    return bool(np.all(np.diff(values) >= 0))


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def upgrade_recorded_config(raw: dict[str, Any], where: object) -> dict[str, Any]:
    """A run's recorded config (the parsed ``config.json``) in the current format: one of
    format 1 has its ``data.transform`` turned into ``data.schema``; any other comes back as
    it is. Call it before :meth:`vaekit.config.run.RunConfig.from_dict`."""
    if not isinstance(raw, dict) or raw.get("format") != 1:
        return raw
    data = dict(raw.get("data") or {})
    transform = data.pop("transform", None)
    shape = (raw.get("model") or {}).get("input_shape") or []
    if transform:
        if not isinstance(transform, dict) or not isinstance(shape, list):
            raise fail(where, "data.transform: expected a mapping (an older run's scaling)")
        data["schema"] = legacy_schema(transform, shape, where).to_dict()
    return {**raw, "format": FORMAT_VERSION, "data": data}


def legacy_schema(transform: dict[str, Any], input_shape: list[int], where: object) -> Schema:
    """The schema of a run written before schemas were recorded (``data.transform``)."""
    kind = transform.get("kind")
    if len(input_shape) == 3 and kind in ("divide", "identity"):
        by = float(transform.get("by", 1.0)) if kind == "divide" else 1.0
        dtype = "uint8" if by > 1 else "float32"
        return ImageSchema(list(input_shape), dtype, 0.0, by if by > 1 else 1.0, by)
    if len(input_shape) == 1 and kind in ("standardize", "identity"):
        width = input_shape[0]
        mean = transform.get("mean", [0.0] * width)
        std = transform.get("std", [1.0] * width)
        pairs = enumerate(zip(mean, std, strict=True))
        return TableSchema(
            [Column(str(i), "continuous", mean=float(m), std=float(s)) for i, (m, s) in pairs]
        )
    raise fail(
        where,
        "this run was written by an older vaekit and its data scaling cannot be read; "
        "retrain it with `vaekit train` (same options)",
    )
