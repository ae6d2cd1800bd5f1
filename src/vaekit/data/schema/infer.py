"""Inferring a table's schema from its training data: each column's kind (continuous, integer,
datetime, binary, categorical, id, constant, or ignored), then the user's column spec, label and
conditions applied.

Dates are text every value of which reads in one format (:mod:`vaekit.data.dates`). An id is a
column whose every value is present and different: text, or whole numbers named like a key
(``id``, ``student_id``, ``CustomerID``, ``key``) or a row number (``index``, ``Unnamed: 0``). Other
text with more distinct values than half its rows is ignored (free text, names).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from vaekit.core.errors import VaekitError, fail
from vaekit.core.progress import log
from vaekit.data import dates
from vaekit.data.scaling import fit_quantiles
from vaekit.data.schema.columns import KINDS, MISSING_POLICIES, ROLES, Column, as_days, not_a_number
from vaekit.data.schema.keys import KeyFilter, duplicated, key_patterns
from vaekit.data.schema.rules import Rule, check_on_training, detect_rules, in_order, parse_rule
from vaekit.data.schema.table import TableSchema
from vaekit.data.table import Table, format_number, is_numeric, missing_mask, spell

LABEL_LIKE_NAMES = frozenset({"label", "labels", "class", "target", "y"})
# A text column with more distinct values than this share of its rows names things (an id).
IDENTIFIER_SHARE = 0.5
# Whole-number columns named like a key ("id", "student_id", "CustomerID", "order-key") or a row
# number ("index", "Unnamed: 0", as pandas writes an index).
KEY_NAME = re.compile(
    r"(?i:(^|[_\s-])(id|key|uuid)$|^(id|key)[_\s-]|^(index|rownames|unnamed: ?\d+)$)"
    r"|[a-z](ID|Id|Key)$"
)
DECIMALS = 10  # beyond this many decimals a number column is written as computed
LEVELS = 20  # a whole-number column with at most this many values, gaps between: only those


def infer_table_schema(
    table: Table,
    spec: dict[str, Any] | None = None,
    label: str | None = None,
    condition: list[str] | None = None,
    scaling: str = "quantile",
    rules: list[str] | None = None,
) -> TableSchema:
    """Infer every column's kind from the training table, then apply the user's ``spec``
    (``{name: "kind" | "role" | {kind, role, missing, format}}``), ``label`` (a column name)
    and ``condition`` (the columns the model is conditioned on). Number features map by
    ``scaling`` (one of :data:`SCALINGS`); conditions are standardised. ``rules`` are the
    user's (:mod:`vaekit.data.schema.rules`), checked on the training rows; rules true on
    every training row are added."""
    spec = dict(spec or {})
    for name, role in [(label, "label")] + [(name, "condition") for name in condition or []]:
        if name is None:
            continue
        if name not in table.names:
            raise fail(table.where, f"no column named {name!r} (columns: {', '.join(table.names)})")
        entry = _spec_entry(spec.get(name), name)
        if entry.get("role", role) != role:
            raise fail(
                table.where,
                f"column {name!r} cannot be both a {entry['role']} and a {role}; a condition "
                "is given to the model, a label only names each row's class",
            )
        spec[name] = {**entry, "role": role}
    unknown = [name for name in spec if name not in table.names]
    if unknown:
        raise fail(
            table.where,
            f"the column spec names {unknown[0]!r}, which is not a column "
            f"(columns: {', '.join(table.names)})",
        )
    columns = []
    for name, values in zip(table.names, table.columns, strict=True):
        wanted = _spec_entry(spec.get(name), name)
        columns.append(_infer_column(table, name, values, wanted, scaling))
    schema = TableSchema(columns, _rules(table, columns, rules or []))
    if schema.width == 0:
        raise fail(
            table.where,
            "has no column left to model (every column is a label, ignored or constant)",
        )
    _hint_label_columns(schema, table, label)
    return schema


def _rules(table: Table, columns: list[Column], texts: list[str]) -> list[Rule]:
    """The user's rules, checked on the training rows, and the rules found true on every row
    that say something new; a computed column is then not generated but computed."""
    declared = [parse_rule(text, columns, f"{table.where}: --rule") for text in texts]
    for rule in declared:
        bad = check_on_training(rule, table, columns)
        if bad:
            log(
                f"note: rule {rule.text!r} is broken by {bad} of {len(table)} training rows; "
                "every generated row will obey it"
            )
    taken = {r.target for r in declared if r.kind == "computed"}
    grouped = {n for r in declared if r.kind == "missing" for n in r.columns}
    rules = in_order(declared)
    for rule in detect_rules(table, columns):
        if rule.kind == "missing" and set(rule.columns) & grouped or rule.target in taken:
            continue
        try:  # a found formula that would close a circle with the user's is left out
            rules = in_order([*rules, rule])
        except VaekitError:
            continue
    by_name = {c.name: c for c in columns}
    for rule in rules:
        if rule.kind == "computed":
            by_name[rule.target or ""].computed = True
            by_name[rule.target or ""].missing = "none"
    return rules


def _spec_entry(entry: Any, name: str) -> dict[str, Any]:
    """A column's spec as a mapping; a word (kind or role) is shorthand."""
    where = f"column spec for {name!r}"
    if entry is None:
        return {}
    if isinstance(entry, str):
        out: dict[str, Any] = {}
        entry, _, fmt = entry.partition("datetime:")
        if fmt or _:
            out.update(kind="datetime", format=fmt or None)
        entry = {word: True for word in entry.split(",") if word}
        for word in entry:
            if word in ROLES and word != "ignored":
                out["role"] = word
            elif word in KINDS:
                out["kind"] = word
            elif word.startswith("missing=") and word[8:] in MISSING_POLICIES:
                out["missing"] = word[8:]
            else:
                raise VaekitError(
                    f"{where}: {word!r} is not a kind ({', '.join(KINDS)}), a role "
                    f"(feature, label, condition), missing=none|indicator or datetime:FORMAT"
                )
        return _checked_format(out, where)
    if not isinstance(entry, dict):
        raise VaekitError(f"{where}: expected a word or a mapping of kind/role/missing")
    allowed = {"kind": KINDS, "role": ROLES, "missing": MISSING_POLICIES}
    for key, value in entry.items():
        if key == "format":
            continue
        if key not in allowed:
            raise VaekitError(f"{where}: unknown key {key!r} (known: kind, role, missing, format)")
        if value not in allowed[key]:
            raise VaekitError(f"{where}: {key} {value!r} is not one of {', '.join(allowed[key])}")
    return _checked_format(dict(entry), where)


def _checked_format(entry: dict[str, Any], where: str) -> dict[str, Any]:
    """A spec's date format, refused in one line when vaekit cannot write it."""
    fmt = entry.get("format")
    if fmt is not None and (entry.get("kind") != "datetime" or not isinstance(fmt, str)):
        raise VaekitError(f"{where}: a format is for kind datetime (datetime:%Y-%m-%d)")
    why = dates.check_format(fmt) if fmt else None
    if why:
        raise VaekitError(f"{where}: date format {fmt!r}: {why}")
    return entry


def _infer_column(
    table: Table, name: str, values: np.ndarray, wanted: dict[str, Any], scaling: str
) -> Column:
    """One column's kind and map, from its values and the user's ``wanted`` kind, role and
    missing-value policy."""
    missing = missing_mask(values)
    numeric = is_numeric(values)
    present = values[~missing]
    role = wanted.get("role", "feature")
    policy = wanted.get("missing", "indicator" if missing.any() else "none")
    if policy == "none" and missing.any() and role == "feature":
        row = int(np.argmax(missing))
        raise fail(
            table.where,
            f"{table.line(row)}, column {name!r}: missing value, and the column spec says "
            "missing=none (leave the policy to vaekit: missing=indicator)",
        )
    if wanted.get("kind") == "ignored" or role == "ignored":
        return Column(name, "ignored", role="ignored", numeric=numeric, note="as asked")
    if role == "condition":
        return _condition_column(table, name, values, wanted)
    categories = _categories(present, numeric)
    if role == "label":
        if missing.any():
            row = int(np.argmax(missing))
            raise fail(table.where, f"{table.line(row)}, label column {name!r}: missing value")
        if numeric and not np.array_equal(present, np.round(present)):
            raise fail(table.where, f"label column {name!r} holds fractions; labels are classes")
        return Column(name, "categorical", role="label", numeric=numeric, categories=categories)
    if not len(present):
        return Column(name, "ignored", role="ignored", numeric=numeric, note="every value missing")
    return _feature_column(table, name, values, wanted, policy, scaling)


def _feature_column(
    table: Table, name: str, values: np.ndarray, wanted: dict[str, Any], policy: str, scaling: str
) -> Column:
    """A feature's kind (the user's, else guessed) and its map; ``policy`` for missing values."""
    numeric = is_numeric(values)
    present = values[~missing_mask(values)]
    categories = _categories(present, numeric)
    fmt = wanted.get("format")
    kind = wanted.get("kind") or _guess_kind(name, values, numeric, categories)
    if kind == "datetime" and not numeric and fmt is None:
        fmt = dates.detect_format(categories)
    if kind == "ignored" and wanted.get("role") == "feature":
        kind = "categorical"  # asked to model it: every distinct text a category
    column = Column(name, kind, missing=policy, numeric=numeric)
    if kind == "ignored":
        column.role = "ignored"
        column.note = f"{len(categories)} distinct texts in {len(values)} rows: free text?"
    elif kind == "datetime":
        _fit_datetime(column, table, fmt, scaling)
    elif kind == "id":
        _fit_keys(column, table, values)
    elif kind in ("continuous", "integer") and not numeric:
        raise not_a_number(table, name, values, f"the spec makes the column {kind}")
    elif kind == "integer" and not np.array_equal(present, np.round(present)):
        fraction = present[present != np.round(present)][0]
        raise fail(
            table.where,
            f"column {name!r} holds fractions (e.g. {format_number(fraction)}), so it cannot be "
            "integer; leave it continuous",
        )
    elif kind == "constant":
        column.value = categories[0] if len(categories) == 1 else None
        if column.value is None:
            raise fail(
                table.where, f"column {name!r} has {len(categories)} values, so it is not constant"
            )
    elif kind in ("continuous", "integer"):
        _fit_number(column, present, table, scaling)
        _fit_precision(column, present)
    else:
        _fit(column, present, categories, table)
    return column


def _fit_number(column: Column, present: np.ndarray, table: Table, scaling: str) -> None:
    """A number (or date) feature's map: its moments, and its quantile knots when the run
    maps numbers by their quantiles."""
    _set_moments(column, present, table)
    if scaling == "quantile":
        column.scaling, column.quantiles = "quantile", fit_quantiles(present)


def _fit_precision(column: Column, present: np.ndarray) -> None:
    """How a number feature is written back: a continuous one at its training decimals, a
    whole-number one with a few values and gaps between them as one of those values."""
    if column.kind == "continuous":
        column.decimals = _decimals(present)
        return
    seen = np.unique(present)
    if len(seen) <= LEVELS and len(seen) < seen[-1] - seen[0] + 1:
        column.levels = [float(v) for v in seen]


def _fit_datetime(column: Column, table: Table, fmt: str | None, scaling: str) -> None:
    """A date column's format and map: its values as days, scaled like a number column's."""
    if column.numeric:
        raise fail(
            table.where,
            f"column {column.name!r} holds numbers, not dates written as text; give it as text "
            "(e.g. 2020-07-23) or leave its kind to vaekit",
        )
    if fmt is None:
        first = next(v for v in table.column(column.name) if v is not None)
        raise fail(
            table.where,
            f"column {column.name!r}: {str(first)[:30]!r} is not in a date format vaekit knows; "
            f"give one, e.g. --column '{column.name}=datetime:%d/%m/%Y'",
        )
    column.format = fmt
    if column.name in table.datetimes:  # held as dates in a DataFrame: given back as dates
        column.dtype = "datetime64[ns]"
    days = as_days(column, table)
    _fit_number(column, days[~np.isnan(days)], table, scaling)


def _fit_keys(column: Column, table: Table, values: np.ndarray) -> None:
    """An id column: every value present and unique; its keys' shape and a filter of them."""
    keys = spell(values)
    if None in keys:
        row = keys.index(None)
        raise fail(table.where, f"{table.line(row)}, id column {column.name!r}: missing value")
    twice = duplicated(keys)
    if twice is not None:
        raise fail(
            table.where,
            f"{table.line(twice)}, id column {column.name!r}: {keys[twice][:30]!r} appears twice "
            "(an id is unique per row; give the column another kind)",
        )
    if column.numeric and not np.array_equal(values, np.round(values)):
        raise fail(table.where, f"id column {column.name!r} holds fractions; ids are whole")
    column.missing = "none"
    column.patterns = key_patterns(keys)  # every key present: refused above otherwise
    column.keys = KeyFilter.of(keys).to_text()


def _decimals(present: np.ndarray) -> int | None:
    """The fewest decimals that write every value exactly (None: more than ``DECIMALS``)."""
    scale = np.maximum(1.0, np.abs(present))
    for places in range(DECIMALS + 1):
        if np.all(np.abs(np.round(present, places) - present) <= 1e-9 * scale):
            return places
    return None


def _condition_column(table: Table, name: str, values: np.ndarray, wanted: dict) -> Column:
    """A column the model is conditioned on: every value present, and more than one of them
    (a constant condition tells the model nothing)."""
    missing = missing_mask(values)
    if missing.any():
        row = int(np.argmax(missing))
        raise fail(
            table.where,
            f"{table.line(row)}, condition column {name!r}: missing value (a condition needs a "
            "value in every row)",
        )
    numeric = is_numeric(values)
    categories = _categories(values, numeric)
    if len(categories) < 2:
        raise fail(table.where, f"condition column {name!r} has one value: nothing to condition on")
    kind = wanted.get("kind") or _guess_kind(name, values, numeric, categories)
    if kind in ("ignored", "constant", "id", "datetime"):
        kind = "categorical"  # a text with many values: still one category per value
    if kind in ("continuous", "integer") and not numeric:
        raise fail(table.where, f"condition column {name!r} holds text, so it cannot be {kind}")
    column = Column(name, kind, role="condition", numeric=numeric)
    _fit(column, values, categories, table)
    return column


def _fit(column: Column, present: np.ndarray, categories: list[str], table: Table) -> None:
    """Fill in a column's map from its present values: a number column's moments, a binary
    column's two values (the "true" one second), a categorical column's categories."""
    if column.kind in ("continuous", "integer"):
        _set_moments(column, present, table)
    elif column.kind == "binary" and len(categories) > 2:
        raise fail(
            table.where,
            f"column {column.name!r} has {len(categories)} values, so it cannot be binary",
        )
    else:
        column.categories = _binary_order(categories) if column.kind == "binary" else categories


def _set_moments(column: Column, present: np.ndarray, table: Table) -> None:
    """The mean, std, lo and hi a number column is standardised and clipped by; refused in one
    line when they overflow float64 (values near 1e154 and beyond)."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = float(present.mean()), float(present.std())
    if not (np.isfinite(mean) and np.isfinite(std)):
        raise fail(
            table.where,
            f"column {column.name!r}: values up to {format_number(float(np.abs(present).max()))} "
            "are too large to standardise; rescale the column",
        )
    column.mean, column.std = mean, std if std > 0 else 1.0
    column.lo, column.hi = float(present.min()), float(present.max())


def _categories(present: np.ndarray, numeric: bool) -> list[str]:
    if numeric:
        return [format_number(v) for v in np.unique(present)]  # numeric order
    return sorted(set(present.tolist()))


def _guess_kind(name: str, values: np.ndarray, numeric: bool, categories: list[str]) -> str:
    present = values[~missing_mask(values)]
    if len(categories) == 1:
        return "constant"
    unique = len(categories) == len(values) and len(values) > 2
    if numeric:
        whole = np.array_equal(present, np.round(present))
        if unique and whole and KEY_NAME.search(name.strip()):
            return "id"
    if len(categories) == 2:
        return "binary"
    if numeric:
        return "integer" if whole else "continuous"
    if dates.detect_format(categories):
        return "datetime"
    if unique:
        return "id"
    if len(categories) > max(20, IDENTIFIER_SHARE * len(present)):
        return "ignored"
    return "categorical"


def _binary_order(categories: list[str]) -> list[str]:
    """The two values with the "true" one second: 0/1, no/yes, false/true keep that order."""
    falsy = {"0", "no", "false", "n", "f"}
    if len(categories) == 2 and categories[1].lower() in falsy:
        return [categories[1], categories[0]]
    return categories


def _hint_label_columns(schema: TableSchema, table: Table, label: str | None) -> None:
    if label is not None or schema.label is not None:
        return
    for column in schema.columns:
        named = column.name.strip().lower() in LABEL_LIKE_NAMES
        few = column.kind == "integer" and column.hi - column.lo < 10 and len(table) >= 50
        if column.in_model and (named or few):
            log(
                f"hint: column {column.name!r} looks like a class label; it is modelled as a "
                f"feature. If it is a label, pass --labels {column.name}"
            )
            return
