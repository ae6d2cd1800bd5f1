"""How a CSV file is written: its separator, its decimal mark and its text encoding, sniffed.

Tables arrive as people's programs save them: Excel in a European locale writes ``;`` between
fields and ``1,5`` for one and a half, Windows programs write cp1252 or put a byte order mark
before UTF-8, and tab-separated files come as ``.tsv``. :func:`decode` turns the bytes into text
and :func:`sniff` decides the rest, so :func:`vaekit.data.table.read_csv` reads them all.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

# The separators tried, in the order preferred when several fit equally well.
SEPARATORS = (",", ";", "\t", "|")
# Suffixes that name tab-separated files (optionally gzip-compressed).
TAB_SUFFIXES = (".tsv", ".tsv.gz", ".tab", ".tab.gz")
# How many non-empty records of the file the separator and decimal mark are decided on.
SAMPLE_RECORDS = 50

# A number written with a decimal comma, and optionally dots between groups of three digits:
# 1,5  -0,25  1.234,5  12  1.234.567  2,5e-3.
_COMMA_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class Dialect:
    """How one CSV file is written: the field separator, whether numbers use a decimal comma
    (``1,5``; dots then group thousands), and the encoding its bytes were decoded with."""

    separator: str = ","
    decimal_comma: bool = False
    encoding: str = "utf-8-sig"


def decode(data: bytes) -> tuple[str, str]:
    """The text of a file's bytes and the encoding that read it: UTF-16 when the bytes start
    with its byte order mark, else UTF-8 (a leading byte order mark dropped), else cp1252 (what
    Excel on Windows saves) when the bytes are not UTF-8. cp1252 may raise UnicodeDecodeError."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        return data.decode("cp1252"), "cp1252"


def sniff(text: str, name: str = "", encoding: str = "utf-8-sig") -> Dialect:
    """The dialect of a CSV file's ``text``; ``name`` is the file's name (``.tsv`` and ``.tab``
    mean tab-separated) and ``encoding`` is recorded as given (see :func:`decode`)."""
    separator = sniff_separator(text, name)
    return Dialect(separator, sniff_decimal_comma(text, separator), encoding)


def sniff_separator(text: str, name: str = "") -> str:
    """The field separator among ``,`` ``;`` tab and ``|``: the one that splits the first
    non-empty records (quotes respected) into the same number of fields, more than one.

    When several do, the one under which more cells read as numbers wins (so ``1,5;2,5`` is two
    fields, not three), then any but ``,`` (which also stands in text and numbers; a ``;`` in
    every record is rarely chance), then the earlier in :data:`SEPARATORS`. When none does, the
    one that splits the first record in two or more and agrees with it most often; else ``,``."""
    if name.lower().endswith(TAB_SUFFIXES):
        return "\t"
    consistent: list[tuple[float, bool, int, str]] = []
    ragged: list[tuple[int, int, str]] = []
    for order, separator in enumerate(SEPARATORS):
        records = _records(text, separator)
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        agree = sum(len(r) == width for r in records)
        if agree == len(records):
            body = records[1:] or records
            cells = [c for r in body for c in r]
            numeric = sum(_looks_numeric(c, separator) for c in cells) / len(cells)
            consistent.append((-numeric, separator == ",", order, separator))
        else:
            ragged.append((-agree, order, separator))
    if consistent:
        return min(consistent)[-1]
    if ragged:
        return min(ragged)[2]
    return ","


def sniff_decimal_comma(text: str, separator: str) -> bool:
    """Whether numbers in the text are written with a decimal comma: never when fields are
    separated by ``,``; else when some column of the first records has a cell such as ``1,5``
    and every number-looking cell of that column is written that way (see
    :func:`is_comma_number`)."""
    if separator == ",":
        return False
    records = _records(text, separator)
    if len(records) > 1:
        records = records[1:]  # the first record may be a header
    width = max((len(r) for r in records), default=0)
    return any(comma_column([r[c] for r in records if c < len(r)]) for c in range(width))


def comma_column(cells: list[str]) -> bool:
    """Whether a column's cells are decimal-comma numbers: at least one has a comma, and no
    number-looking cell is written otherwise (such as ``2.5``); text and missing cells aside."""
    has_comma = False
    for cell in cells:
        if is_comma_number(cell):
            has_comma = has_comma or "," in cell
        elif _is_dot_number(cell):
            return False
    return has_comma


def is_comma_number(cell: str) -> bool:
    """Whether a cell can be read as a number written with a decimal comma and dots between
    groups of thousands: ``1,5``, ``-0,25``, ``1.234,5``, also ``12`` and ``1.234``."""
    return _COMMA_NUMBER.fullmatch(cell.strip()) is not None


def comma_to_dot(cell: str) -> str:
    """A decimal-comma number in the form Python reads (``1.234,5`` -> ``1234.5``); any other
    cell unchanged."""
    if not is_comma_number(cell):
        return cell
    return cell.strip().replace(".", "").replace(",", ".")


def _is_dot_number(cell: str) -> bool:
    """A finite number Python reads that is not also a decimal-comma number (``2.5``, ``1e-3``
    both ways is not)."""
    if is_comma_number(cell):
        return False
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def _looks_numeric(cell: str, separator: str) -> bool:
    """A cell that reads as a number, decimal commas counted where the separator allows them."""
    return _is_dot_number(cell) or (is_comma_number(cell) and ("," not in cell or separator != ","))


def _records(text: str, separator: str) -> list[list[str]]:
    """The first :data:`SAMPLE_RECORDS` non-empty records of the text split at ``separator``;
    what follows a quoting error is left out."""
    reader = csv.reader(_lines(text), delimiter=separator)
    records: list[list[str]] = []
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                records.append(record)
                if len(records) == SAMPLE_RECORDS:
                    break
    except csv.Error:
        pass
    return records


def _lines(text: str) -> Iterator[str]:
    """The text's lines, endings kept, one at a time (the text may be a large file's)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end
