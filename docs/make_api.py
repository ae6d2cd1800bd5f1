"""Write docs/api.md from the docstrings of vaekit's public names.

    python docs/make_api.py          # rewrite docs/api.md
    python docs/make_api.py --check  # exit 1 if docs/api.md is not what the code says

tests/test_docs.py runs the check, so the page cannot go stale.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import sys
from pathlib import Path

import vaekit
from vaekit.data.splits import Dataset
from vaekit.models.base import Autoencoder, LossTerms

PAGE = Path(__file__).with_name("api.md")
MODEL_METHODS = (
    "encode",
    "decode",
    "loss",
    "sample",
    "reconstruct",
    "prior",
    "elbo",
    "log_likelihood",
    "parameter_count",
)


def _text(doc: str | None) -> str:
    """A docstring as Markdown: ``code`` -> `code`, :role:`name` -> `name`."""
    doc = inspect.cleandoc(doc or "")
    doc = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", doc)
    return doc.replace("``", "`").replace("::\n", ":\n")


def _signature(name: str, obj) -> str:
    """``name(a: int, b: str = 'x') -> T`` with the annotations as written, without ``self``."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return name
    parts = []
    for parameter in signature.parameters.values():
        if parameter.name == "self":
            continue
        text = parameter.name
        if parameter.annotation is not inspect.Parameter.empty:
            text += f": {_annotation(parameter.annotation)}"
        if parameter.default is not inspect.Parameter.empty:
            text += f" = {parameter.default!r}"
        parts.append(text)
    returns = signature.return_annotation
    arrow = "" if returns is inspect.Signature.empty else f" -> {_annotation(returns)}"
    return f"{name}({', '.join(parts)}){arrow}"


def _annotation(annotation) -> str:
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def _members(cls) -> list[tuple[str, object]]:
    """Public methods and properties defined by ``cls`` and its vaekit bases (a Run's codec),
    each class in source order."""
    out, seen = [], set()
    owners = [k for k in cls.__mro__ if k.__module__.startswith("vaekit")]
    for name, value in [item for owner in owners for item in vars(owner).items()]:
        if name.startswith("_") or name in seen:
            continue
        seen.add(name)
        if isinstance(value, (property, functools.cached_property)):
            out.append((name, value))
        elif inspect.isfunction(value) or isinstance(value, (classmethod, staticmethod)):
            out.append((name, getattr(value, "__func__", value)))
    return out


def _member_block(owner: str, name: str, value) -> list[str]:
    if isinstance(value, (property, functools.cached_property)):
        function = value.fget if isinstance(value, property) else value.func
        return [f"#### `{owner}.{name}` (property)", "", _text(function.__doc__), ""]
    return [f"#### `{owner}.{_signature(name, value)}`", "", _text(value.__doc__), ""]


def _config_fields(cls) -> list[str]:
    rows = ["| field | default | meaning |", "|---|---|---|"]
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        meaning = f.metadata.get("help", "").replace("|", "\\|")
        rows.append(f"| `{f.name}` | `{default!r}` | {meaning} |")
    return rows


def build() -> str:
    """The page's Markdown text."""
    lines = [
        "# Python API",
        "",
        "Generated from the docstrings by `python docs/make_api.py` (a test checks it is",
        "current). `import vaekit` gives the names below; the command line calls the same code.",
        "",
        "## `vaekit." + _signature("load", vaekit.load) + "`",
        "",
        _text(vaekit.load.__doc__),
        "",
        "## `vaekit." + _signature("fit", vaekit.fit) + "`",
        "",
        _text(vaekit.fit.__doc__),
        "",
        "## `vaekit." + _signature("train", vaekit.train) + "`",
        "",
        _text(vaekit.train.__doc__),
        "",
        "## `vaekit.Run`",
        "",
        _text(vaekit.Run.__doc__),
        "",
    ]
    for name, value in _members(vaekit.Run):
        lines += _member_block("Run", name, value)
    lines += ["## `vaekit.data.Dataset`", "", _text(Dataset.__doc__), ""]
    lines += [
        "## Models: `vaekit.models.Autoencoder`",
        "",
        _text(Autoencoder.__doc__),
        "",
        "`run.model` is one of these. Its methods (all tensors in model space):",
        "",
    ]
    for name in MODEL_METHODS:
        vae = vaekit.models.registry.VAE
        owner = vae if hasattr(vae, name) else Autoencoder
        lines += _member_block("model", name, getattr(owner, name))
    lines += ["### `LossTerms`", "", _text(LossTerms.__doc__), ""]
    lines += ["## Configuration", "", _text(vaekit.RunConfig.__doc__), ""]
    for cls in (vaekit.ModelConfig, vaekit.DataConfig, vaekit.TrainConfig):
        lines += [f"### `vaekit.{cls.__name__}`", "", _text(cls.__doc__), "", *_config_fields(cls)]
        lines.append("")
    lines += ["## `vaekit.VaekitError`", "", _text(vaekit.VaekitError.__doc__), ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = build()
    if "--check" in argv:
        if not PAGE.exists() or PAGE.read_text() != text:
            print(f"{PAGE} is out of date: run python docs/make_api.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text)
    print(f"wrote {PAGE} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
