"""vaekit's disentanglement metrics against disent's on the same codes and factors.

    python benchmarks/disent_check.py          # prints a table, writes results/disent_check.json

disent (PyTorch; https://github.com/nmichlo/disent) is used only here. Its wheel is fetched with
``pip download disent==0.8.0 --no-deps`` (checked against the SHA-256 below) and only its metric
files are loaded: the package's own imports pull torchvision and h5py, which the CPU torch of
this project cannot sit beside, so the few names those files import from the rest of disent are
given here (a dataset type used in annotations only, ``to_numpy``, ``wrapped_partial``).

The inputs are constructed representations of known factors: the factors themselves (one
dimension each, with noise), an even rotation of them, the factors with half the dimensions
swapped for noise, and codes that mix two factors per dimension. MIG, SAP and DCI take the same
arrays and the same train/test split on both sides; disent's FactorVAE score draws its own
batches, so it is compared within sampling noise over seeds: on the constructed codes of sprites'
factors, and, with ``--run RUN`` (a run trained on ``--data sprites``), on that VAE's codes of
freshly rendered sprites, both sides given the same renderer and encoder.

    python benchmarks/disent_check.py --run runs/tc   # adds the FactorVAE score on VAE codes
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import types
import zipfile
from pathlib import Path

import numpy as np

from vaekit.data import sprites
from vaekit.metrics import disentanglement as ours

WHEEL = "disent-0.8.0-py3-none-any.whl"
WHEEL_SHA256 = "45c35d3490cd6c0c09afa5c63a518ea7f79a9dbf94ec05976d217a2fb3227c66"
RESULTS = Path(__file__).parent / "results" / "disent_check.json"
FILES = ("utils", "_mig", "_dci", "_sap", "_factor_vae")


def load_disent_metrics(folder: Path) -> dict[str, types.ModuleType]:
    """disent's metric modules from its wheel, with the rest of disent stood in for."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "disent==0.8.0", "--no-deps", "-q", "-d", folder],
        check=True,
    )
    wheel = folder / WHEEL
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: SHA-256 {digest}, expected {WHEEL_SHA256}")
    root = folder / "disent"
    with zipfile.ZipFile(wheel) as archive:
        for name in FILES:
            archive.extract(f"disent/metrics/{name}.py", folder)
    stubs = {
        "disent": types.ModuleType("disent"),
        "disent.dataset": types.ModuleType("disent.dataset"),
        "disent.util": types.ModuleType("disent.util"),
        "disent.util.function": types.ModuleType("disent.util.function"),
        "disent.metrics": types.ModuleType("disent.metrics"),
    }
    stubs["disent.dataset"].DisentDataset = object
    stubs["disent.util"].to_numpy = np.asarray
    stubs["disent.util.function"].wrapped_partial = functools.partial
    stubs["disent.metrics"].__path__ = [str(root / "metrics")]
    sys.modules.update(stubs)
    modules = {}
    for name in FILES:
        spec = importlib.util.spec_from_file_location(
            f"disent.metrics.{name}", root / "metrics" / f"{name}.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        setattr(stubs["disent.metrics"], name, module)
        modules[name] = module
    return modules


def representations(n: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Named (codes, factors) pairs with known structure."""
    rng = np.random.default_rng(seed)
    sizes = [3, 6, 10, 8, 8]
    factors = np.stack([rng.integers(0, s, n) for s in sizes], axis=1)
    scaled = (factors - factors.mean(0)) / factors.std(0)
    noise = rng.standard_normal(scaled.shape)
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    half = scaled.copy()
    half[:, 2:] = noise[:, 2:]
    pairs = np.stack([scaled[:, i] + scaled[:, (i + 1) % 5] for i in range(5)], axis=1)
    return {
        "the factors": (scaled + 0.05 * noise, factors),
        "a rotation of them": (scaled @ q, factors),
        "two factors, three noise": (half, factors),
        "two factors per dimension": (pairs + 0.05 * noise, factors),
    }


def compare(disent: dict, codes: np.ndarray, factors: np.ndarray, seed: int) -> dict:
    """Both sides' MIG, SAP and DCI on the same arrays and split."""
    train, test = ours.split_indices(len(codes), 0.5, seed)
    c_train, c_test = codes[train].T, codes[test].T
    f_train, f_test = factors[train].T, factors[test].T
    theirs_mig = disent["_mig"]._compute_mig(codes.T, factors.T)["mig.discrete_score"]
    theirs_sap = disent["_sap"]._compute_sap(c_train, f_train, c_test, f_test, False)
    theirs_dci = disent["_dci"]._compute_dci(c_train, f_train, c_test, f_test)
    mine_dci = ours.dci(codes, factors, seed=seed)
    return {
        "mig": (ours.mig(codes, factors)["score"], float(theirs_mig)),
        "sap": (ours.sap(codes, factors, seed=seed)["score"], float(theirs_sap["sap.score"])),
        "dci disentanglement": (
            mine_dci["disentanglement"],
            float(theirs_dci["dci.disentanglement"]),
        ),
        "dci completeness": (mine_dci["completeness"], float(theirs_dci["dci.completeness"])),
        "dci informativeness": (
            mine_dci["informativeness"],
            float(theirs_dci["dci.informativeness_test"]),
        ),
    }


class SpritesGroundTruth:
    """What disent's FactorVAE score asks of a dataset, served by vaekit's sprites: factors
    drawn uniformly (with numpy's global generator, as disent draws), observations rendered
    (or, for constructed codes, the factor indices themselves)."""

    def __init__(self, render: bool) -> None:
        self.gt_data = self
        self.num_factors = len(sprites.SIZES)
        self.render = render

    def sample_factors(self, n: int) -> np.ndarray:
        return np.stack([np.random.randint(0, size, n) for size in sprites.SIZES], axis=1)

    def dataset_batch_from_factors(self, factors: np.ndarray, mode: str) -> np.ndarray:
        return sprites.render(factors) if self.render else np.asarray(factors, dtype=float)

    def dataset_sample_batch(self, n: int, mode: str) -> np.ndarray:
        return self.dataset_batch_from_factors(self.sample_factors(n), mode)


VOTES = {"train": 800, "test": 800, "spread": 10_000}


def factor_vae_rows(disent: dict, run_path: Path | None, seeds: int) -> list[dict]:
    """Both sides' FactorVAE score, medians over ``seeds``: on constructed codes of sprites'
    factors (the factors; a rotation of them) and on a trained run's codes."""
    rotation, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((5, 5)))
    steps = np.array(sprites.SIZES, dtype=float)
    cases = {
        "sprites' factors": (False, lambda f: np.asarray(f) / steps),
        "a rotation of them": (False, lambda f: (np.asarray(f) / steps) @ rotation),
    }
    if run_path is not None:
        import vaekit

        run = vaekit.load(run_path)
        cases[f"VAE codes ({run.config.model.model})"] = (True, lambda x: run.encode(x)[0])
    rows = []
    for name, (render, represent) in cases.items():
        mine, theirs = [], []
        for seed in range(seeds):
            np.random.seed(seed)
            score = disent["_factor_vae"].metric_factor_vae(
                SpritesGroundTruth(render),
                lambda x, represent=represent: represent(x),
                num_train=VOTES["train"],
                num_eval=VOTES["test"],
                num_variance_estimate=VOTES["spread"],
            )
            theirs.append(float(score["factor_vae.eval_accuracy"]))
            ours_source = ours.Interventions(
                list(sprites.SIZES),
                (lambda f, represent=represent: represent(sprites.render(f)))
                if render
                else (lambda f, represent=represent: represent(f)),
            )
            mine.append(
                ours.factor_vae_score(
                    ours_source,
                    seed=seed,
                    train_votes=VOTES["train"],
                    test_votes=VOTES["test"],
                    spread_examples=VOTES["spread"],
                )["score"]
            )
        rows.append(
            {
                "representation": name,
                "metric": f"factor_vae score (median of {seeds} seeds)",
                "vaekit": statistics.median(mine),
                "disent": statistics.median(theirs),
                "difference": statistics.median(mine) - statistics.median(theirs),
                "vaekit_seeds": mine,
                "disent_seeds": theirs,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a run trained on --data sprites")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        disent = load_disent_metrics(Path(tmp))
        rows = []
        for name, (codes, factors) in representations(4000, seed=0).items():
            for metric, (mine, theirs) in compare(disent, codes, factors, seed=0).items():
                rows.append(
                    {
                        "representation": name,
                        "metric": metric,
                        "vaekit": mine,
                        "disent": theirs,
                        "difference": mine - theirs,
                    }
                )
        rows += factor_vae_rows(disent, args.run, args.seeds)
    print(f"\n{'representation':28s}{'metric':22s}{'vaekit':>9s}{'disent':>9s}{'diff':>10s}")
    for r in rows:
        print(
            f"{r['representation']:28s}{r['metric']:22s}{r['vaekit']:9.4f}{r['disent']:9.4f}"
            f"{r['difference']:10.1e}"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    setting = {"factor_vae_votes": VOTES, "seeds": args.seeds, "run": str(args.run)}
    record = {"disent": "0.8.0", "setting": setting, "rows": rows}
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
