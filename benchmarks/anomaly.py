"""vaekit's anomaly scores against PyOD, side by side in one run: same rows, splits and seeds.

    python3 -m venv .bench && . .bench/bin/activate
    pip install torch==2.13.0 -e . pyod tqdm rdata     # PyOD only here, never in vaekit's deps
    python benchmarks/anomaly.py --seeds 5 --images     # the six tables
    python benchmarks/anomaly.py --table-defaults       # the same with vaekit's table defaults
    python benchmarks/anomaly.py --datasets --out benchmarks/results/anomaly-images.json
                                                        # the grey-level image cases only

Tables (Debian's r-cran-mlbench, read by benchmarks/anomaly_data.py; outliers as in ODDS):
each seed splits the rows 60/40 at random (PyOD's benchmark protocol), every detector is fitted
on the 60 % without labels (outliers included, as in practice) and scores the 40 %.

Images (benchmarks/grey_images.py: MNIST on its grey levels, and over random and textured
backgrounds): one digit is normal; detectors are fitted on that digit's training images and
score all 10,000 test images, the other digits being the anomalies; the figure is the mean over
the digits of the median over ``--image-seeds``. Also recorded: each score's rank correlation
with mean intensity and compressed length on the normal test images.

Detectors: vaekit's VAE scored by -log p(x) (K importance samples), -ELBO and the
reconstruction term (on images with the likelihood ``vaekit train`` picks, and with
``--likelihoods`` others, e.g. the Bernoulli that was the default before); PyOD's ``VAE`` with
its defaults (``random_state`` set to the seed; tables only), ``IForest`` (seeded) and ``KNN``
— IForest and KNN on features standardised with the fitted rows' mean and std, as PyOD's
benchmark does (its VAE standardises by itself). Prints ROC-AUC medians over seeds and writes
the results file after every dataset (or digit).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).parent))
import anomaly_data  # noqa: E402
import grey_images  # noqa: E402

import vaekit  # noqa: E402
from vaekit.core import progress  # noqa: E402
from vaekit.data.splits import load_splits  # noqa: E402
from vaekit.metrics.scores import complexity_correlations  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "anomaly.json"
VAEKIT_SCORES = ("nll", "elbo", "recon")
PYOD_VAE_ROWS = 5000  # larger tables are scored without PyOD's VAE
TABLE_STEPS = 1000  # optimiser steps for a table's VAE (3000 overfitted pima: 0.618 vs 0.672)


def vaekit_scores(
    train: pd.DataFrame | np.ndarray,
    test: pd.DataFrame | np.ndarray,
    seed: int,
    folder: Path,
    k: int,
    model: dict,
    epochs: int,
    data: dict | None = None,
    latent: bool = False,
) -> dict[str, np.ndarray]:
    """Train vaekit on ``train`` (a table or uint8 images) and score ``test`` three ways."""
    if isinstance(train, pd.DataFrame):
        source = folder / "train.csv"
        train.to_csv(source, index=False)
    else:
        source = folder / "train.npy"
        np.save(source, train)
    config = vaekit.RunConfig.from_dict(
        {
            "model": model,
            "data": {"source": str(source), **(data or {})},
            "train": {"epochs": epochs, "batch_size": 64, "seed": seed, "device": "cpu"},
        }
    )
    run = vaekit.train(config, folder / "run", force=True)
    scores = {f"vaekit {by}": run.score(test, by=by, k=k, seed=seed) for by in VAEKIT_SCORES}
    if latent:
        scores |= latent_scores(run, train, test, seed)
    return scores


def latent_scores(run, train: np.ndarray, test: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Latent-space density of the posterior means: -log N(mean; 0, I) under the prior, and
    -log of a 10-component Gaussian mixture fitted to the training means (scikit-learn)."""
    from sklearn.mixture import GaussianMixture

    train_codes, _ = run.encode(train)
    test_codes, _ = run.encode(test)
    mixture = GaussianMixture(10, random_state=seed).fit(train_codes)
    return {
        "vaekit latent prior": 0.5 * (test_codes**2).sum(axis=1),
        "vaekit latent gmm": -mixture.score_samples(test_codes),
    }


def pyod_scores(
    train: np.ndarray, test: np.ndarray, seed: int, with_vae: bool = True
) -> dict[str, np.ndarray]:
    from pyod.models.iforest import IForest
    from pyod.models.knn import KNN
    from pyod.models.vae import VAE

    mean, std = train.mean(0), train.std(0)
    std[std == 0] = 1.0
    scaled_train, scaled_test = (train - mean) / std, (test - mean) / std
    out = {}
    if with_vae:
        vae = VAE(random_state=seed, verbose=0)
        vae.fit(train)
        out["PyOD VAE"] = vae.decision_function(test)
    out["PyOD IForest"] = (
        IForest(random_state=seed).fit(scaled_train).decision_function(scaled_test)
    )
    out["PyOD KNN"] = KNN().fit(scaled_train).decision_function(scaled_test)
    return out


# Tables as documented in docs/anomaly.md (measured before the per-column likelihood and the
# quantile map became vaekit's defaults for tables); --table-defaults measures those instead.
DOCUMENTED_TABLES = ({"likelihood": "gaussian-learned"}, {"scaling": "standard"})


def table_run(
    name: str, seed: int, k: int, setting: tuple[dict, dict] = DOCUMENTED_TABLES
) -> dict[str, float]:
    features, outlier = anomaly_data.load(name)
    train, test, _, labels = train_test_split(features, outlier, test_size=0.4, random_state=seed)
    steps_per_epoch = math.ceil(len(train) * 0.9 / 64)  # vaekit holds 10 % out for validation
    model = {"latent_dim": min(4, features.shape[1] // 2), "hidden": [64, 32], **setting[0]}
    with tempfile.TemporaryDirectory() as tmp:
        scores = vaekit_scores(
            train,
            test,
            seed,
            Path(tmp),
            k,
            model,
            math.ceil(TABLE_STEPS / steps_per_epoch),
            setting[1],
        )
    # PyOD's VAE (100 epochs at batch 32) would take minutes per seed on shuttle's 29,000 rows
    with_vae = len(train) <= PYOD_VAE_ROWS
    scores |= pyod_scores(train.to_numpy(float), test.to_numpy(float), seed, with_vae)
    return {detector: float(roc_auc_score(labels, s)) for detector, s in scores.items()}


def image_run(
    case: str, digit: int, seed: int, k: int, epochs: int, likelihoods: list[str]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """One-class on an image case (grey_images.py): ``digit``'s training images are normal,
    all 10,000 test images are scored, the other digits being the anomalies. Returns ROC-AUC
    per detector and, per detector, its scores' rank correlation with mean intensity and
    compressed length on the normal test images (complexity_correlations)."""
    splits = load_splits(vaekit.DataConfig(source="mnist"))
    train_x = (splits.train.x.numpy()[:, 0] * 256).round().astype(np.uint8)  # the files' pixels
    train_x = train_x[splits.train.labels.numpy() == digit]
    test_x = (splits.test.x.numpy()[:, 0] * 256).round().astype(np.uint8)
    train_x = grey_images.with_background(train_x, case, seed=1000 * seed + digit)
    test_x = grey_images.with_background(test_x, case, seed=10_000 + seed)
    anomalous = splits.test.labels.numpy() != digit
    scores = {}
    for likelihood in likelihoods:  # "auto": what `vaekit train` picks (discretised here)
        model = {"latent_dim": 20, "hidden": [400], "likelihood": likelihood}
        tag = "vaekit" if likelihood == "auto" else f"vaekit[{likelihood}]"
        with tempfile.TemporaryDirectory() as tmp:
            ours = vaekit_scores(train_x, test_x, seed, Path(tmp), k, model, epochs, latent=True)
        scores |= {name.replace("vaekit", tag, 1): value for name, value in ours.items()}
    # Input complexity (Serra et al. 2020): -log p(x) minus the image's zlib-compressed length
    # in nats, so that an image is not "normal" merely for being simple to draw.
    complexity = np.array(
        [len(zlib.compress(image.tobytes(), 9)) * 8 * math.log(2) for image in test_x]
    )
    scores["vaekit nll - zlib"] = scores["vaekit nll"] - complexity
    flat = lambda a: a.reshape(len(a), -1).astype(np.float32) / 255  # noqa: E731
    scores |= pyod_scores(flat(train_x), flat(test_x), seed, with_vae=False)
    normal = test_x[~anomalous] / 255.0
    correlations = {
        name: complexity_correlations(np.asarray(s)[~anomalous], normal)
        for name, s in scores.items()
    }
    auc = {detector: float(roc_auc_score(anomalous, s)) for detector, s in scores.items()}
    return auc, correlations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--datasets", nargs="*", default=list(anomaly_data.NAMES))
    parser.add_argument("--k", type=int, default=1000, help="importance samples for tables")
    parser.add_argument(
        "--images", nargs="*", default=list(grey_images.CASES), choices=grey_images.CASES
    )
    parser.add_argument("--image-seeds", type=int, default=3, help="seeds per digit")
    parser.add_argument("--image-k", type=int, default=100)
    parser.add_argument("--image-epochs", type=int, default=20)
    parser.add_argument("--digits", nargs="*", type=int, default=list(range(10)))
    parser.add_argument(
        "--likelihoods",
        nargs="*",
        default=["auto", "bernoulli"],
        help="vaekit's likelihoods on images (auto: what vaekit train picks, discretised)",
    )
    parser.add_argument(
        "--table-defaults",
        action="store_true",
        help="tables with vaekit's defaults (per-column likelihood, quantile map), not the "
        "documented setting; writes anomaly-table-defaults.json",
    )
    parser.add_argument("--out", type=Path, default=None, help="the results file")
    args = parser.parse_args()
    setting = ({}, {}) if args.table_defaults else DOCUMENTED_TABLES
    default = RESULTS.with_name("anomaly-table-defaults.json") if args.table_defaults else RESULTS
    out = args.out or default
    progress.QUIET = True
    results: dict = {
        "date": time.strftime("%Y-%m-%d"),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "roc_auc": {},
    }
    for name in args.datasets:
        runs = [table_run(name, seed, args.k, setting) for seed in range(args.seeds)]
        results["roc_auc"][name] = _summarise(runs)
        _write(results, out)
        _print(results, out)
    for case in args.images:
        _image_case(case, args, results, out)


def _image_case(case: str, args: argparse.Namespace, results: dict, out: Path) -> None:
    """Every digit of one image case, ``--image-seeds`` each; the figure is the mean over
    digits of the medians over seeds, written after every digit."""
    per_digit: dict[int, dict] = {}
    correlations: dict[int, dict] = {}
    for digit in args.digits:
        runs = [
            image_run(case, digit, s, args.image_k, args.image_epochs, args.likelihoods)
            for s in range(args.image_seeds)
        ]
        per_digit[digit] = _summarise([auc for auc, _ in runs])
        correlations[digit] = {
            detector: {
                side: statistics.median(c[detector][side] for _, c in runs)
                for side in runs[0][1][detector]
            }
            for detector in runs[0][1]
        }
        detectors = list(per_digit[digit])
        results.setdefault("images", {})[case] = {
            "per_digit": per_digit,
            "complexity_correlations_per_digit": correlations,
            "complexity_correlations": {
                d: {
                    side: statistics.mean(c[d][side] for c in correlations.values())
                    for side in ("mean_intensity", "compressed_length")
                }
                for d in detectors
            },
        }
        results["roc_auc"][f"{case} (mean of digits)"] = {
            d: {"median": statistics.mean(v[d]["median"] for v in per_digit.values())}
            for d in detectors
        }
        _write(results, out)
    _print(results, out)


def _summarise(runs: list[dict[str, float]]) -> dict[str, dict]:
    return {
        d: {"median": statistics.median(r[d] for r in runs), "runs": [r[d] for r in runs]}
        for d in runs[0]
    }


def _write(results: dict, path: Path = RESULTS) -> None:
    """Into the results file, keeping the datasets this run did not measure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    earlier = json.loads(path.read_text()) if path.exists() else {}
    merged = {**earlier, **results, "roc_auc": {**earlier.get("roc_auc", {}), **results["roc_auc"]}}
    path.write_text(json.dumps(merged, indent=2) + "\n")


def _print(results: dict, out: Path = RESULTS) -> None:
    names = list(results["roc_auc"])
    detectors = dict.fromkeys(d for n in names for d in results["roc_auc"][n])
    print("\nROC-AUC (median over seeds)")
    print(f"{'detector':18s}" + "".join(f"{n[:12]:>13s}" for n in names) + f"{'mean':>9s}")
    for detector in detectors:
        values = [results["roc_auc"][n].get(detector, {}).get("median") for n in names]
        cells = "".join("            –" if v is None else f"{v:13.3f}" for v in values)
        known = [v for v in values if v is not None]
        print(f"{detector:18s}{cells}{statistics.mean(known):9.3f}")
    print(f"wrote {out}", flush=True)


if __name__ == "__main__":
    main()
