"""How a command and its options are declared: ``Command``, the options generated from the
config dataclasses (``vaekit train``'s), the options several commands share, and the helpers
that read them."""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

from vaekit.config.files import SECTIONS, merge, read_config_file
from vaekit.config.model import ModelConfig
from vaekit.config.options import check_value
from vaekit.config.run import RunConfig
from vaekit.core.errors import VaekitError, fail
from vaekit.runs.run import Run, load

HIDDEN_FIELDS = {
    ("model", "input_shape"),
    ("model", "condition_dim"),
    ("model", "layout"),
    ("data", "schema"),
    ("data", "location"),
    ("data", "columns"),
    ("data", "condition"),
}
Parser = argparse.ArgumentParser
RENAMED = {("data", "source"): "--data"}
# What a config option's value is, shown in --help; the rest: N (integers), X (other numbers).
METAVARS = {
    ("model", "k"): "K",
    ("data", "source"): "NAME|PATH",
    ("data", "labels"): "PATH|NAME",
    ("data", "split_seed"): "SEED",
    ("train", "seed"): "SEED",
    ("train", "init_from"): "RUN",
}


@dataclasses.dataclass(frozen=True)
class Command:
    """One verb: its one-line help, what sets up its options, what runs it, two examples."""

    name: str
    help: str
    options: typing.Callable[[argparse.ArgumentParser], None] | None
    func: typing.Callable[[argparse.Namespace], None] | None
    examples: tuple[str, str]
    takes_run: bool = True  # a RUN folder and --weights come first
    actions: tuple[Command, ...] = ()  # `vaekit data prepare`: commands of a command


def option_name(section: str, name: str) -> str:
    """The command-line option of a config field, e.g. ``--latent-dim``."""
    return RENAMED.get((section, name), "--" + name.replace("_", "-"))


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """One command-line option per config field, generated from the dataclasses."""
    for section, kind in SECTIONS.items():
        group = parser.add_argument_group(f"{section} options")
        hints = typing.get_type_hints(kind)
        for f in dataclasses.fields(kind):
            if (section, f.name) in HIDDEN_FIELDS:
                continue
            hint = hints[f.name]
            base = hint
            if typing.get_origin(hint) in (typing.Union, types.UnionType):  # X | None -> X
                base = next(a for a in typing.get_args(hint) if a is not type(None))
            kwargs: dict[str, Any] = {"dest": f"{section}.{f.name}", "default": None}
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            kwargs["help"] = f"{f.metadata.get('help', '')} (default: {default})".strip()
            if typing.get_origin(base) is list:
                kwargs.update(nargs="+", type=typing.get_args(base)[0], metavar="N")
            elif base is bool:
                kwargs["action"] = argparse.BooleanOptionalAction
            else:
                kwargs["type"] = base
                if f.metadata.get("choices"):
                    kwargs["choices"] = f.metadata["choices"]
                else:  # not the dest, MODEL.LATENT_DIM
                    kwargs["metavar"] = METAVARS.get(
                        (section, f.name), "N" if base is int else "X" if base is float else "NAME"
                    )
            if (section, f.name) == ("train", "compile"):
                # --compile alone still means on, and --no-compile off, as before auto
                kwargs.update(nargs="?", const="on", metavar="{auto,on,off}")
                group.add_argument(
                    "--no-compile",
                    dest=kwargs["dest"],
                    action="store_const",
                    const="off",
                    help="the same as --compile off",
                )
            group.add_argument(option_name(section, f.name), **kwargs)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """Defaults, then the --config file, then command-line options (each overrides the last)."""
    raw: dict[str, Any] = read_config_file(args.config) if args.config else {}
    overrides: dict[str, dict[str, Any]] = {}
    for section, kind in SECTIONS.items():
        hints = typing.get_type_hints(kind)
        for f in dataclasses.fields(kind):
            value = getattr(args, f"{section}.{f.name}", None)
            if value is not None:
                check_value(value, hints[f.name], f.metadata, option_name(section, f.name))
                overrides.setdefault(section, {})[f.name] = value
    merged = merge(raw, overrides)
    if getattr(args, "column", None):
        columns = dict(merged.get("data", {}).get("columns") or {})
        for item in args.column:
            name, sep, spec = item.partition("=")
            if not sep or not name or not spec:
                raise VaekitError(
                    f"--column: expected NAME=KIND (or =label, =ignored), got {item!r}; "
                    "e.g. --column rooms=categorical"
                )
            columns[name] = spec
        merged = merge(merged, {"data": {"columns": columns}})
    if getattr(args, "rule", None):
        rules = list(merged.get("data", {}).get("rules") or [])
        merged = merge(merged, {"data": {"rules": rules + list(args.rule)}})
    if getattr(args, "condition", None):
        names = [name.strip() for name in args.condition.split(",") if name.strip()]
        if not names:
            raise VaekitError(
                f"--condition: expected COLUMN[,COLUMN], got {args.condition!r}; e.g. "
                "--condition label (images) or --condition region,age (table columns)"
            )
        merged = merge(merged, {"data": {"condition": names}})
    chosen = merged.get("model", {}).get("model", ModelConfig.model)
    for f in dataclasses.fields(ModelConfig):
        models = f.metadata.get("models")
        if f.name in overrides.get("model", {}) and models and chosen not in models:
            raise VaekitError(
                f"{option_name('model', f.name)}: does not apply to model {chosen!r} "
                f"(it is for: {', '.join(models)}); leave it out or choose one of those "
                "with --model"
            )
    return RunConfig.from_dict(merged, where=args.config or "config")


# Options more than one command takes.


def number_option(
    sub: Parser, flag: str, words: str, default: int | None = None, metavar: str = "N"
) -> None:
    """An integer option; its help is ``words``, then the ``default`` where it has one."""
    more = "" if default is None else f" (default: {default})"
    sub.add_argument(flag, type=int, default=default, metavar=metavar, help=words + more)


def output_option(
    sub: Parser, words: str, default: str | None = None, required: bool = False
) -> None:
    """``-o/--output FILE``; its help is ``words``, then the ``default`` where it has one."""
    more = "" if default is None else f" (default: {default})"
    sub.add_argument(
        "-o", "--output", default=default, required=required, metavar="FILE", help=words + more
    )


def sampler_option(sub: argparse.ArgumentParser, purpose: str = "") -> None:
    """``--sampler``: where generated codes come from (``purpose`` opens its help)."""
    sub.add_argument(
        "--sampler",
        choices=("auto", "prior", "gmm"),
        default="auto",
        help=f"{purpose}codes from the prior (N(0, I)), or from a Gaussian mixture fitted "
        "to the training codes (a conditional run: to each value's codes); auto (default): "
        "gmm for conditional runs, prior otherwise",
    )


def condition_option(sub: argparse.ArgumentParser, given: bool = False) -> None:
    """``--condition``: what to generate, or (``given``) the condition of data that lacks it."""
    words = (
        "conditional runs: the condition of every example when the data has none (no labels, "
        "no condition column)"
        if given
        else "conditional runs: what to generate; default: drawn from the training data"
    )
    sub.add_argument(
        "--condition",
        metavar="VALUE",
        help=f"{words}; a value (--condition 3) or column=value pairs "
        "(--condition region=south,age=40)",
    )


def data_option(sub: argparse.ArgumentParser, default: str | None = None) -> None:
    """``--data``: one of the run's splits, or a file the run's schema maps."""
    sub.add_argument(
        "--data",
        default=default,
        metavar="SPLIT|PATH",
        help="train, val, test (the run's own splits) or a file/folder, mapped by the run's "
        "schema (default: "
        + (default or "the held-out split: test where the data has one, else val")
        + ")",
    )


# Reading what the options say.


def load_run(args: argparse.Namespace) -> Run:
    """The RUN folder with the ``--weights`` asked for."""
    return load(args.run, weights=args.weights)


def condition_value(text: str | None) -> str | None:
    """``--condition`` as given: a value (``3``) or names and values (``region=south``)."""
    if text is not None and not text.strip():
        raise VaekitError("--condition: empty; give a value, e.g. --condition 3 or region=south")
    return text


def check_suffix(path: Path, allowed: tuple[str, ...]) -> None:
    """Refuse an output file whose suffix is not one of ``allowed`` (e.g. ``(".png",)``)."""
    if path.suffix.lower() not in allowed:
        raise fail(path, f"output must end in {' or '.join(allowed)}")
