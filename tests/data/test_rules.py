"""Rules between a table's columns: read as a person writes them, refused in one line when they
cannot hold, found when true on every training row (and not otherwise), kept by construction
when rows are decoded, and recorded in the schema."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from vaekit.core.errors import VaekitError
from vaekit.data.schema.infer import infer_table_schema
from vaekit.data.schema.legacy import schema_from_dict
from vaekit.data.schema.rules import broken, detect_rules, parse_rule
from vaekit.data.table import Table, missing_mask

WHERE = "people.csv: --rule"


def _text(values) -> np.ndarray:
    return np.array([None if v is None else str(v) for v in values], dtype=object)


def _dates(days: pd.DatetimeIndex) -> np.ndarray:
    return _text(days.strftime("%Y-%m-%d"))


def _people(n: int = 120, seed: int = 0) -> Table:
    """Numbers a <= b, a total of two amounts, a stay between two dates, a salary missing
    exactly where the person was not placed, two optional fields missing together."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 10, n).astype(float)
    b = a + rng.integers(0, 5, n)
    placed = rng.choice(["yes", "no"], n, p=[0.7, 0.3])
    salary = np.where(placed == "no", np.nan, np.round(rng.lognormal(10, 0.3, n), 2))
    bonus = np.where(placed == "no", np.nan, np.round(rng.lognormal(7, 0.5, n), 2))
    pay = np.round(salary + bonus, 2)
    start = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    stay = rng.integers(1, 90, n)
    end = start + pd.to_timedelta(stay, unit="D")
    optional = rng.random(n) < 0.25
    phone = np.where(optional, np.nan, rng.integers(100, 999, n).astype(float))
    domains = rng.choice(["mail.com", "work.org", "school.edu"], n)
    email = _text([None if o else d for d, o in zip(domains, optional, strict=True)])
    colour = rng.choice(["red", "green", "blue"], n)
    return Table(
        [
            "pay",
            "salary",
            "bonus",
            "a",
            "b",
            "placed",
            "start",
            "end",
            "stay",
            "phone",
            "email",
            "colour",
            "x",
        ],
        [
            pay,
            salary,
            bonus,
            a,
            b,
            _text(placed),
            _dates(start),
            _dates(end),
            stay.astype(float),
            phone,
            email,
            _text(colour),
            rng.normal(size=n),
        ],
        "people.csv",
        2,
    )


@pytest.fixture(scope="module")
def people() -> Table:
    return _people()


@pytest.fixture(scope="module")
def columns(people):
    return infer_table_schema(people).columns


def _meaning(rule) -> tuple:
    """What a computed rule says, whatever the order its terms are written in."""
    return rule.target, dict(zip(rule.columns, rule.signs, strict=True))


# -- reading rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "fields"),
    [
        ("a <= b", "compare", {"columns": ["a", "b"], "op": "<=", "number": None}),
        ("a > 3", "compare", {"columns": ["a"], "op": ">", "number": 3.0, "text": "a > 3"}),
        ("x >= -1.5", "compare", {"columns": ["x"], "op": ">=", "number": -1.5}),
        ("start < end", "compare", {"columns": ["start", "end"], "op": "<"}),
        ("  `a`   <  'b' ", "compare", {"columns": ["a", "b"], "op": "<"}),
        ("fixed: a, colour", "fixed", {"columns": ["a", "colour"], "text": "fixed: a, colour"}),
        ("FIXED:placed,colour,a", "fixed", {"columns": ["placed", "colour", "a"]}),
        (
            "pay = salary + bonus - a",
            "computed",
            {"target": "pay", "columns": ["salary", "bonus", "a"], "signs": [1, 1, -1]},
        ),
        (
            "stay = end - start",
            "computed",
            {"target": "stay", "columns": ["end", "start"], "signs": [1, -1]},
        ),
        (
            "end = start + stay",
            "computed",
            {"target": "end", "columns": ["start", "stay"], "signs": [1, 1]},
        ),
        (
            "missing: salary, bonus when placed = no",
            "missing",
            {"columns": ["salary", "bonus"], "flag": "placed", "value": "no"},
        ),
        (
            "missing: salary when phone present",
            "missing",
            {"columns": ["salary"], "flag": "phone", "value": None},
        ),
        (
            "missing: phone, email together",
            "missing",
            {"columns": ["phone", "email"], "flag": None, "value": None},
        ),
        (
            "missing: salary when placed = 'no'",
            "missing",
            {"flag": "placed", "value": "no", "text": "missing: salary when placed = no"},
        ),
    ],
)
def test_each_syntax_is_read(columns, text, kind, fields):
    rule = parse_rule(text, columns, WHERE)
    assert rule.kind == kind and rule.origin == "declared"
    for name, value in fields.items():
        assert getattr(rule, name) == value, name
    again = parse_rule(rule.text, columns, WHERE)  # the rule's own text reads the same
    assert (again.kind, again.columns, again.op, again.number, again.target) == (
        rule.kind,
        rule.columns,
        rule.op,
        rule.number,
        rule.target,
    )
    assert again.signs == rule.signs and (again.flag, again.value) == (rule.flag, rule.value)
    assert rule.by_construction == (kind in ("computed", "missing"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("age <= b", r"rule 'age <= b': 'age' is not a column \(columns: pay, salary, bonus, a, "),
        ("fixed: a, shoe", r"'shoe' is not a column \(columns: pay, salary"),
        ("missing: a when nobody = 1", r"'nobody' is not a column"),
        ("start < colour", r"compares 'start' \(datetime\) with 'colour' \(categorical\)"),
        ("a <= start", r"compares 'a' \(integer\) with 'start' \(datetime\)"),
        ("start > 3", r"'start' is datetime; it cannot be compared with a number"),
        ("pay = salary + start", r"'pay = salary \+ start': does not give a number"),
        ("end = start + end", r"does not give a date"),
        ("end = start - stay - start", r"does not give a date"),
        ("stay = end + start", r"does not give a number"),
        ("pay = salary + colour", r"'colour' is categorical; a sum takes numbers or dates"),
        ("fixed: a", r"fixed combinations need two or more columns"),
        ("missing: salary when placed", r"expected 'when COLUMN = VALUE', 'when COLUMN"),
        ("hello world", r"rule 'hello world': not a rule vaekit reads \(e.g. 'start <= end'"),
        ("a == b", r"not a rule vaekit reads"),
        ("", r"not a rule vaekit reads"),
    ],
)
def test_a_rule_that_cannot_hold_is_refused_in_one_line(columns, text, expected):
    with pytest.raises(VaekitError, match=expected) as caught:
        parse_rule(text, columns, WHERE)
    message = str(caught.value)
    assert message.startswith(f"{WHERE}: rule ") and "\n" not in message


def test_an_unknown_column_error_lists_every_column(columns):
    with pytest.raises(VaekitError) as caught:
        parse_rule("age <= b", columns, WHERE)
    assert str(caught.value).endswith("(columns: " + ", ".join(c.name for c in columns) + ")")


def test_a_rule_on_a_key_or_an_ignored_column_is_refused():
    n = 30
    table = Table(
        ["code", "note", "v"],
        [
            _text([f"K{i:03d}" for i in range(n)]),
            _text([f"free text {i % 25}" for i in range(n)]),
            np.arange(n, dtype=float) % 7,
        ],
        "t.csv",
        2,
    )
    columns = infer_table_schema(table, {"note": "ignored"}).columns
    with pytest.raises(VaekitError, match=r"column 'code' is id, not generated"):
        parse_rule("fixed: code, v", columns, WHERE)
    with pytest.raises(VaekitError, match=r"column 'note' is ignored, not generated"):
        parse_rule("missing: note when v present", columns, WHERE)


@pytest.mark.parametrize("rule", ["a > b", "b < a", "a > 100", "stay = end + x - start"])
def test_a_rule_no_training_row_obeys_is_refused(people, rule):
    with pytest.raises(VaekitError, match=r"^people.csv: rule .*: no training row obeys it$"):
        infer_table_schema(people, rules=[rule])


def test_declared_rules_are_checked_on_the_training_rows_and_recorded(people):
    schema = infer_table_schema(
        people, rules=["a <= b", "fixed: placed, colour", "x < 1", "stay = end - start"]
    )
    declared = [r for r in schema.rules if r.origin == "declared"]
    assert [r.text for r in declared] == [
        "a <= b",
        "fixed: placed, colour",
        "x < 1",
        "stay = end - start",
    ]
    fixed = declared[1]
    seen = {(p, c) for p, c in zip(people.column("placed"), people.column("colour"), strict=True)}
    assert {tuple(c) for c in fixed.combinations} == seen
    assert not broken(declared[0], people, schema.columns).any()
    assert not broken(fixed, people, schema.columns).any()
    partly = broken(declared[2], people, schema.columns)  # x < 1: broken by some rows only
    assert 0 < partly.sum() < len(people)
    assert schema.column("stay").computed and schema.column("stay").width == 0
    assert [r.text for r in schema.resampled_rules] == ["a <= b", "fixed: placed, colour", "x < 1"]


# -- finding rules -----------------------------------------------------------------------------


def test_missing_groups_are_found_with_the_flag_that_says_when(people, columns):
    found = {r.text: r for r in detect_rules(people, columns) if r.kind == "missing"}
    placed = next(r for r in found.values() if r.flag == "placed")
    assert placed.value == "no" and placed.origin == "detected"
    assert set(placed.columns) == {"salary", "bonus"}  # pay is computed from them
    together = next(r for r in found.values() if "phone" in r.columns)
    assert set(together.columns) == {"phone", "email"} and together.flag is None
    assert len(found) == 2
    for rule in found.values():
        assert not broken(rule, people, columns).any()


def _either_or(n: int = 60, seed: int = 4) -> Table:
    """A car's plate or a bus pass: exactly one of the two in every row."""
    rng = np.random.default_rng(seed)
    has_car = rng.random(n) < 0.5
    plate = _text([f"P{i % 9}" if h else None for i, h in enumerate(has_car)])
    bus_pass = np.where(has_car, np.nan, rng.integers(1, 5, n).astype(float))
    return Table(["plate", "bus_pass", "v"], [plate, bus_pass, rng.normal(size=n)], "t.csv", 2)


def test_a_missing_group_flagged_by_another_columns_presence_is_found():
    table = _either_or()
    rules = detect_rules(table, infer_table_schema(table).columns)
    found = {(r.kind, tuple(r.columns), r.flag, r.value) for r in rules}
    assert ("missing", ("plate",), "bus_pass", None) in found
    assert all(not broken(r, table, infer_table_schema(table).columns).any() for r in rules)


def test_decoded_rows_obey_missing_rules_whose_flag_is_itself_in_a_group():
    table = _either_or()
    schema = infer_table_schema(table)
    x, _ = schema.encode(table)
    rng = np.random.default_rng(0)
    noisy = x[rng.integers(0, len(x), 10_000)] + rng.normal(0, 2.0, (10_000, x.shape[1]))
    out = schema.decode(noisy.astype(np.float32))
    for rule in schema.rules:
        assert int(broken(rule, out, schema.columns).sum()) == 0, rule.text


def _nested(n: int = 400, seed: int = 6) -> Table:
    """Debt is only ever missing where Assets is, never the other way round (credit_data's
    pattern): 40 rows without Assets, 12 of them without Debt too."""
    rng = np.random.default_rng(seed)
    assets, debt = rng.normal(5000, 900, n).round(), rng.normal(300, 80, n).round()
    no_assets = rng.permutation(n)[:40]
    assets[no_assets] = np.nan
    debt[no_assets[:12]] = np.nan
    return Table(
        ["Assets", "Debt", "Age"], [assets, debt, rng.normal(40, 9, n).round()], "c.csv", 2
    )


def test_a_column_missing_only_where_another_is_is_found_and_kept():
    table = _nested()
    schema = infer_table_schema(table)
    assert [r.text for r in schema.rules] == ["missing: Debt only when Assets missing"]
    x, _ = schema.encode(table)
    rng = np.random.default_rng(1)
    noisy = x[rng.integers(0, len(x), 10_000)] + rng.normal(0, 2.0, (10_000, x.shape[1]))
    out = schema.decode(noisy.astype(np.float32))
    debt_gone, assets_gone = (np.isnan(out.column(n)) for n in ("Debt", "Assets"))
    assert not (debt_gone & ~assets_gone).any()
    assert (assets_gone & ~debt_gone).any() and (debt_gone & assets_gone).any()  # not together
    assert int(broken(schema.rules[0], out, schema.columns).sum()) == 0
    # Debt is missing in 12 of the 40 rows without Assets, and so in the decoded rows
    assert schema.rules[0].share == pytest.approx(0.3)
    assert debt_gone[assets_gone].mean() == pytest.approx(0.3, abs=0.05)


def test_only_when_is_read():
    columns = infer_table_schema(_nested()).columns
    rule = parse_rule("missing: Debt only when Assets missing", columns, "c.csv")
    assert (rule.only, rule.flag, rule.absent) == (True, "Assets", True)
    assert rule.text == "missing: Debt only when Assets missing"


def test_sums_and_date_differences_are_found(people, columns):
    computed = {
        r.target: _meaning(r) for r in detect_rules(people, columns) if r.kind == "computed"
    }
    # pay comes first in the table, so it is the column computed; stay after the dates
    assert computed["pay"] == ("pay", {"salary": 1, "bonus": 1})
    assert ("stay", {"end": 1, "start": -1}) in computed.values() or (
        "start",
        {"end": 1, "stay": -1},
    ) in computed.values()
    assert len(computed) == 2


def test_the_column_found_computed_is_the_sum_not_a_term():
    rng = np.random.default_rng(5)
    n = 60
    a, b = np.round(rng.normal(100, 20, n), 2), np.round(rng.normal(50, 5, n), 2)
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    days = rng.integers(1, 60, n)
    table = Table(
        ["a", "b", "total", "start", "end", "days"],
        [
            a,
            b,
            np.round(a + b, 2),
            _dates(start),
            _dates(start + pd.to_timedelta(days, unit="D")),
            days.astype(float),
        ],
        "t.csv",
        2,
    )
    rules = detect_rules(table, infer_table_schema(table).columns)
    assert sorted(r.text for r in rules) == ["days = end - start", "total = a + b"]


def test_no_rule_is_found_between_independent_columns():
    rng = np.random.default_rng(6)
    n = 200
    start = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), unit="D")
    end = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), unit="D")
    holes = [rng.random(n) < 0.2 for _ in range(3)]
    table = Table(
        ["u", "v", "w", "i", "j", "k", "cat", "flag", "start", "end", "days"],
        [
            rng.normal(size=n),
            np.where(holes[0], np.nan, rng.normal(size=n)),
            np.round(rng.lognormal(3, 1, n), 2),
            rng.integers(0, 20, n).astype(float),
            np.where(holes[1], np.nan, rng.integers(0, 20, n).astype(float)),
            rng.integers(0, 40, n).astype(float),
            _text(rng.choice(["a", "b", "c"], n)),
            _text(
                [None if h else f for h, f in zip(holes[2], rng.choice(["y", "n"], n), strict=True)]
            ),
            _dates(start),
            _dates(end),
            rng.integers(0, 3000, n).astype(float),
        ],
        "t.csv",
        2,
    )
    columns = infer_table_schema(table).columns
    assert detect_rules(table, columns) == []
    assert infer_table_schema(table).rules == []


def test_a_column_equal_to_another_is_not_a_sum_with_zero():
    rng = np.random.default_rng(7)
    a = rng.integers(1, 50, 40).astype(float)
    table = Table(["a", "copy", "zero"], [a, a.copy(), np.zeros(40)], "t.csv", 2)
    table.columns[2][::2] = 1.0  # not constant: a 0/1 column, so binary, not a number
    assert detect_rules(table, infer_table_schema(table).columns) == []


# -- kept by construction ----------------------------------------------------------------------


def test_decoded_rows_always_obey_computed_and_missing_rules(people):
    schema = infer_table_schema(people, rules=["missing: a when placed = no"])
    kept = [r for r in schema.rules if r.by_construction]
    kinds = sorted({r.kind for r in kept})
    assert kinds == ["computed", "missing"] and len(kept) >= 4
    x, _ = schema.encode(people)
    rng = np.random.default_rng(0)
    rows = x[rng.integers(0, len(x), 10_000)]
    noisy = rows + rng.normal(0, 3.0, rows.shape).astype(np.float32)
    out = schema.decode(noisy)
    assert len(out) == 10_000
    for rule in kept:
        assert int(broken(rule, out, schema.columns).sum()) == 0, rule.text
    placed = out.column("placed")
    assert (missing_mask(out.column("salary")) == (placed == "no")).all()
    assert (missing_mask(out.column("a")) == (placed == "no")).all()
    assert missing_mask(out.column("salary")).any() and not missing_mask(out.column("salary")).all()
    assert (missing_mask(out.column("phone")) == missing_mask(out.column("email"))).all()
    np.testing.assert_allclose(
        np.nan_to_num(out.column("pay")),
        np.nan_to_num(out.column("salary") + out.column("bonus")),
        rtol=1e-9,
    )


def test_a_computed_date_is_written_in_its_format(people):
    schema = infer_table_schema(people, rules=["end = start + stay"])
    assert schema.column("end").computed
    x, _ = schema.encode(people)
    out = schema.decode(x)
    assert out.column("end").tolist() == people.column("end").tolist()
    noisy = schema.decode(x + np.random.default_rng(1).normal(0, 2, x.shape).astype(np.float32))
    rule = next(r for r in schema.rules if r.target == "end")
    assert not broken(rule, noisy, schema.columns).any()
    assert all(isinstance(v, str) and len(v) == 10 for v in noisy.column("end"))


@pytest.mark.parametrize(
    "rules", [["d = a + c", "a = b + c"], ["d = a + c"]], ids=["declared", "detected"]
)
def test_a_computed_column_that_is_a_term_of_another_rule_is_computed_first(rules):
    rng = np.random.default_rng(8)
    b, c = np.round(rng.normal(100, 20, 60), 2), np.round(rng.normal(50, 5, 60), 2)
    a = np.round(b + c, 2)
    table = Table(["a", "b", "c", "d"], [a, b, c, np.round(a + c, 2)], "t.csv", 2)
    schema = infer_table_schema(table, rules=rules)
    assert schema.column("a").computed and schema.column("d").computed
    x, _ = schema.encode(table)
    out = schema.decode(x)
    np.testing.assert_allclose(out.column("d"), table.column("d"))


def test_a_computed_rule_on_itself_or_in_a_cycle_is_refused():
    rng = np.random.default_rng(9)
    b, c = np.round(rng.normal(100, 20, 60), 2), np.round(rng.normal(50, 5, 60), 2)
    table = Table(["a", "b", "c", "m"], [np.round(b + c, 2), b, c, (b + c) / 2], "t.csv", 2)
    for rules in (["a = b + c", "b = a - c"], ["m = b + c - m"]):
        with pytest.raises(VaekitError, match="rule"):
            infer_table_schema(table, rules=rules)


# -- recorded ----------------------------------------------------------------------------------


def test_rules_survive_the_schema_round_trip_through_config(people):
    schema = infer_table_schema(
        people, rules=["a <= b", "fixed: placed, colour", "x > -10", "missing: a when placed = no"]
    )
    assert {r.origin for r in schema.rules} == {"declared", "detected"}
    recorded = json.loads(json.dumps(schema.to_dict()))
    back = schema_from_dict(recorded, "config.json")
    assert back.to_dict() == schema.to_dict()
    assert [r.describe() for r in back.rules] == [r.describe() for r in schema.rules]
    assert [r.text for r in back.resampled_rules] == [r.text for r in schema.resampled_rules]
    x, _ = schema.encode(people)
    assert np.array_equal(back.encode(people)[0], x)
    noisy = x + np.random.default_rng(2).normal(0, 1, x.shape).astype(np.float32)
    one, two = schema.decode(noisy), back.decode(noisy)
    for name in one.names:
        assert missing_mask(one.column(name)).tolist() == missing_mask(two.column(name)).tolist()


def test_a_recorded_rule_on_an_unknown_column_is_refused(people):
    recorded = infer_table_schema(people, rules=["a <= b"]).to_dict()
    rule = next(r for r in recorded["rules"] if r["text"] == "a <= b")
    rule["columns"] = ["a", "nobody"]
    with pytest.raises(VaekitError, match=r"config.json: data.schema is damaged \(rule 'a <= b'"):
        schema_from_dict(recorded, "config.json")


# -- kept by drawing again: a trained run's samples -------------------------------------------


def _penguins(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Species live on some islands only; a bill (here) is never longer than the flipper."""
    rng = np.random.default_rng(seed)
    homes = {
        "Adelie": ["Biscoe", "Dream", "Torgersen"],
        "Gentoo": ["Biscoe"],
        "Chinstrap": ["Dream"],
    }
    species = rng.choice(list(homes), n)
    island = [rng.choice(homes[s]) for s in species]
    flipper = np.round(rng.normal(200, 15, n), 1)
    bill = np.round(flipper - rng.uniform(0, 10, n), 1)  # close: a weak model breaks the rule
    return pd.DataFrame(
        {
            "species": species,
            "island": island,
            "bill": bill,
            "flipper": flipper,
            "mass": rng.normal(4000, 500, n).round(),
        }
    )


def test_samples_of_a_trained_run_break_no_rule_and_repeat_with_the_seed(tmp_path):
    import vaekit
    from vaekit.data.table import from_dataframe
    from vaekit.metrics.synthetic import rule_notes

    rules = ["fixed: species, island", "bill <= flipper", "mass > 3000"]
    run = vaekit.fit(
        _penguins(),
        tmp_path / "run",
        rules=rules,
        epochs=3,
        latent_dim=2,
        hidden=[32],
        batch_size=64,
        seed=0,
        device="cpu",
    )
    schema = run.schema
    assert [r.text for r in schema.resampled_rules][:3] == rules
    rows = run.sample(10_000, seed=0)
    assert len(rows) == 10_000
    drawn = dict(run.drawn_again)
    assert set(drawn) == {r.text for r in schema.resampled_rules}
    assert all(share >= 0.0 for share in drawn.values())
    # a 3-epoch model breaks both resampled rules now and then: those rows were drawn again
    assert drawn["fixed: species, island"] > 0 and drawn["bill <= flipper"] > 0
    table = from_dataframe(rows)
    for rule in schema.rules:
        assert int(broken(rule, table, schema.columns).sum()) == 0, rule.text
    homes = set(zip(rows["species"], rows["island"], strict=True))
    assert homes <= {
        ("Adelie", "Biscoe"),
        ("Adelie", "Dream"),
        ("Adelie", "Torgersen"),
        ("Gentoo", "Biscoe"),
        ("Chinstrap", "Dream"),
    }
    again = run.sample(10_000, seed=0)
    pd.testing.assert_frame_equal(again, rows, check_exact=True)
    assert run.drawn_again == drawn
    one, two = (run.sample(500, seed=3, model_space=True) for _ in range(2))
    assert one.tobytes() == two.tobytes()
    figures = {
        "rows": {"synthetic": 10_000},
        "rules": [
            {"rule": r.text, "broken": int(broken(r, table, schema.columns).sum())}
            for r in schema.rules
        ],
    }
    assert rule_notes(figures) == []
    figures["rules"][0]["broken"] = 7
    assert rule_notes(figures) == [
        f"Generated rows break a rule: 7 of 10000 break {schema.rules[0].text!r}."
    ]
