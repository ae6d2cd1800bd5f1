"""Anomaly scores: how unusual each example is to a trained model, in nats, higher = more unusual.

- ``nll``: -log p(x), importance-sampled with K draws from q(z|x) — the model's own likelihood,
  the right score for "unlikely under what the model learned" (probabilistic models only);
- ``elbo``: -ELBO with one seeded draw, a cheaper upper bound on ``nll``;
- ``recon``: -log p(x | z = E[z|x]), the reconstruction term alone at the posterior mean: no
  noise at all, and every model has it (what PyOD's VAE scores, with one random z per call).

Explanations (:func:`value_scores`): the ``recon`` score split into its values' terms, which a
table sums per column (one-hot groups and missing indicators with their column) and an image
shows per pixel: the part of the example the model finds unlikely given the rest.

Every score is deterministic for a seed: the noise comes from generators seeded per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from vaekit.core.errors import VaekitError
from vaekit.core.numerics import denormals_flushed
from vaekit.core.progress import ProgressBar, log
from vaekit.metrics.likelihood import condition_rows, importance_log_likelihood
from vaekit.models.base import Autoencoder

SCORES = ("nll", "elbo", "recon")
CHUNK = 1000  # examples per progress step


@torch.no_grad()
@denormals_flushed()
def anomaly_scores(
    model: Autoencoder,
    x: torch.Tensor,
    by: str = "nll",
    k: int = 1000,
    seed: int = 0,
    batch_size: int = 256,
    conditions: torch.Tensor | None = None,
) -> np.ndarray:
    """(N,) float64 scores of model-space examples ``x`` (given their ``conditions`` for a
    conditional model: -log p(x|c)); see the module for ``by``. Raises
    VaekitError for an unknown score, K < 1, or ``nll``/``elbo`` on a model without a
    likelihood bound (the autoencoders: use ``recon``)."""
    if by not in SCORES:
        raise VaekitError(f"--by: {by!r} is not one of {', '.join(SCORES)}")
    if k < 1:
        raise VaekitError(f"--k: must be at least 1, got {k}")
    if by != "recon" and not model.probabilistic:
        raise VaekitError(
            f"--by {by}: {model.config.model} has no likelihood; score it with --by recon"
        )
    was_training = model.training
    model.eval()
    parts = []
    with ProgressBar(max(1, -(-len(x) // CHUNK)), f"scoring ({by})") as progress:
        for index, start in enumerate(range(0, len(x), CHUNK)):
            chunk = x[start : start + CHUNK].to(model.device)
            c = condition_rows(conditions, start, CHUNK, model.device)
            chunk_seed = seed * 1_000_003 + index  # each chunk its own stream, fixed by seed
            if by == "nll":
                part = -importance_log_likelihood(model, chunk, k=k, seed=chunk_seed, conditions=c)
            else:
                part = _batched(model, chunk, by, chunk_seed, batch_size, c)
            parts.append(part.double().cpu())
            progress.update(1)
    model.train(was_training)
    return torch.cat(parts).numpy() if parts else np.zeros(0)


def _batched(
    model: Autoencoder,
    x: torch.Tensor,
    by: str,
    seed: int,
    batch_size: int,
    conditions: torch.Tensor | None,
):
    generator = torch.Generator(device=model.device).manual_seed(seed)
    out = []
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size]
        c = condition_rows(conditions, start, batch_size, x.device)
        if by == "elbo":
            terms = model.loss(batch, generator=generator, condition=c)
            out.append(terms.recon + terms.kl)
        else:
            out.append(-model.reconstruction(batch, c).log_prob(batch))
    return torch.cat(out)


@torch.no_grad()
def value_scores(
    model: Autoencoder,
    x: torch.Tensor,
    batch_size: int = 256,
    conditions: torch.Tensor | None = None,
) -> np.ndarray:
    """(N, D) float64: each model-space value's -log p(x_d | z = E[z|x]) in nats, the terms the
    ``recon`` score sums (so a row's values sum to its ``recon`` score): which values the
    model finds unlikely given the rest of the example."""
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size].to(model.device)
        c = condition_rows(conditions, start, batch_size, model.device)
        out.append(-model.reconstruction(batch, c).log_prob_values(batch).double().cpu())
    model.train(was_training)
    width = int(np.prod(x.shape[1:]))
    return torch.cat(out).numpy() if out else np.zeros((0, width))


def complexity_correlations(scores: np.ndarray, images: np.ndarray) -> dict[str, float]:
    """Spearman's rank correlation of image scores with each image's mean intensity and with
    its compressed length (zlib, level 9, of its 8-bit pixels): how much a score tracks how
    much ink, or how much detail, an image has rather than how unusual it is (Serrà et al.
    2020; the reason -log p(x) can rank a plain image as more likely than the training
    data). NaN where a side is constant."""
    import zlib

    from scipy.stats import spearmanr

    pixels = np.clip(np.round(np.asarray(images, dtype=np.float64) * 255), 0, 255)
    flat = pixels.reshape(len(pixels), -1).astype(np.uint8)
    intensity = flat.mean(axis=1)
    length = np.array([len(zlib.compress(row.tobytes(), 9)) for row in flat], dtype=np.float64)

    def rho(other: np.ndarray) -> float:
        if len(scores) < 3 or np.ptp(other) == 0 or np.ptp(scores) == 0:
            return float("nan")
        return float(spearmanr(scores, other).statistic)

    return {"mean_intensity": rho(intensity), "compressed_length": rho(length)}


def threshold_for(scores: np.ndarray, contamination: float) -> float:
    """The score above which the ``contamination`` share of ``scores`` lies (scikit-learn's
    and PyOD's rule: the (1 - p) quantile, linear interpolation)."""
    if not 0 < contamination < 0.5:
        raise VaekitError(f"--contamination: a share in (0, 0.5), got {contamination}")
    return float(np.quantile(scores, 1 - contamination))


def detection_quality(scores: np.ndarray, anomalous: np.ndarray) -> dict[str, float]:
    """ROC-AUC and average precision of ``scores`` against 0/1 ``anomalous`` (scikit-learn's
    definitions; both need normal and anomalous examples)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    anomalous = np.asarray(anomalous).astype(bool)
    if anomalous.all() or not anomalous.any():
        raise VaekitError("ROC-AUC needs both normal and anomalous examples among the labels")
    return {
        "roc_auc": float(roc_auc_score(anomalous, scores)),
        "average_precision": float(average_precision_score(anomalous, scores)),
    }


class ScoreTable(NamedTuple):
    """Scores ready to write and report (see :func:`score_table`)."""

    columns: dict[str, np.ndarray]  # row, score, then 0/1 flagged, anomalous; (N,) float64 each
    threshold: float | None  # scores above it are flagged
    anomalous: np.ndarray | None  # (N,) bool, from the labels
    quantiles: np.ndarray  # the scores' median, 90% and 99% (NaN without scores)


def score_table(
    scores: np.ndarray,
    contamination: float | None = None,
    labels: torch.Tensor | np.ndarray | None = None,
    classes: Sequence[object] | None = None,
    normal: str | None = None,
    threshold: float | None = None,
) -> ScoreTable:
    """``scores`` as a table: the rows flagged above ``threshold``, or the one the
    ``contamination`` share sets (where given), and the anomalous ones by their ``labels``
    (:func:`anomalous_from_labels`). Raises VaekitError for a share outside (0, 0.5) or
    ``normal`` labels that are not there."""
    if contamination is not None:
        threshold = threshold_for(scores, contamination)
    anomalous = anomalous_from_labels(labels, classes, normal)
    flagged = None if threshold is None else scores > threshold
    named = {
        "row": np.arange(len(scores)),
        "score": scores,
        "flagged": flagged,
        "anomalous": anomalous,
    }
    columns = {k: np.asarray(v, dtype=np.float64) for k, v in named.items() if v is not None}
    quantiles = np.quantile(scores, [0.5, 0.9, 0.99]) if len(scores) else np.full(3, np.nan)
    return ScoreTable(columns, threshold, anomalous, quantiles)


def anomalous_from_labels(
    labels: torch.Tensor | np.ndarray | None, classes: Sequence[object] | None, normal: str | None
) -> np.ndarray | None:
    """(N,) bool from class ids ``labels`` (indices into ``classes``): the classes named in
    ``normal`` (comma-separated) are normal, the rest anomalous; without ``normal``, labels 0/1
    (or false/true) are taken as they are. None where that cannot be said."""
    if labels is None:
        if normal:
            raise VaekitError("--normal: these examples have no labels (train with --labels)")
        return None
    names = [str(n) for n in (classes or [])]
    ids = labels.numpy() if hasattr(labels, "numpy") else np.asarray(labels)
    if normal:
        wanted = [v.strip() for v in normal.split(",") if v.strip()]
        unknown = [v for v in wanted if v not in names]
        if unknown:
            raise VaekitError(
                f"--normal: {', '.join(unknown)} not among the labels ({', '.join(names)})"
            )
        return ~np.isin(ids, [names.index(v) for v in wanted])
    if [n.lower() for n in names] in (["0", "1"], ["false", "true"]):
        return ids == 1
    log(
        f"labels present ({', '.join(names[:12])}); name the normal ones with --normal "
        "to measure ROC-AUC"
    )
    return None
