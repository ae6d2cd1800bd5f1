"""Commands that examine runs: info, evaluate, score, compare."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from vaekit.cli import options
from vaekit.core import progress
from vaekit.core.errors import VaekitError
from vaekit.core.files import save_array
from vaekit.evaluation.evaluate import evaluate_run
from vaekit.metrics.calibration import Calibration
from vaekit.runs.folder import EVALUATION
from vaekit.runs.run import Run, load
from vaekit.views.summaries import COMPARE_KEYS, evaluation_rows, info_rows, render_evaluation


def cmd_info(args: argparse.Namespace) -> None:
    """Print the run's config, size, data and final metrics (``--json``: config and summary)."""
    run = options.load_run(args)
    rows = info_rows(run)
    if args.json:
        print(json.dumps({"config": run.config.to_dict(), "summary": run.summary}, indent=2))
        return
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    """Evaluate the run, record the result in RUN/evaluation.jsonl and print it."""
    import torch

    from vaekit.core.distributed import join, leave
    from vaekit.core.files import append_line, atomic_write_json

    run = options.load_run(args)
    cluster, _ = join(torch.device("cpu"))  # under torchrun: log p(x) is sharded over ranks
    try:
        result = _evaluate(run, args, target=args.target)
    finally:
        leave(cluster)
    if not cluster.main:
        return
    append_line(run.path / EVALUATION, json.dumps(result))
    if args.json:
        atomic_write_json(Path(args.json), result)
    print(render_evaluation(result))


def cmd_score(args: argparse.Namespace) -> None:
    """Write each example's anomaly score (and flags) to a CSV; print how they spread."""
    from vaekit.data.table import Table, write_csv
    from vaekit.metrics.scores import detection_quality, score_table

    run = options.load_run(args)
    out = Path(args.output)
    options.check_suffix(out, (".csv",))
    if args.plot:
        options.check_suffix(Path(args.plot), (".png",))  # before anything is written
    calibration = _calibration_for(run, args)
    data = run.data(args.data, options.condition_value(args.condition))
    scores = run.score(data, by=args.by, k=args.k, seed=args.seed)
    threshold = calibration.threshold(args.fpr) if calibration else None
    labels, classes = data.labels, run.schema.classes
    table = score_table(scores, args.contamination, labels, classes, args.normal, threshold)
    columns = dict(table.columns)
    if calibration is not None:
        columns["p_value"] = calibration.p_values(scores)
    explained = run.explain(data) if args.explain else None
    if explained is not None:
        columns.update(_explanations(run, explained, out))
    write_csv(Table(list(columns), list(columns.values()), str(out)), out)
    median, p90, p99 = table.quantiles
    threshold, anomalous = table.threshold, table.anomalous
    where = run.split_label(args.data)
    print(f"scored {len(scores)} examples of the {where} by {args.by}; wrote {out}")
    print(f"score median {median:.3f}, 90% {p90:.3f}, 99% {p99:.3f} nats")
    if run.kind == "image":
        _print_complexity(scores, data.x.numpy())
    if calibration is not None:
        flagged = int(table.columns["flagged"].sum())
        print(
            f"threshold {threshold:.3f} (false-alarm rate {args.fpr:.1%} on normal data, from "
            f"{calibration.n} calibration examples): {flagged} of {len(scores)} flagged"
        )
    elif threshold is not None:
        flagged = int(table.columns["flagged"].sum())
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
        shown = {"scores": scores, "by": args.by, "anomalous": anomalous, "threshold": threshold}
        if run.kind == "image":
            shown["explained"] = explained
        save_plot(run, "scores", plot, data=data, **shown)
        progress.log(f"wrote {plot}")


def _print_complexity(scores: np.ndarray, images: np.ndarray) -> None:
    """How much the scores track an image's ink and detail rather than its unusualness."""
    from vaekit.metrics.scores import complexity_correlations

    rho = complexity_correlations(scores, images)
    print(
        f"rank correlation of the scores with mean intensity {rho['mean_intensity']:+.2f}, "
        f"with compressed length {rho['compressed_length']:+.2f} (near 0: the score is not "
        "about how much ink or detail an image has)"
    )


def _calibration_for(run: Run, args: argparse.Namespace) -> Calibration | None:
    """``--fpr``: the run's calibration, whose score (by, K, seed) this one is computed with."""
    if args.fpr is None:
        args.by = args.by or "nll"
        return None
    if args.contamination is not None:
        raise VaekitError(
            "--fpr and --contamination: give one (--fpr: a false-alarm rate on normal data; "
            "--contamination: the share of this file to flag)"
        )
    calibration = run.calibration
    if calibration is None:
        raise VaekitError(
            f"--fpr: {run.path} is not calibrated; run vaekit calibrate {run.path} --data "
            "NORMAL (normal examples kept apart from training) first"
        )
    if args.by not in (None, calibration.by):
        raise VaekitError(
            f"--by {args.by}: the calibration scored by {calibration.by}; leave --by out, or "
            f"calibrate again with --by {args.by}"
        )
    args.by, args.k, args.seed = calibration.by, calibration.k, calibration.seed
    calibration.threshold(args.fpr)  # too few calibration examples: refused before scoring
    return calibration


def cmd_calibrate(args: argparse.Namespace) -> None:
    """Score normal data kept apart from training and keep the scores with the run."""
    run = options.load_run(args)
    source = args.data
    if source is None:
        raise VaekitError(
            "--data: name normal data kept apart from training (a file, or the test split); "
            "the default held-out split picked the weights"
        )
    data = run.data(source) if source == "test" else source
    record = run.calibrate(data, by=args.by or "nll", k=args.k, seed=args.seed)
    fprs = [a for a in (0.01, 0.05, 0.1) if record.can_set(a)]
    thresholds = ", ".join(f"{a:.0%}: {record.threshold(a):.3f}" for a in fprs)
    print(
        f"calibrated {run.path} on {record.n} normal examples of the {run.split_label(source)} "
        f"by {record.by} (K = {record.k}); thresholds by false-alarm rate: {thresholds or 'none'}"
    )
    print(f"wrote {run.path / 'calibration.json'}; flag new data with vaekit score --fpr 0.05")


def _calibrate_options(sub: argparse.ArgumentParser) -> None:
    options.data_option(sub)
    _score_kind_options(sub)


def _explanations(run: Run, explained: Any, out: Path) -> dict[str, np.ndarray]:
    """``--explain``: a table's top column and each column's nats, for the score CSV; an image
    run's per-pixel nats go to their own .npy beside it (nothing for the CSV)."""
    if run.kind != "table":
        path = out.with_name(out.stem + "-explained.npy")
        save_array(path, explained.astype(np.float32))
        progress.log(f"wrote {path} {explained.shape}: nats of -log p(x|z) per pixel")
        return {}
    names, values = list(explained.columns), explained.to_numpy()
    # The top column: the one most above its usual cost (its median over training rows).
    excess = values - run.typical_parts
    top = np.array([names[i] for i in excess.argmax(axis=1)], dtype=object)
    return {"top column": top, **{f"{name} nats": values[:, i] for i, name in enumerate(names)}}


def cmd_compare(args: argparse.Namespace) -> None:
    """Evaluate several runs and print their numbers side by side."""
    results = [dict(evaluation_rows(_evaluate(load(path), args))) for path in args.runs]
    keys = [k for k in COMPARE_KEYS if any(k in r for r in results)]
    # A column per run: its folder's name, then each figure without its note in brackets.
    columns = [
        [Path(path).name] + [r.get(k, "–").split("  (")[0] for k in keys]
        for path, r in zip(args.runs, results, strict=True)
    ]
    widths = [max(map(len, column)) for column in columns]
    label = max(len(k) for k in keys)
    for key, *cells in zip(["", *keys], *columns, strict=True):  # the names first, unlabelled
        padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=True)]
        print(key.ljust(label) + "  " + "  ".join(padded))


def _evaluate(run: Run, args: argparse.Namespace, **more: Any) -> dict[str, Any]:
    """``evaluate_run`` as the options of :func:`_evaluation_options` ask."""
    chosen = {name: getattr(args, name) for name in ("k", "samples", "seed", "limit")}
    return evaluate_run(run, source=args.data, **chosen, **more)


def _evaluation_options(sub: argparse.ArgumentParser) -> None:
    options.data_option(sub)
    options.number_option(sub, "--k", "importance samples per point for log p(x)", 1000, "K")
    options.number_option(
        sub,
        "--samples",
        "samples judged for sample quality (prior codes), and for a conditional run's "
        "accuracy (prior and gmm codes)",
        10000,
    )
    options.number_option(sub, "--limit", "use only the first N examples")
    options.number_option(sub, "--seed", "seed of every random draw", 0, "SEED")


def _info_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--json", action="store_true", help="print config and summary as JSON")


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
    options.data_option(sub)
    options.condition_option(sub, given=True)
    options.output_option(sub, "CSV of row, score (and flags)", required=True)
    _score_kind_options(sub)
    sub.add_argument(
        "--fpr",
        type=float,
        default=None,
        metavar="RATE",
        help="flag at this false-alarm rate on normal data (e.g. 0.05), from the run's "
        "calibration (vaekit calibrate); adds p_value and flagged columns",
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
    sub.add_argument(
        "--explain",
        action="store_true",
        help="which part made each example unusual: tables add each column's nats of "
        "-log p(x|z) and the top column; images write the per-pixel nats to FILE-explained.npy",
    )


def _score_kind_options(sub: argparse.ArgumentParser) -> None:
    """How a score is computed: ``--by``, ``--k``, ``--seed`` (score and calibrate alike)."""
    sub.add_argument(
        "--by",
        choices=("nll", "elbo", "recon"),
        default=None,
        help="nll: -log p(x), importance-sampled (default); elbo: -ELBO, one draw; recon: "
        "-log p(x|z) at the posterior mean",
    )
    options.number_option(sub, "--k", "importance samples per example for nll", 1000, "K")
    options.number_option(sub, "--seed", "seed of the noise", 0, "SEED")


def _compare_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("runs", nargs="+", metavar="RUN", help="run folders")
    _evaluation_options(sub)


INFO = options.Command(
    "info",
    "the run's config, size, data and final metrics",
    _info_options,
    cmd_info,
    ("vaekit info runs/digits", "vaekit info runs/digits --json"),
)
EVALUATE = options.Command(
    "evaluate",
    "ELBO, log-likelihood, latent health, sample quality",
    _evaluate_options,
    cmd_evaluate,
    (
        "vaekit evaluate runs/digits --k 1000 --json eval.json",
        "vaekit evaluate runs/mnist-vae --data test --limit 1000 --seed 1",
    ),
)
SCORE = options.Command(
    "score",
    "anomaly scores: how unusual each example is (higher = more)",
    _score_options,
    cmd_score,
    (
        "vaekit score runs/mnist --data test --normal 3 --plot scores.png -o s.csv",
        "vaekit score runs/tx --data new.csv --fpr 0.05 --explain -o scores.csv",
    ),
)
CALIBRATE = options.Command(
    "calibrate",
    "score normal data kept apart, for a threshold with a known false-alarm rate",
    _calibrate_options,
    cmd_calibrate,
    (
        "vaekit calibrate runs/tx --data normal-held-out.csv --k 100",
        "vaekit calibrate runs/mnist --data test --by recon",
    ),
)
COMPARE = options.Command(
    "compare",
    "evaluate several runs side by side",
    _compare_options,
    cmd_compare,
    (
        "vaekit compare runs/vae runs/ae runs/pca --k 200",
        "vaekit compare runs/vae runs/iwae --data test --limit 1000",
    ),
    takes_run=False,
)
