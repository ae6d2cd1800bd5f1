"""How disentangled a representation is, given the true factors of variation: MIG, SAP, DCI
(from codes and factors), and the FactorVAE and beta-VAE scores (from interventions: batches with
one factor held fixed, drawn by :class:`Interventions`).

Definitions follow Locatello et al. (2019)'s disentanglement_lib, which the field compares with:

- **MIG** (Chen et al. 2018): per factor, the gap between the two largest mutual informations
  with single code dimensions, over the factor's entropy; the mean over factors.
- **SAP** (Kumar et al. 2018): per factor, the gap between the two best single-dimension
  predictions of it (balanced accuracy of a linear classifier); the mean over factors.
- **DCI** (Eastwood & Williams 2018): gradient-boosted trees predict each factor from the whole
  code; their feature importances R (dimensions x factors) give disentanglement (each
  dimension's importance spread over few factors: 1 - entropy base F, weighted by its share of
  R), completeness (each factor's over few dimensions: 1 - entropy base D) and informativeness
  (the trees' mean test accuracy).
- **FactorVAE score** (Kim & Mnih 2018): hold one factor fixed in a batch, normalise codes by
  their spread over the data, take the dimension with the least variance; a majority vote maps
  dimensions to factors; its accuracy on new batches.
- **beta-VAE score** (Higgins et al. 2017): the mean |z1 - z2| over pairs sharing one factor
  predicts which factor (a logistic regression); its test accuracy.

Mutual information is estimated on codes binned into ``bins`` equal-width bins per dimension
(20, as disentanglement_lib): fewer samples than bins x values bias it upwards, and a factor
with more values than bins loses information to the binning, so a perfect code scores below 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vaekit.core.errors import VaekitError

BINS = 20


def check_factors(codes: np.ndarray, factors: np.ndarray, where: str = "factors") -> None:
    """Refuse, in one line, factors that cannot be scored against ``codes``: another number
    of examples, fewer than two examples, or values that are not whole numbers (the metrics
    bin codes, never factors: a factor is a label of discrete values)."""
    codes, factors = np.asarray(codes), np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2:
        raise VaekitError(
            f"{where}: codes and factors must be 2-D (examples x dimensions), got shapes "
            f"{codes.shape} and {factors.shape}"
        )
    if len(codes) != len(factors):
        raise VaekitError(
            f"{where}: {len(factors):,} rows of factor labels for {len(codes):,} examples"
        )
    if len(codes) < 2:
        raise VaekitError(f"{where}: at least two examples are needed")
    if np.issubdtype(factors.dtype, np.integer):
        return
    whole = np.isfinite(factors) & (factors == np.round(factors))
    if not whole.all():
        column = int(np.argmin(whole.all(axis=0)))
        example = factors[~whole[:, column], column][0]
        raise VaekitError(
            f"{where}: factor {column} is not discrete (a value {example:g}); give each "
            "factor as value indices 0, 1, 2, ..."
        )


def discretise(codes: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Each code dimension in ``bins`` equal-width bins over its range (indices 0..bins-1)."""
    codes = np.asarray(codes, dtype=np.float64)
    out = np.empty(codes.shape, dtype=np.int64)
    for d in range(codes.shape[1]):
        edges = np.histogram_bin_edges(codes[:, d], bins)
        out[:, d] = np.clip(np.digitize(codes[:, d], edges[1:-1]), 0, bins - 1)
    return out


def _mutual_information(a: np.ndarray, b: np.ndarray) -> float:
    """I(a; b) in nats from the joint counts of two label vectors."""
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1.0)
    joint /= joint.sum()
    outer = joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True)
    nonzero = joint > 0
    return float((joint[nonzero] * np.log(joint[nonzero] / outer[nonzero])).sum())


def mutual_information_matrix(
    codes: np.ndarray, factors: np.ndarray, bins: int = BINS
) -> np.ndarray:
    """I(z_d; v_k) in nats, (code dimensions, factors), codes binned (:func:`discretise`)."""
    check_factors(codes, factors)
    binned = discretise(codes, bins)
    factors = np.asarray(factors)
    return np.array(
        [
            [_mutual_information(binned[:, d], factors[:, k]) for k in range(factors.shape[1])]
            for d in range(binned.shape[1])
        ]
    )


def _entropies(factors: np.ndarray) -> np.ndarray:
    return np.array([_mutual_information(f, f) for f in np.asarray(factors).T])


def information_shares(matrix: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """The mutual-information ``matrix`` (dimensions x factors, nats) as shares of each
    factor's entropy: 1 where a dimension pins its factor down (a constant factor: 0)."""
    entropy = _entropies(factors)
    return np.asarray(matrix) / np.where(entropy > 0, entropy, np.inf)


def dimension_factors(shares: np.ndarray, names: list[str], floor: float = 0.05) -> list:
    """Each code dimension's factor: the one whose entropy it explains the largest share of
    (:func:`information_shares`), or None below ``floor`` (a dimension that carries none)."""
    best = np.argmax(shares, axis=1)
    return [names[k] if shares[d, k] >= floor else None for d, k in enumerate(best.tolist())]


def mig(codes: np.ndarray, factors: np.ndarray, bins: int = BINS) -> dict:
    """Mutual information gap: ``score`` (mean over factors), ``per_factor`` and the
    ``matrix`` of mutual informations (nats). Constant factors are left out."""
    matrix = mutual_information_matrix(codes, factors, bins)
    entropy = _entropies(factors)
    varying = entropy > 0
    if matrix.shape[0] < 2:
        raise VaekitError("MIG: the representation needs at least two dimensions")
    top = np.sort(matrix, axis=0)[::-1]
    gaps = np.full(len(entropy), np.nan)
    gaps[varying] = (top[0, varying] - top[1, varying]) / entropy[varying]
    return {"score": float(np.nanmean(gaps)), "per_factor": gaps.tolist(), "matrix": matrix}


def split_indices(n: int, test_share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The training and test rows SAP and DCI use: a seeded permutation, cut at the share."""
    order = np.random.default_rng(seed).permutation(n)
    cut = int(round(n * (1 - test_share)))
    return order[:cut], order[cut:]


def sap(codes: np.ndarray, factors: np.ndarray, seed: int = 0, test_share: float = 0.5) -> dict:
    """Separated attribute predictability: per factor, the gap between the two code
    dimensions that best predict it alone (balanced test accuracy of a linear classifier,
    C = 0.01, as disentanglement_lib); ``score`` is their mean."""
    from sklearn.svm import LinearSVC

    check_factors(codes, factors)
    codes, factors = np.asarray(codes, dtype=np.float64), np.asarray(factors)
    train, test = split_indices(len(codes), test_share, seed)
    scores = np.zeros((codes.shape[1], factors.shape[1]))
    for k in range(factors.shape[1]):
        if len(np.unique(factors[train, k])) < 2:
            continue
        for d in range(codes.shape[1]):
            model = LinearSVC(C=0.01, class_weight="balanced", random_state=seed)
            model.fit(codes[train, d : d + 1], factors[train, k])
            scores[d, k] = float(np.mean(model.predict(codes[test, d : d + 1]) == factors[test, k]))
    top = np.sort(scores, axis=0)[::-1]
    gaps = top[0] - top[1]
    return {"score": float(gaps.mean()), "per_factor": gaps.tolist(), "matrix": scores}


def _one_minus_entropy(p: np.ndarray, base: int) -> np.ndarray:
    """1 - H(p) / log(base) along the last axis (rows summing to 1; 0 log 0 = 0)."""
    safe = np.where(p > 0, p, 1.0)
    return 1.0 - (-(p * np.log(safe)).sum(-1) / np.log(base))


def dci(codes: np.ndarray, factors: np.ndarray, seed: int = 0, test_share: float = 0.5) -> dict:
    """Disentanglement, completeness, informativeness from gradient-boosted trees'
    importances (scikit-learn's GradientBoostingClassifier, its defaults, as
    disentanglement_lib); also the ``importance`` matrix (dimensions x factors)."""
    from sklearn.ensemble import GradientBoostingClassifier

    check_factors(codes, factors)
    codes, factors = np.asarray(codes, dtype=np.float64), np.asarray(factors)
    train, test = split_indices(len(codes), test_share, seed)
    dims, count = codes.shape[1], factors.shape[1]
    importance = np.zeros((dims, count))
    accuracy = []
    for k in range(count):
        if len(np.unique(factors[train, k])) < 2:
            continue
        model = GradientBoostingClassifier(random_state=seed).fit(codes[train], factors[train, k])
        importance[:, k] = np.abs(model.feature_importances_)
        accuracy.append(float(np.mean(model.predict(codes[test]) == factors[test, k])))
    total = importance.sum()
    if total == 0 or count < 2 or dims < 2:
        raise VaekitError("DCI: needs two varying factors and two code dimensions")
    per_code = _one_minus_entropy(
        importance / np.maximum(importance.sum(1, keepdims=True), 1e-12), count
    )
    weights = importance.sum(1) / total
    per_factor = _one_minus_entropy(
        (importance / np.maximum(importance.sum(0, keepdims=True), 1e-12)).T, dims
    )
    used = importance.sum(0) > 0
    return {
        "disentanglement": float((per_code * weights).sum()),
        "completeness": float(per_factor[used].mean()),
        "informativeness": float(np.mean(accuracy)),
        "importance": importance,
    }


@dataclass
class Interventions:
    """Draws batches with one factor held fixed, for the FactorVAE and beta-VAE scores.

    ``sizes`` is each factor's number of values; ``represent`` maps factor indices (N, F) to
    codes (N, D) — for a run on rendered data, render then encode."""

    sizes: list[int]
    represent: Callable[[np.ndarray], np.ndarray]

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` factor combinations, each factor uniform over its values."""
        return np.stack([rng.integers(0, size, n) for size in self.sizes], axis=1)

    def fixed(self, factor: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` combinations sharing one random value of ``factor``."""
        values = self.draw(n, rng)
        values[:, factor] = rng.integers(0, self.sizes[factor])
        return values

    def pair(self, factor: int, n: int, rng: np.random.Generator) -> tuple:
        """Two draws of ``n`` combinations that agree, pair by pair, on ``factor`` only."""
        first, second = self.draw(n, rng), self.draw(n, rng)
        second[:, factor] = first[:, factor]
        return first, second

    @property
    def varying(self) -> list[int]:
        """The factors with more than one value (the others cannot be told apart)."""
        return [k for k, size in enumerate(self.sizes) if size > 1]


class PoolInterventions(Interventions):
    """Interventions drawn from examples already encoded, for data whose every factor
    combination cannot be made on demand (a user's images and their factor table): a batch
    with one factor fixed is drawn, with replacement, from the examples sharing a value of it,
    and a pair is two different examples sharing it. Values that only one example has are never
    the fixed one (a batch of one example repeated, or an example paired with itself, would
    give away the factor). ``codes`` (N, D) and ``factors`` (N, F) are the examples'; draws
    are row indices."""

    def __init__(self, codes: np.ndarray, factors: np.ndarray) -> None:
        check_factors(codes, factors)
        self.codes, self.factors = np.asarray(codes), np.asarray(factors, dtype=np.int64)
        sizes = [int(self.factors[:, k].max()) + 1 for k in range(self.factors.shape[1])]
        super().__init__(sizes, lambda rows: self.codes[rows])
        # the rows holding each value of each factor, and the rows whose value others share
        self.rows = [
            {int(v): np.flatnonzero(column == v) for v in np.unique(column)}
            for column in self.factors.T
        ]
        self.shared = [
            np.concatenate([r for r in rows.values() if len(r) > 1] or [np.zeros(0, np.int64)])
            for rows in self.rows
        ]

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` random examples."""
        return rng.integers(0, len(self.codes), n)

    def fixed(self, factor: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` examples sharing the value of ``factor`` of one random example."""
        value = int(self.factors[rng.choice(self.shared[factor]), factor])
        return rng.choice(self.rows[factor][value], n)

    def pair(self, factor: int, n: int, rng: np.random.Generator) -> tuple:
        """``n`` random examples and, for each, another example with its value of ``factor``."""
        first = rng.choice(self.shared[factor], n)
        second = []
        for row in first:
            group = self.rows[factor][int(self.factors[row, factor])]
            second.append(rng.choice(group[group != row]))
        return first, np.array(second)

    @property
    def varying(self) -> list[int]:
        """The factors with more than one value and a value that two examples share."""
        return [k for k, rows in enumerate(self.rows) if len(rows) > 1 and len(self.shared[k])]


def factor_vae_score(
    interventions: Interventions,
    seed: int = 0,
    batch: int = 64,
    train_votes: int = 10_000,
    test_votes: int = 5_000,
    spread_examples: int = 10_000,
    prune_below: float = 0.0,
) -> dict:
    """Kim & Mnih's score: majority-vote accuracy of "which factor was fixed" from the code
    dimension of least normalised variance (variance in the batch over variance in the data).
    Dimensions whose variance over the data is at most ``prune_below`` are never chosen:
    disentanglement_lib and disent prune none but the constant (0.0); Kim & Mnih pruned
    collapsed ones."""
    rng = np.random.default_rng(seed)
    spread = np.std(
        interventions.represent(interventions.draw(spread_examples, rng)), axis=0, ddof=1
    )
    active = spread**2 > prune_below
    if not active.any():
        return {"score": 0.0, "active_dimensions": 0}
    scale = np.where(active, spread, 1.0)

    def votes(count: int) -> np.ndarray:
        out = np.zeros((len(scale), len(interventions.sizes)), dtype=np.int64)
        for _ in range(count):
            k = int(rng.choice(interventions.varying))
            codes = interventions.represent(interventions.fixed(k, batch, rng)) / scale
            variance = np.where(active, np.var(codes, axis=0, ddof=1), np.inf)
            out[int(np.argmin(variance)), k] += 1
        return out

    train, test = votes(train_votes), votes(test_votes)
    rule = np.argmax(train, axis=1)  # each dimension's most frequent factor
    correct = test[np.arange(len(rule)), rule].sum()
    return {"score": float(correct / test.sum()), "active_dimensions": int(active.sum())}


def beta_vae_score(
    interventions: Interventions,
    seed: int = 0,
    batch: int = 64,
    train_points: int = 10_000,
    test_points: int = 5_000,
) -> dict:
    """Higgins et al.'s score: a logistic regression predicts the fixed factor from the mean
    |z1 - z2| over ``batch`` pairs that share it; ``score`` is its test accuracy."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)

    def points(count: int) -> tuple[np.ndarray, np.ndarray]:
        features, labels = [], []
        for _ in range(count):
            k = int(rng.choice(interventions.varying))
            first, second = interventions.pair(k, batch, rng)
            difference = interventions.represent(first) - interventions.represent(second)
            features.append(np.mean(np.abs(difference), axis=0))
            labels.append(k)
        return np.array(features), np.array(labels)

    x_train, y_train = points(train_points)
    x_test, y_test = points(test_points)
    model = LogisticRegression(max_iter=1000, random_state=seed).fit(x_train, y_train)
    return {
        "score": float(model.score(x_test, y_test)),
        "train_accuracy": float(model.score(x_train, y_train)),
    }
