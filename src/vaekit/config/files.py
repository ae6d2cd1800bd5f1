"""Config files a user writes (``--config``, JSON or YAML), how options given on the command
line are laid over them, and the same options given as Python keywords."""

from __future__ import annotations

import dataclasses
import difflib
import json
from pathlib import Path
from typing import Any

from vaekit.config.model import ModelConfig
from vaekit.config.run import DataConfig, RunConfig, TrainConfig
from vaekit.core.errors import VaekitError, fail


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


SECTIONS = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig}
RECORDED = {"source", "schema", "location", "input_shape", "condition_dim", "layout"}


def config_from_keywords(source: str, options: dict[str, Any]) -> RunConfig:
    """A run config from flat keywords named as the config's fields, the Python form of the
    command line's options (``latent_dim=2, epochs=30, condition="species"``): each is put in
    its section and checked there; an unknown one is refused naming it."""
    section_of = {f.name: s for s, kind in SECTIONS.items() for f in dataclasses.fields(kind)}
    sections: dict[str, dict[str, Any]] = {"data": {"source": source}}
    for key, value in options.items():
        if key not in section_of or key in RECORDED:
            known = sorted(set(section_of) - RECORDED)
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(known)}"
            raise VaekitError(f"{key}: unknown option ({hint})")
        if key == "condition" and isinstance(value, str):  # "region,age" as on the command line
            value = [name.strip() for name in value.split(",") if name.strip()]
        sections.setdefault(section_of[key], {})[key] = value
    return RunConfig.from_dict(sections, where="options")
