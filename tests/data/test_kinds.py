"""The datetime and id kinds, and numbers at the training precision: inferred from a CSV (or a
DataFrame), forced by a column spec, and mapped into model space and back to the exact texts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vaekit.core.errors import VaekitError
from vaekit.data import dates
from vaekit.data.schema.infer import infer_table_schema
from vaekit.data.table import Table, from_dataframe, read_csv, spell

N = 80


def _frame(seed: int = 0, n: int = N) -> pd.DataFrame:
    """Dates two ways, a text key, an integer key, a unique count, money and a category."""
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("1999-01-01") + pd.to_timedelta(rng.integers(0, 12_000, n), unit="D")
    days = days.where(np.arange(n) != 0, pd.Timestamp("2020-02-29"))  # a leap day
    return pd.DataFrame(
        {
            "iso": days.strftime("%Y-%m-%d"),
            "dmy": days.strftime("%d/%m/%Y"),
            "code": [f"ORD-{i:05d}" for i in rng.permutation(n) + 100],
            "customer_id": rng.permutation(n) + 1000,
            "count": rng.permutation(n) + 5,
            "price": np.round(rng.normal(50, 10, n), 2),
            "colour": rng.choice(["red", "green", "blue"], n),
        }
    )


@pytest.fixture
def table(tmp_path) -> Table:
    path = tmp_path / "orders.csv"
    _frame().to_csv(path, index=False)
    return read_csv(path)


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_dates_ids_and_counts_are_inferred_from_a_csv(table):
    schema = infer_table_schema(table)
    kinds = {c.name: (c.kind, c.format) for c in schema.columns}
    assert kinds == {
        "iso": ("datetime", "%Y-%m-%d"),
        "dmy": ("datetime", "%d/%m/%Y"),  # days past 12 in the column: day first
        "code": ("id", None),
        "customer_id": ("id", None),  # unique whole numbers named like a key
        "count": ("integer", None),  # unique whole numbers, but not named like a key
        "price": ("continuous", None),
        "colour": ("categorical", None),
    }
    assert schema.column("price").decimals == 2
    assert schema.column("code").width == schema.column("customer_id").width == 0
    assert schema.column("iso").width == schema.column("dmy").width == 1


def test_dates_round_trip_to_the_exact_texts(table):
    schema = infer_table_schema(table)
    x, _ = schema.encode(table)
    assert x.dtype == np.float32 and np.isfinite(x).all()
    out = schema.decode(x)
    for name in ("iso", "dmy"):
        assert out.column(name).tolist() == table.column(name).tolist()
    assert out.column("count").tolist() == table.column("count").tolist()
    assert out.column("colour").tolist() == table.column("colour").tolist()


def test_decoded_rows_get_new_unique_keys_shaped_like_the_training_keys(table):
    schema = infer_table_schema(table)
    x, _ = schema.encode(table)
    rng = np.random.default_rng(0)
    rows = np.concatenate([x] * 50) + rng.normal(0, 0.5, (50 * len(x), x.shape[1]))
    out = schema.decode(rows.astype(np.float32))
    codes = out.column("code").tolist()
    assert len(set(codes)) == len(codes) == 50 * N
    assert not set(codes) & set(table.column("code").tolist())
    assert all(c.startswith("ORD-") and len(c) == 9 and c[4:].isdigit() for c in codes)
    ids = out.column("customer_id")
    assert ids.dtype == np.float64  # numeric keys come back as numbers
    assert len(set(ids.tolist())) == len(ids) and np.array_equal(ids, np.round(ids))
    assert not set(ids.tolist()) & set(table.column("customer_id").tolist())
    assert all(not k.startswith("0") for k in spell(ids))
    again = schema.decode(rows.astype(np.float32))  # the same rows get the same keys
    assert again.column("code").tolist() == codes
    assert np.array_equal(again.column("customer_id"), ids)


def test_the_same_kinds_come_from_a_dataframe(table):
    frame = _frame()
    from_csv = infer_table_schema(table)
    from_frame = infer_table_schema(from_dataframe(frame))
    assert [(c.name, c.kind, c.format) for c in from_frame.columns] == [
        (c.name, c.kind, c.format) for c in from_csv.columns
    ]
    x, _ = from_frame.from_user(frame, "DataFrame")[:2]
    back = from_frame.to_user(x)
    assert back["iso"].tolist() == frame["iso"].tolist()
    assert back["dmy"].tolist() == frame["dmy"].tolist()
    np.testing.assert_array_equal(back["price"].to_numpy(), frame["price"].to_numpy())


def test_a_dataframe_of_date_values_comes_back_as_date_values():
    frame = _frame()[["iso", "price"]]
    frame["iso"] = pd.to_datetime(frame["iso"])
    schema = infer_table_schema(from_dataframe(frame))
    column = schema.column("iso")
    assert (column.kind, column.format) == ("datetime", "%Y-%m-%d")
    x, _ = schema.from_user(frame, "DataFrame")[:2]
    back = schema.to_user(x)
    assert pd.api.types.is_datetime64_any_dtype(back["iso"])
    assert back["iso"].tolist() == frame["iso"].tolist()


def test_a_unique_integer_column_not_named_like_a_key_is_not_an_id(tmp_path):
    rng = np.random.default_rng(1)
    rows = "".join(
        f"{c},{v:.3f}\n" for c, v in zip(rng.permutation(40) + 1, rng.normal(size=40), strict=True)
    )
    for name in ("count", "amount", "idle", "hidden"):
        table = read_csv(_write(tmp_path, "t.csv", f"{name},v\n{rows}"))
        assert infer_table_schema(table).column(name).kind == "integer", name
    for name in ("id", "customer_id", "CustomerID", "key", "Unnamed: 0"):
        table = read_csv(_write(tmp_path, "t.csv", f"{name},v\n{rows}"))
        assert infer_table_schema(table).column(name).kind == "id", name


def _ambiguous_dates(tmp_path):
    """Dates whose day is never above 12: month-first and day-first both read them."""
    rows = "".join(
        f"{i % 5},{(i % 12) + 1:02d}/{(i * 7 + 7) % 12 + 1:02d}/2020\n" for i in range(30)
    )
    return read_csv(_write(tmp_path, "ambiguous.csv", "v,d\n" + rows))


def test_a_column_spec_makes_ambiguous_dates_day_first(tmp_path):
    table = _ambiguous_dates(tmp_path)
    assert infer_table_schema(table).column("d").format == "%m/%d/%Y"  # Excel's default
    for spec in ("datetime:%d/%m/%Y", {"kind": "datetime", "format": "%d/%m/%Y"}):
        schema = infer_table_schema(table, {"d": spec})
        column = schema.column("d")
        assert (column.kind, column.format) == ("datetime", "%d/%m/%Y")
        first = table.column("d")[0]  # "01/08/2020": the 1st of August
        assert dates.parse([first], "%d/%m/%Y")[0] == pytest.approx(
            (pd.Timestamp("2020-08-01") - pd.Timestamp("1970-01-01")).days
        )
        x, _ = schema.encode(table)
        assert schema.decode(x).column("d").tolist() == table.column("d").tolist()


def test_an_id_spec_on_a_column_with_a_repeat_names_file_line_and_column(tmp_path):
    path = _write(tmp_path, "people.csv", "x,v\nA1,1.5\nB2,2.5\nC3,3.5\nB2,4.5\nD4,5.5\n")
    with pytest.raises(VaekitError) as caught:
        infer_table_schema(read_csv(path), {"x": "id"})
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message and "line 5" in message and "'x'" in message
    assert "'B2' appears twice" in message


def test_an_id_spec_on_a_column_with_a_missing_value_is_refused(tmp_path):
    path = _write(tmp_path, "people.csv", "x,v\nA1,1.5\n,2.5\nC3,3.5\n")
    with pytest.raises(VaekitError, match=r"people.csv: line 3, id column 'x': missing value"):
        infer_table_schema(read_csv(path), {"x": "id"})


def test_an_unreadable_date_in_a_later_file_names_column_line_and_format(tmp_path, table):
    schema = infer_table_schema(table)
    frame = _frame(seed=3, n=10).astype({"customer_id": str})
    frame.loc[6, "dmy"] = "2020-12-31"
    path = tmp_path / "later.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(VaekitError) as caught:
        schema.encode(read_csv(path))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: line 8, column 'dmy': '2020-12-31'")
    assert "%d/%m/%Y" in message and "23/07/2020" in message  # the format, and an example


def test_an_unknown_date_format_in_a_spec_is_refused():
    table = Table(["d", "v"], [np.array(["2020-01-01"] * 3, dtype=object), np.ones(3)], "t", 2)
    with pytest.raises(VaekitError, match=r"'d'.*%j"):
        infer_table_schema(table, {"d": "datetime:%Y-%j"})
    with pytest.raises(VaekitError, match=r"line 2, column 'd': '2020-01-01' is not a date"):
        infer_table_schema(table, {"d": "datetime:%d/%m/%Y"})


def test_a_free_text_column_asked_for_as_a_feature_is_categorical(tmp_path):
    words = [f"comment number {i}" for i in range(45)]
    rows = "".join(f"{words[i % 45]},{i % 4}\n" for i in range(60))  # 45 texts in 60 rows
    table = read_csv(_write(tmp_path, "notes.csv", "note,v\n" + rows))
    assert infer_table_schema(table).column("note").kind == "ignored"
    column = infer_table_schema(table, {"note": "feature"}).column("note")
    assert (column.kind, column.role) == ("categorical", "feature")
    assert column.categories == sorted(words)


def test_a_continuous_column_comes_back_at_its_training_precision(tmp_path):
    rng = np.random.default_rng(2)
    money = np.round(rng.lognormal(3, 1, 50), 2)
    rows = "".join(f"{m:.2f},{i % 3}\n" for i, m in enumerate(money))
    table = read_csv(_write(tmp_path, "money.csv", "amount,v\n" + rows))
    schema = infer_table_schema(table)
    assert schema.column("amount").decimals == 2
    x, _ = schema.encode(table)
    noisy = x + rng.normal(0, 0.3, x.shape).astype(np.float32)
    out = schema.decode(noisy).column("amount")
    assert np.array_equal(out, np.round(out, 2))
    assert not np.array_equal(out, np.round(out, 1))  # not fewer decimals either
    np.testing.assert_array_equal(schema.decode(x).column("amount"), money)


SNOWFLAKE_BUG = (
    "infer._fit_keys spells keys with format_number, which writes numbers >= 2**53 with 10 "
    "significant digits ('%.10g'), so distinct 19-digit ids collide: _guess_kind (unique as "
    "floats) makes the column an id and _fit_keys then refuses it as 'appears twice'"
)


def test_large_integer_ids_are_not_refused_as_repeats(tmp_path):
    ids = [1_234_567_890_123_456_000 + 4_194_304 * i for i in range(40)]  # snowflake-like
    rows = "".join(f"{k},{i % 7}\n" for i, k in enumerate(ids))
    table = read_csv(_write(tmp_path, "tweets.csv", "tweet_id,likes\n" + rows))
    assert len(set(table.column("tweet_id").tolist())) == 40  # distinct as read
    assert infer_table_schema(table).column("tweet_id").kind == "id"


def test_a_few_whole_numbers_with_gaps_come_back_as_those_numbers():
    months = np.array([3.0, 6.0, 12.0] * 30)
    table = Table(["months", "x"], [months, np.linspace(0, 1, 90)], "t.csv", 2)
    schema = infer_table_schema(table)
    assert schema.column("months").levels == [3.0, 6.0, 12.0]
    x, _ = schema.encode(table)
    noisy = x + np.random.default_rng(0).normal(0, 1.5, x.shape).astype(np.float32)
    assert set(schema.decode(noisy).column("months")) <= {3.0, 6.0, 12.0}
    counts = Table(["n", "x"], [np.arange(90.0) % 7, np.linspace(0, 1, 90)], "t.csv", 2)
    assert infer_table_schema(counts).column("n").levels is None  # 0..6, no gap: plain rounding


def test_the_built_in_students_table_reads_as_it_ships():
    from vaekit.data.builtin import read

    table = read("students").table
    schema = infer_table_schema(table)
    kinds = {c.name: c.kind for c in schema.columns}
    wanted = {"student_id": "id", "start_date": "datetime", "end_date": "datetime"}
    assert {name: kinds[name] for name in wanted} == wanted
    assert schema.column("start_date").format == "%Y-%m-%d"
    assert schema.column("duration").levels == [3.0, 6.0, 12.0]
    assert [r.text for r in schema.rules] == [
        "missing: salary, start_date, end_date, duration when placed = False"
    ]
