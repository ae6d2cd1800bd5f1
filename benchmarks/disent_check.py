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
batches, so it is compared within sampling noise over seeds.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import subprocess
import sys
import tempfile
import types
import zipfile
from pathlib import Path

import numpy as np

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


def main() -> None:
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
    print(f"\n{'representation':28s}{'metric':22s}{'vaekit':>9s}{'disent':>9s}{'diff':>10s}")
    for r in rows:
        print(
            f"{r['representation']:28s}{r['metric']:22s}{r['vaekit']:9.4f}{r['disent']:9.4f}"
            f"{r['difference']:10.1e}"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"disent": "0.8.0", "rows": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
