"""Commands that draw a run: plot, report, explore."""

from __future__ import annotations

import argparse
from pathlib import Path

from vaekit.cli import options
from vaekit.core import progress
from vaekit.core.errors import VaekitError
from vaekit.runs.run import load
from vaekit.views.plot_kinds import KINDS


def cmd_plot(args: argparse.Namespace) -> None:
    """Draw one picture of the run (``plot compare``: beside the runs ``--with``)."""
    from vaekit.views.plots import save_plot

    run = options.load_run(args)
    others = [load(p) for p in (args.others or [])]
    if args.kind == "compare" and not others:
        raise VaekitError("plot compare: name the other runs with --with RUN [RUN ...]")
    if others and args.kind != "compare":
        raise VaekitError(f"--with: only for plot compare, not {args.kind}")
    out = Path(args.output or f"{args.kind}.png")
    options.check_suffix(out, (".png",))
    extra = {"others": others} if others else {}
    if args.page != 1:
        extra["page"] = args.page
    if args.kind == "latent":
        extra["projection"] = args.projection
    if args.sampler != "auto":
        if args.kind != "conditional":
            raise VaekitError(f"--sampler: only for plot conditional, not {args.kind}")
        extra["sampler"] = args.sampler
    if args.kind in ("marginals", "pairs") and args.data is not None:
        extra["source"] = args.data  # the real rows the synthetic ones are drawn against
    save_plot(run, args.kind, out, data=run.data(args.data), **extra)
    progress.log(f"wrote {out}")


def cmd_report(args: argparse.Namespace) -> None:
    """Write the run's self-contained HTML report."""
    from vaekit.views.report import write_report

    path = write_report(options.load_run(args), Path(args.output) if args.output else None)
    progress.log(f"wrote {path} (open it in a browser; it is self-contained)")


def cmd_explore(args: argparse.Namespace) -> None:
    """Serve a local web page to move through the run's latent space."""
    from vaekit.views.explore import serve

    serve(options.load_run(args), host=args.host, port=args.port)


def _plot_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "kind", choices=KINDS, metavar="KIND", help="which picture: " + ", ".join(KINDS)
    )
    options.output_option(sub, "PNG file (default: KIND.png)")
    options.data_option(sub)
    sub.add_argument(
        "--with",
        dest="others",
        nargs="+",
        metavar="RUN",
        help="other runs to compare (plot compare)",
    )
    options.number_option(
        sub, "--page", "tables with many columns: which page of columns to draw", 1
    )
    options.sampler_option(sub, "plot conditional: ")
    sub.add_argument(
        "--projection",
        choices=("pca", "tsne"),
        default="pca",
        help="latent: how to project more than 2 dimensions (default: pca)",
    )


def _report_options(sub: argparse.ArgumentParser) -> None:
    options.output_option(sub, "HTML file (default: RUN/report.html)")


def _explore_options(sub: argparse.ArgumentParser) -> None:
    options.number_option(sub, "--port", "port", 8000, "PORT")
    sub.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="address to bind (default: 127.0.0.1, this machine only)",
    )


PLOT = options.Command(
    "plot",
    f"draw one picture of the run: {', '.join(KINDS)}",
    _plot_options,
    cmd_plot,
    (
        "vaekit plot runs/digits manifold -o manifold.png",
        "vaekit plot runs/vae compare --with runs/ae runs/pca -o compare.png",
    ),
)
REPORT = options.Command(
    "report",
    "one self-contained HTML page: run, evaluation, every plot",
    _report_options,
    cmd_report,
    ("vaekit report runs/digits", "vaekit report runs/digits --weights last -o last.html"),
)
EXPLORE = options.Command(
    "explore",
    "a local web page to move through the latent space",
    _explore_options,
    cmd_explore,
    ("vaekit explore runs/digits", "vaekit explore runs/mnist-c --port 8080"),
)
