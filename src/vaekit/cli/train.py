"""``vaekit train``: a new run, a resumed one, or either under torchrun (``--nproc``)."""

from __future__ import annotations

import argparse
import sys
import time

from vaekit.cli import options
from vaekit.core import progress
from vaekit.core.errors import VaekitError


def cmd_train(args: argparse.Namespace) -> None:
    """Train (or ``--resume``) a run, then write its report unless ``--no-report``."""
    from vaekit.api import resume, train

    if args.nproc is not None:  # a new run or a resumed one, under torchrun
        launch_distributed(args)
        return
    if args.resume:
        given = [
            options.option_name(*key.split(".", 1))
            for key, value in vars(args).items()
            if "." in key and value is not None and key != "train.epochs"
        ]
        given += [f"--{k}" for k in ("column", "condition", "config", "force") if getattr(args, k)]
        if given:
            raise VaekitError(
                f"--resume: takes only --epochs (to extend the run), not {', '.join(given)}"
            )
        run = resume(args.resume, epochs=getattr(args, "train.epochs"))
    else:
        run = train(options.config_from_args(args), args.out, force=args.force)
    if args.report and run is not None:  # rank 0 only under torchrun
        from vaekit.views.report import write_report

        started = time.perf_counter()
        path = write_report(run)
        progress.log(f"report: {path} ({time.perf_counter() - started:.1f} s)")


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
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += [f"--nproc-per-node={args.nproc}", "-m", "vaekit", *rest]
    done = subprocess.run(command)
    if done.returncode != 0:
        raise VaekitError(
            f"--nproc {args.nproc}: torchrun exited with status {done.returncode} (its processes' "
            "messages are above)"
        )


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
    options.number_option(
        sub, "--nproc", "train with N processes here via torchrun and DistributedDataParallel"
    )
    sub.add_argument(
        "--resume", metavar="RUN", help="continue RUN from its last checkpoint (--epochs extends)"
    )
    options.add_config_options(sub)
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
        help="tables: set a column's kind (continuous, integer, datetime[:FORMAT], binary, "
        "categorical, id, constant, ignored), role (feature, label, condition) or "
        "missing=indicator; repeat for more columns, e.g. --column zip=ignored --column "
        "day=datetime:%%d/%%m/%%Y",
    )
    sub.add_argument(
        "--rule",
        action="append",
        metavar="RULE",
        help="tables: a rule every generated row obeys; repeat for more, e.g. --rule "
        "'start_date <= end_date' --rule 'fixed: species, island' --rule 'total = a + b' "
        "--rule 'missing: salary when placed = False'",
    )


TRAIN = options.Command(
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
)
