"""Tables as people have them: other separators, decimal commas, byte order marks, cp1252,
.tsv, .parquet and .xlsx, each read the same as the plain comma-separated UTF-8 file."""

from __future__ import annotations

import gzip
import sys

import numpy as np
import pandas as pd
import pytest

from vaekit.config.run import DataConfig
from vaekit.core.errors import VaekitError
from vaekit.data.dialect import Dialect, comma_to_dot, decode, sniff
from vaekit.data.files import read
from vaekit.data.table import Table, is_numeric, read_csv

HEADER = ["alcohol", "acidity", "price", "region"]
ROWS = [
    ["13", "1.5", "1234.5", "café"],
    ["12.5", "-0.25", "", "bar"],
    ["14", "2", "987", ""],
    ["11.75", "0.125", "1000000.5", "café"],
]


def _cells(separator: str, decimal_comma: bool) -> list[list[str]]:
    """HEADER and ROWS joined for a file; decimal commas with dots between thousands."""

    def spell(cell: str) -> str:
        if not decimal_comma or not cell or cell[-1].isalpha():
            return cell
        whole, _, part = cell.partition(".")
        sign = "-" if whole.startswith("-") else ""
        digits = f"{int(whole.lstrip('-')):,}".replace(",", ".")
        return sign + digits + ("," + part if part else "")

    return [HEADER] + [[spell(c) for c in row] for row in ROWS]


def _text(separator: str = ",", decimal_comma: bool = False) -> str:
    return "".join(separator.join(row) + "\r\n" for row in _cells(separator, decimal_comma))


def _same(table: Table, expected: Table) -> None:
    assert table.names == expected.names
    for got, want in zip(table.columns, expected.columns, strict=True):
        assert is_numeric(got) == is_numeric(want)
        if is_numeric(want):
            np.testing.assert_array_equal(got, want)
        else:
            assert got.tolist() == want.tolist()


@pytest.fixture
def plain(tmp_path) -> Table:
    path = tmp_path / "plain.csv"
    path.write_text(_text(), encoding="utf-8")
    table = read_csv(path)
    np.testing.assert_array_equal(table.column("price"), [1234.5, np.nan, 987, 1000000.5])
    assert table.column("region").tolist() == ["café", "bar", None, "café"]
    return table


@pytest.mark.parametrize(
    ("name", "separator", "decimal_comma", "encoding"),
    [
        ("comma-bom.csv", ",", False, "utf-8-sig"),
        ("semicolon.csv", ";", True, "utf-8"),
        ("semicolon-bom.csv", ";", True, "utf-8-sig"),
        ("excel.csv", ";", True, "cp1252"),
        ("comma-cp1252.csv", ",", False, "cp1252"),
        ("tab.csv", "\t", False, "utf-8"),
        ("tab-comma.csv", "\t", True, "utf-8"),
        ("pipe.csv", "|", False, "utf-8"),
        ("pipe-comma.csv", "|", True, "utf-8-sig"),
        ("table.tsv", "\t", False, "utf-8"),
        ("table.tab", "\t", True, "cp1252"),
    ],
)
def test_csv_dialects_read_the_same_as_plain_csv(
    tmp_path, plain, name, separator, decimal_comma, encoding
):
    path = tmp_path / name
    path.write_bytes(_text(separator, decimal_comma).encode(encoding))
    _same(read_csv(path), plain)


def test_tsv_gz_through_the_data_reader(tmp_path, plain):
    path = tmp_path / "table.tsv.gz"
    path.write_bytes(gzip.compress(_text("\t").encode()))
    raw = read(path, DataConfig(source=str(path)))
    assert raw.where == str(path)
    _same(raw.table, plain)


def test_sniffed_dialects():
    assert sniff(_text(";", True)) == Dialect(";", True, "utf-8-sig")
    assert sniff(_text("\t"), "x.csv") == Dialect("\t", False)
    assert sniff("a,b\n1;2,3\n", "x.tsv").separator == "\t"  # the suffix decides
    assert sniff("1,5;2,5\n3,5;4,5\n") == Dialect(";", True)  # two fields, not three
    assert sniff("1,2\n3\n").separator == ","  # ragged: the error names the comma's fields
    assert sniff("x\n1\n").separator == ","
    assert decode("\ufeffa,b\n".encode()) == ("a,b\n", "utf-8-sig")
    assert decode("é".encode("cp1252")) == ("é", "cp1252")
    assert [comma_to_dot(c) for c in ("1,5", "-0,25", "1.234,5", "café", "2.5")] == [
        "1.5",
        "-0.25",
        "1234.5",
        "café",
        "2.5",
    ]


def test_bom_is_not_part_of_the_first_name(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfalcohol,acidity\n13,1.5\n12,2\n")
    assert read_csv(path).names == ["alcohol", "acidity"]


def test_semicolons_without_decimal_commas_keep_commas_in_text(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("note;value;ratio\na, b;1;0.5\nc, d, e;2;1.25\nf;3;2\n")
    table = read_csv(path)
    assert table.names == ["note", "value", "ratio"]
    assert table.column("note").tolist() == ["a, b", "c, d, e", "f"]
    assert table.column("value").tolist() == [1.0, 2.0, 3.0]
    assert table.column("ratio").tolist() == [0.5, 1.25, 2.0]


def test_decimal_commas_leave_text_and_dot_columns_alone(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("code;x;y\n1,2-b;1,5;2.5\n3,4-c;2;3.75\n")
    table = read_csv(path)
    assert table.column("code").tolist() == ["1,2-b", "3,4-c"]
    assert table.column("x").tolist() == [1.5, 2.0]
    assert table.column("y").tolist() == [2.5, 3.75]


@pytest.mark.parametrize("separator", [",", ";", "\t", "|"])
def test_quoted_field_holding_the_separator(tmp_path, separator):
    path = tmp_path / "quoted.csv"
    s = separator
    path.write_text(f'name{s}n\n"x{s} y"{s}1\n"plain"{s}2\nz{s}3\n')
    table = read_csv(path)
    assert table.names == ["name", "n"]
    assert table.column("name").tolist() == [f"x{s} y", "plain", "z"]
    assert table.column("n").tolist() == [1.0, 2.0, 3.0]


def test_existing_csv_errors_are_kept(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a;b\n1,5;2\n3\n")
    with pytest.raises(VaekitError, match="line 3 has 1 fields, expected 2"):
        read_csv(path)


def _frame(plain: Table) -> pd.DataFrame:
    return pd.DataFrame(
        {
            name: (column if is_numeric(column) else pd.Series(column, dtype=object))
            for name, column in zip(plain.names, plain.columns, strict=True)
        }
    )


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_parquet_and_excel_read_the_same_as_csv(tmp_path, plain, suffix):
    path = tmp_path / f"table{suffix}"
    frame = _frame(plain)
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_excel(path, index=False)
    raw = read(path, DataConfig(source=str(path), labels="region"))
    assert raw.where == str(path) and raw.table.where == str(path)
    _same(raw.table, plain)


@pytest.mark.parametrize(("suffix", "package"), [(".parquet", "pyarrow"), (".xlsx", "openpyxl")])
def test_missing_reader_package_is_one_line_naming_file_and_extra(
    tmp_path, monkeypatch, suffix, package
):
    path = tmp_path / f"table{suffix}"
    path.write_bytes(b"whatever")
    monkeypatch.setitem(sys.modules, package, None)  # import then fails
    with pytest.raises(VaekitError) as err:
        read(path, DataConfig(source=str(path)))
    message = str(err.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert f"needs {package}" in message and "vaekit[formats]" in message


def test_corrupt_parquet_is_one_line(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(VaekitError, match="cannot read .parquet file") as err:
        read(path, DataConfig(source=str(path)))
    assert str(path) in str(err.value) and "\n" not in str(err.value)
