"""A run's JSON records — summary.json, metrics.jsonl, evaluation.jsonl — read back only whole.

These files are written by vaekit but live in a folder users copy, sync and edit. A record is
refused, in one line naming the file (and line) and the field, when it is not JSON, holds NaN or
infinity, or lacks a field a command prints; nothing downstream then meets a string where it
formats a number.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vaekit.core.errors import VaekitError, fail
from vaekit.core.progress import log

NUMBER = "number"  # an int or float (not a bool); None is refused unless the kind says "or null"
NUMBER_OR_NULL = "number or null"
KINDS: dict[str, Any] = {
    NUMBER: (int, float),
    NUMBER_OR_NULL: (int, float, type(None)),
    "whole number": int,
    "text": str,
    "true/false": bool,
    "list": list,
    "object": dict,
}

# What `vaekit info` and the report print from a summary.json (every vaekit version wrote these).
SUMMARY_FIELDS = {
    "parameters": "whole number",
    "data": "object",
    "data.train": "whole number",
    "data.val": "whole number",
    "data.test": "whole number",
    "best_epoch": "whole number",
    "best": "object",
    "best.metric": "text",
    "best.value": NUMBER,
    "train_seconds": NUMBER,
}
OPTIONAL_SUMMARY_FIELDS = {"data.shape": "list", "data.labelled": "true/false"}


def parse_json(text: str) -> Any:
    """``json.loads`` refusing NaN and Infinity (Python writes them; JSON has no such numbers)."""
    return json.loads(text, parse_constant=_refuse_constant)


def read_summary(path: Path) -> dict[str, Any]:
    """summary.json as a dict ({} where the run has none), its printed fields checked."""
    path = Path(path)
    if not path.exists():
        return {}
    record = _parse(path, _read_text(path), path)
    check_fields(record, SUMMARY_FIELDS, path)
    check_fields(record, OPTIONAL_SUMMARY_FIELDS, path, required=False)
    return record


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """metrics.jsonl's rows ([] where there is none): each an object with a whole ``epoch`` and
    numbers (or null, where a model has no such figure) for everything else."""
    rows = read_rows(path)
    for number, row in enumerate(rows, 1):
        where = f"{path} line {number}"
        check_fields(row, {"epoch": "whole number"}, where)
        check_fields(row, dict.fromkeys(row.keys() - {"epoch"}, NUMBER_OR_NULL), where)
    return rows


def read_rows(path: Path, skip_damaged: bool = False) -> list[dict[str, Any]]:
    """A JSON-lines file's objects, in order; blank lines skipped, [] where the file is absent.
    A damaged line is refused, or with ``skip_damaged`` passed over with a warning (for records
    that can be made again, like evaluations)."""
    path = Path(path)
    if not path.exists():
        return []
    text = _read_text(path, errors="replace" if skip_damaged else "strict")
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(_parse(path, line, f"{path} line {number}"))
        except VaekitError as err:
            if not skip_damaged:
                raise
            log(f"warning: {err.args[0].split('; ')[0]}; passed over")
    return rows


def check_fields(
    record: dict[str, Any], fields: dict[str, str], where: object, required: bool = True
) -> None:
    """Refuse ``record`` unless each dotted field (``"best.value"``) has its kind."""
    for dotted, kind in fields.items():
        value: Any = record
        for key in dotted.split("."):
            if not isinstance(value, dict) or key not in value:
                if not required:
                    break
                raise fail(where, f"field {dotted} is missing")
            value = value[key]
        else:
            if not isinstance(value, KINDS[kind]) or (
                isinstance(value, bool) and kind != "true/false"
            ):
                raise fail(where, f"field {dotted} is {_show(value)}, not a {kind}")


def _parse(path: Path, text: str, where: object) -> dict[str, Any]:
    try:
        record = parse_json(text)
    except ValueError as err:
        raise fail(where, f"not valid JSON ({err}); {_fix(path)}") from None
    if not isinstance(record, dict):
        raise fail(where, f"expected a JSON object, found {type(record).__name__}; {_fix(path)}")
    return record


def _read_text(path: Path, errors: str = "strict") -> str:
    try:
        return path.read_text(encoding="utf-8", errors=errors)
    except (OSError, UnicodeDecodeError) as err:
        raise fail(path, f"cannot be read ({err})") from None


def _fix(path: Path) -> str:
    if path.name == "evaluation.jsonl":
        return "delete the file (or the line) and run `vaekit evaluate` again"
    return "the run folder is damaged; retrain it or restore the file from a copy"


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
