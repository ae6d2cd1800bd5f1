"""Config files a user writes (``--config``, JSON or YAML) and how options given on the command
line are laid over them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vaekit.core.errors import fail


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON or YAML config file into a plain mapping (not yet validated)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise fail(path, f"cannot read config file ({err.strerror})") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as err:  # noqa: BLE001 - any parse error becomes one line
        line = str(err).splitlines()[0] if str(err) else type(err).__name__
        kind = "YAML" if path.suffix.lower() in (".yaml", ".yml") else "JSON"
        raise fail(path, f"not valid {kind}: {line}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise fail(path, "expected a mapping at the top level")
    return data


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge nested mappings: values in ``override`` win, sections merge key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged
