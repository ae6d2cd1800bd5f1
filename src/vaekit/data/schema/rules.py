"""Rules between a table's columns that every generated row obeys: declared by the user
(``--rule``) or found true on every training row, recorded in the schema.

Four kinds, written as a person would write them:

- ``start_date <= end_date`` (also ``<``, ``>=``, ``>``; the right side may be a number):
  a comparison;
- ``fixed: species, island``: only combinations of these columns seen in training;
- ``total = a + b - c``: a column computed from others (a date plus days, a difference of two
  dates in days); the model does not generate it, it is computed;
- ``missing: salary, start_date when placed = False`` (or ``... when other present``,
  ``... when other missing``, or ``missing: a, b together``): the columns are missing in the
  same rows, exactly those where the flag has that value (or the other column has one, or has
  none); with ``only when``, missing only in such rows (``missing: Debt only when Assets
  missing``), not in all of them.

Computed columns and missing-together groups hold by construction, when a row is decoded.
Comparisons and fixed combinations hold by resampling: a generated row that breaks one is
drawn again (:func:`broken`), and the share drawn again is reported.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from vaekit.core.errors import fail
from vaekit.data import dates
from vaekit.data.schema.columns import NUMBER_KINDS, Column, as_numbers
from vaekit.data.table import Table, format_number, missing_mask, spell

KINDS = ("compare", "fixed", "computed", "missing")
OPERATORS = {
    "<=": np.less_equal,
    ">=": np.greater_equal,
    "<": np.less,
    ">": np.greater,
}
COMPARE = re.compile(r"^(.+?)\s*(<=|>=|<|>)\s*(.+)$")
COMPUTED = re.compile(r"^([^=<>]+?)\s*=\s*([^=<>]+)$")
MISSING = re.compile(
    r"^missing\s*:\s*(.+?)(?:\s+(only\s+)?when\s+(.+?))?(?:\s+together)?$", re.IGNORECASE
)
FIXED = re.compile(r"^fixed\s*:\s*(.+)$", re.IGNORECASE)
TOLERANCE = 1e-9  # relative: a computed column equal to its formula up to float rounding
MIN_ROWS = 5  # a rule is only found true on at least this many training rows


@dataclass
class Rule:
    """One rule; ``columns`` are the columns it reads (a computed column's terms, a missing
    group's members). ``origin`` is "declared" or "detected"."""

    kind: str
    text: str
    columns: list[str]
    origin: str = "declared"
    op: str | None = None  # compare: the operator; its right side is columns[1] or ``number``
    number: float | None = None
    target: str | None = None  # computed: the column computed; ``signs`` of the terms
    signs: list[int] = field(default_factory=list)
    flag: str | None = None  # missing: the column that says when; missing where it is ``value``
    value: str | None = None  # (None: where the flag column has a value)
    absent: bool = False  # missing: where the flag column has no value
    only: bool = False  # missing: only where the condition holds (maybe not everywhere)
    share: float | None = None  # "only when": the share of those rows missing in training
    combinations: list[list[str]] = field(default_factory=list)  # fixed: those seen

    @property
    def by_construction(self) -> bool:
        """Whether decoding makes every row obey it (else generated rows are drawn again)."""
        return self.kind in ("computed", "missing")

    def to_dict(self) -> dict[str, Any]:
        """The rule for ``config.json``."""
        return asdict(self)

    def describe(self) -> str:
        """The rule in words, with how it was found and how it is kept."""
        how = "by construction" if self.by_construction else "by drawing again"
        return f"{self.text} ({self.origin}, kept {how})"


def parse_rule(text: str, columns: list[Column], where: str) -> Rule:
    """A rule as the user wrote it, its columns checked against the table's; one line naming
    the rule and what is wrong otherwise."""
    text = " ".join(str(text).split())
    by_name = {c.name: c for c in columns}

    def column(name: str) -> Column:
        name = name.strip().strip("`'\"")
        if name not in by_name:
            known = ", ".join(by_name)
            raise fail(where, f"rule {text!r}: {name!r} is not a column (columns: {known})")
        found = by_name[name]
        if found.kind in ("id", "ignored") or found.role == "ignored":
            raise fail(where, f"rule {text!r}: column {name!r} is {found.kind}, not generated")
        return found

    if match := FIXED.match(text):
        names = [column(n).name for n in match.group(1).split(",") if n.strip()]
        if len(names) < 2:
            raise fail(where, f"rule {text!r}: fixed combinations need two or more columns")
        return Rule("fixed", f"fixed: {', '.join(names)}", names)
    if match := MISSING.match(text):
        names = [column(n).name for n in match.group(1).split(",") if n.strip()]
        rule = Rule("missing", "", names, only=bool(match.group(2)))
        if match.group(3):
            _read_condition(rule, match.group(3), column, f"{where}: rule {text!r}")
        rule.text = _missing_text(rule)
        return rule
    if match := COMPARE.match(text):
        left = column(match.group(1))
        right_text = match.group(3).strip()
        number = _number(right_text)
        rule = Rule("compare", "", [left.name], op=match.group(2))
        if number is not None:
            _need_kind(left, ("continuous", "integer"), text, where, "with a number")
            rule.number = number
        else:
            right = column(right_text)
            _need_same_units(left, right, text, where)
            rule.columns.append(right.name)
        rule.text = (
            f"{left.name} {rule.op} {right_text if number is None else format_number(number)}"
        )
        return rule
    if match := COMPUTED.match(text):
        target = column(match.group(1))
        terms = re.findall(r"([+-]?)\s*([^+-]+)", match.group(2).strip())
        names = [column(name).name for _, name in terms]
        signs = [-1 if sign == "-" else 1 for sign, _ in terms]
        rule = Rule("computed", "", names, target=target.name, signs=signs)
        _check_units(rule, by_name, text, where)
        rule.text = _computed_text(rule)
        return rule
    raise fail(
        where,
        f"rule {text!r}: not a rule vaekit reads (e.g. 'start <= end', 'fixed: a, b', "
        "'total = a + b', 'missing: a, b when flag = no')",
    )


def _read_condition(
    rule: Rule, condition: str, column: Callable[[str], Column], where: str
) -> None:
    """A missing rule's "when ...": ``COLUMN = VALUE``, ``COLUMN present`` or ``COLUMN
    missing``."""
    flag, sep, value = condition.partition("=")
    if sep:
        rule.flag, rule.value = column(flag).name, value.strip().strip("'\"")
    elif condition.lower().endswith((" present", " missing")):
        rule.flag = column(condition[: -len(" present")]).name
        rule.absent = condition.lower().endswith(" missing")
    else:
        raise fail(
            where,
            "expected 'when COLUMN = VALUE', 'when COLUMN present' or 'when COLUMN missing'",
        )


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _need_kind(column: Column, kinds: tuple[str, ...], text: str, where: str, what: str) -> None:
    if column.kind not in kinds:
        raise fail(
            where, f"rule {text!r}: {column.name!r} is {column.kind}; it cannot be compared {what}"
        )


def _need_same_units(left: Column, right: Column, text: str, where: str) -> None:
    """Both sides numbers, or both dates; one line naming the two otherwise."""
    if (
        left.kind not in NUMBER_KINDS
        or right.kind not in NUMBER_KINDS
        or ((left.kind == "datetime") != (right.kind == "datetime"))
    ):
        raise fail(
            where,
            f"rule {text!r}: compares {left.name!r} ({left.kind}) with {right.name!r} "
            f"({right.kind}); both sides must be numbers, or both dates",
        )


def _check_units(rule: Rule, by_name: dict[str, Column], text: str, where: str) -> None:
    """A computed rule adds numbers to numbers, days to a date, or takes two dates apart."""
    target = by_name[rule.target or ""]
    kinds = [by_name[n].kind for n in rule.columns]
    if any(k not in NUMBER_KINDS for k in kinds + [target.kind]):
        bad = next(n for n in [*rule.columns, target.name] if by_name[n].kind not in NUMBER_KINDS)
        raise fail(
            where, f"rule {text!r}: {bad!r} is {by_name[bad].kind}; a sum takes numbers or dates"
        )
    if not _gives_its_units(rule, by_name):
        raise fail(
            where,
            f"rule {text!r}: does not give a {'date' if target.kind == 'datetime' else 'number'} "
            "(a date is a date plus or minus numbers of days; days are a date minus a date)",
        )
    if target.name in rule.columns:
        raise fail(where, f"rule {text!r}: {target.name!r} is computed from itself")


def _gives_its_units(rule: Rule, by_name: dict[str, Column]) -> bool:
    """Whether a computed rule's terms give its column's units: a date is a date plus or minus
    days; a number of days is a date minus a date (at most two dates in all)."""
    kinds = [by_name[n].kind for n in rule.columns]
    dated = [s for s, k in zip(rule.signs, kinds, strict=True) if k == "datetime"]
    return sum(dated) == (by_name[rule.target or ""].kind == "datetime") and len(dated) <= 2


def _missing_text(rule: Rule) -> str:
    names = ", ".join(rule.columns)
    if rule.flag is None:
        return f"missing: {names} together"
    when = "only when" if rule.only else "when"
    if rule.value is None:
        return f"missing: {names} {when} {rule.flag} {'missing' if rule.absent else 'present'}"
    return f"missing: {names} {when} {rule.flag} = {rule.value}"


def _computed_text(rule: Rule) -> str:
    terms = " ".join(
        f"{'-' if s < 0 else '+'} {n}" for s, n in zip(rule.signs, rule.columns, strict=True)
    )
    return f"{rule.target} = {terms.removeprefix('+ ')}"


# -- checking rows ---------------------------------------------------------------------------


def broken(rule: Rule, table: Table, columns: list[Column]) -> np.ndarray:
    """True for each row of ``table`` (in the data's units) that breaks ``rule``."""
    numbers = as_numbers(table, columns)
    if rule.kind == "compare":
        left = numbers.column(rule.columns[0])
        right = numbers.column(rule.columns[1]) if len(rule.columns) > 1 else rule.number
        both = ~np.isnan(left) & ~np.isnan(right)
        with np.errstate(invalid="ignore"):
            return both & ~OPERATORS[rule.op or "<="](left, right)
    if rule.kind == "fixed":
        seen = {tuple(c) for c in rule.combinations}
        rows = zip(*(spell(table.column(n), "") for n in rule.columns), strict=True)
        return np.array([tuple(r) not in seen for r in rows], dtype=bool)
    if rule.kind == "computed":
        target = numbers.column(rule.target or "")
        total = _formula(rule, numbers)
        off = ~np.isclose(target, total, rtol=TOLERANCE, atol=TOLERANCE)
        return np.where(
            np.isnan(total) | np.isnan(target), np.isnan(total) != np.isnan(target), off
        )
    should = missing_where(rule, table)
    gone = [missing_mask(table.column(n)) for n in rule.columns]
    if rule.only:  # missing where the condition does not hold
        return np.any([g & ~should for g in gone], axis=0)
    return np.any([g != should for g in gone], axis=0)


def _formula(rule: Rule, numbers: Table) -> np.ndarray:
    parts = [s * numbers.column(n) for s, n in zip(rule.signs, rule.columns, strict=True)]
    return np.sum(parts, axis=0)


def computed_values(rule: Rule, column: Column, table: Table, columns: list[Column]) -> np.ndarray:
    """A computed column's values from its rule's terms, in the column's units (a date as
    text in its format; a number at its precision)."""
    total = _formula(rule, as_numbers(table, [c for c in columns if c.name in rule.columns]))
    if column.kind == "datetime":
        return np.array(dates.write(total, column.format or ""), dtype=object)
    if column.kind == "integer":
        return np.round(total)
    return total if column.decimals is None else np.round(total, column.decimals)


def missing_where(rule: Rule, table: Table) -> np.ndarray:
    """The rows where a missing rule's columns should be missing."""
    if rule.flag is None:
        return missing_mask(table.column(rule.columns[0]))
    values = table.column(rule.flag)
    if rule.value is None:
        return missing_mask(values) if rule.absent else ~missing_mask(values)
    return np.array([v == rule.value for v in spell(values)], dtype=bool)


def missing_share(rule: Rule, table: Table) -> float:
    """The share of the rows an "only when" rule allows to be missing that are missing."""
    allowed = missing_where(rule, table)
    gone = missing_mask(table.column(rule.columns[0]))
    return float(gone[allowed].mean()) if allowed.any() else 0.0


def missing_draw(rule: Rule, table: Table, seed_bytes: bytes) -> np.ndarray:
    """Where an "only when" rule's columns are missing in decoded rows: in the rows it allows,
    at the share training had there (a seeded draw: the same rows, the same cells). The
    decoder's own indicator cannot carry that share: it learns the column's overall rate,
    which is far smaller, and almost never fires inside the few rows allowed."""
    allowed = missing_where(rule, table)
    seed = int.from_bytes(hashlib.sha256(seed_bytes + rule.text.encode()).digest()[:8], "big")
    return allowed & (np.random.default_rng(seed).random(len(allowed)) < (rule.share or 0.0))


def in_order(rules: list[Rule]) -> list[Rule]:
    """``rules`` with each computed column after the computed columns it is made from; a
    computed column that is, through others, a term of itself is refused in one line."""
    computed = [r for r in rules if r.kind == "computed"]
    ordered: list[Rule] = []
    while computed:
        targets = {r.target for r in computed}
        ready = [r for r in computed if not set(r.columns) & targets]
        if not ready:
            raise fail(
                "--rule",
                f"rules {', '.join(repr(r.text) for r in computed)} compute their columns from "
                "each other in a circle; keep one of them",
            )
        ordered += ready
        computed = [r for r in computed if r not in ready]
    return (
        _missing_in_order(rules)
        + [r for r in rules if r.kind not in ("computed", "missing")]
        + ordered
    )


def _missing_in_order(rules: list[Rule]) -> list[Rule]:
    """The missing rules, each after the rules that settle its flag column (where they do not
    settle each other's: then as given, which decoding one by one keeps consistent)."""
    pending = [r for r in rules if r.kind == "missing"]
    ordered: list[Rule] = []
    while pending:
        settled = {n for r in pending for n in r.columns}
        ready = [r for r in pending if r.flag not in settled or r.flag in r.columns]
        ready = ready or pending[:1]
        ordered += ready
        pending = [r for r in pending if r not in ready]
    return ordered


def check_on_training(rule: Rule, table: Table, columns: list[Column]) -> int:
    """How many training rows break a declared ``rule``; refused in one line when none obeys
    it (or, for a fixed combination, fills in the combinations seen)."""
    if rule.kind == "fixed":
        cells = zip(*(spell(table.column(n), "") for n in rule.columns), strict=True)
        rule.combinations = [list(c) for c in sorted(set(cells))]
        return 0
    if rule.only:
        rule.share = missing_share(rule, table)
    bad = broken(rule, table, columns)
    applies = np.ones(len(table), dtype=bool)
    if rule.kind == "compare":  # a row with a side missing neither obeys nor breaks it
        applies = np.all([~missing_mask(table.column(n)) for n in rule.columns], axis=0)
    if bad[applies].all():
        raise fail(table.where, f"rule {rule.text!r}: no training row obeys it")
    return int(bad.sum())


# -- finding rules ---------------------------------------------------------------------------


def detect_rules(table: Table, columns: list[Column]) -> list[Rule]:
    """Rules true on every training row: missing-together groups (with the flag that says
    when, if one does) and columns that are the sum or difference of two others."""
    return _missing_groups(table, columns) + _sums(table, columns)


def _missing_groups(table: Table, columns: list[Column]) -> list[Rule]:
    groups: dict[bytes, list[str]] = {}
    masks: dict[bytes, np.ndarray] = {}
    for c in columns:
        if c.in_model and c.missing == "indicator":
            mask = missing_mask(table.column(c.name))
            groups.setdefault(mask.tobytes(), []).append(c.name)
            masks[mask.tobytes()] = mask
    rules = []
    for key, names in groups.items():
        mask = masks[key]
        if mask.sum() < MIN_ROWS or (~mask).sum() < MIN_ROWS:
            continue
        rule = Rule("missing", "", names, origin="detected")
        rule.flag, rule.value = _flag_for(mask, table, columns, names)
        mirrored = any(  # "a missing when b present" already says "b missing when a present"
            r.flag in names and rule.flag in r.columns and r.value is None for r in rules
        )
        if (len(names) > 1 or rule.flag is not None) and not mirrored:
            rule.text = _missing_text(rule)
            rules.append(rule)
    return rules + _nested(groups, masks)


def _key_of(groups: dict[bytes, list[str]], name: str | None) -> bytes:
    return next(k for k, names in groups.items() if name in names)


def _nested(groups: dict[bytes, list[str]], masks: dict[bytes, np.ndarray]) -> list[Rule]:
    """Columns missing only in rows where another is missing too (never the other way round,
    and at least ``MIN_ROWS`` rows each way): "missing: Debt only when Assets missing"."""
    rules = []
    for key, names in groups.items():
        inner = masks[key]
        if inner.sum() < MIN_ROWS:
            continue
        outers = [
            (int(masks[k].sum()), groups[k][0])
            for k in groups
            if k != key and not (inner & ~masks[k]).any() and (masks[k] & ~inner).sum() >= MIN_ROWS
        ]
        if outers:  # the tightest: the fewest rows missing
            rule = Rule("missing", "", names, "detected", flag=min(outers)[1], absent=True)
            rule.only = True
            rule.share = float(inner.sum() / masks[_key_of(groups, rule.flag)].sum())
            rule.text = _missing_text(rule)
            rules.append(rule)
    return rules


def _flag_for(
    mask: np.ndarray, table: Table, columns: list[Column], group: list[str]
) -> tuple[str | None, str | None]:
    """A column that says exactly where ``mask`` is true: one of its values, or its having one."""
    for c in columns:
        if not c.in_model or c.name in group or c.kind in ("id", "constant"):
            continue
        values = table.column(c.name)
        if c.kind in ("binary", "categorical"):
            spelled = np.array(spell(values, "\0"), dtype=object)
            inside = set(spelled[mask].tolist())
            if len(inside) == 1 and "\0" not in inside:
                value = inside.pop()
                if not (spelled[~mask] == value).any():
                    return c.name, value
        if np.array_equal(~missing_mask(values), mask):
            return c.name, None
    return None, None


def _sums(table: Table, columns: list[Column]) -> list[Rule]:
    """Columns equal to a + b, a - b or b - a of two others on every training row (their
    missing values in the same rows). Where several formulas hold among the same columns, the
    one a person would write is kept: a total of its parts, a number of days between two dates,
    then a date some days after another; no column is both computed and a term."""
    candidates = [c for c in columns if c.in_model and c.kind in NUMBER_KINDS]
    numbers = as_numbers(table, candidates)
    by_name = {c.name: c for c in candidates}
    values = {c.name: numbers.column(c.name) for c in candidates}
    found = []
    for target in candidates:
        for i, a in enumerate(candidates):
            for b in candidates[i + 1 :]:
                if target.name in (a.name, b.name):
                    continue
                for signs in ((1, 1), (1, -1), (-1, 1)):
                    rule = Rule("computed", "", [a.name, b.name], "detected")
                    rule.target, rule.signs = target.name, list(signs)
                    if _holds(rule, values[target.name], values, by_name):
                        found.append(rule)
    # A total before a difference; a number of days before a date.
    found.sort(key=lambda r: (by_name[r.target or ""].kind == "datetime", -1 in r.signs))
    rules: list[Rule] = []
    used: set[str] = set()
    for rule in found:
        if {rule.target, *rule.columns} & used:
            continue
        pairs = sorted(zip(rule.signs, rule.columns, strict=True), key=lambda p: -p[0])
        rule.signs, rule.columns = [p[0] for p in pairs], [p[1] for p in pairs]  # end - start
        rule.text = _computed_text(rule)
        rules.append(rule)
        used |= {rule.target or "", *rule.columns}
    return rules


def _holds(rule: Rule, t: np.ndarray, values: dict[str, np.ndarray], by_name: dict) -> bool:
    if not _gives_its_units(rule, by_name):
        return False
    total = sum(s * values[n] for s, n in zip(rule.signs, rule.columns, strict=True))
    present = ~np.isnan(total)
    if not np.array_equal(present, ~np.isnan(t)) or present.sum() < MIN_ROWS:
        return False
    if any(np.array_equal(values[n][present], t[present]) for n in rule.columns):
        return False  # the other term is zero wherever present: not a formula worth keeping
    return bool(np.allclose(t[present], total[present], rtol=TOLERANCE, atol=TOLERANCE))
