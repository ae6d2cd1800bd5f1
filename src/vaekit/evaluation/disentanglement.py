"""How disentangled a run's codes are, for data with factors of variation (sprites, or images
with a ``--factors`` table): MIG, SAP and DCI from the held-out examples' posterior means, and
the FactorVAE and beta-VAE scores from interventions — for sprites fresh renders of any
factor combination, else batches drawn from the held-out examples that share a factor value.

The intervention scores use fewer votes than disentanglement_lib (800 training and 800 test
votes for the FactorVAE score, 500 and 250 points for the beta-VAE score, batches of 64), so
that they take seconds; their sampling noise is about 0.02 (a binomial proportion's standard
error at 800 votes).
"""

from __future__ import annotations

import numpy as np

from vaekit.data import sprites
from vaekit.data.splits import Dataset
from vaekit.metrics.disentanglement import (
    Interventions,
    PoolInterventions,
    beta_vae_score,
    dci,
    dimension_factors,
    factor_vae_score,
    information_shares,
    mig,
    sap,
)
from vaekit.runs.run import Run

FACTOR_VAE_VOTES = (800, 800)  # training, test
BETA_VAE_POINTS = (500, 250)


def disentanglement_report(
    run: Run,
    data: Dataset,
    seed: int = 0,
    votes: tuple[int, int] = FACTOR_VAE_VOTES,
    points: tuple[int, int] = BETA_VAE_POINTS,
) -> dict | None:
    """The metrics, per factor where they have one, and each code dimension's factor (the one
    it shares most information with); None where ``data`` has no factors. ``votes`` and
    ``points``: the FactorVAE score's training and test votes, the beta-VAE score's points."""
    if data.factors is None:
        return None
    names = list(run.schema.factors)
    codes, _ = run.encode(data)  # the Dataset as it is: model space, with its conditions
    factors = data.factors.numpy()
    information = mig(codes, factors)
    normalised = information_shares(information["matrix"], factors)
    explained = dci(codes, factors, seed=seed)
    separated = sap(codes, factors, seed=seed)
    interventions = _interventions(run, codes, factors)
    factor_vae = factor_vae_score(interventions, seed, train_votes=votes[0], test_votes=votes[1])
    beta_vae = beta_vae_score(interventions, seed, train_points=points[0], test_points=points[1])
    return {
        "examples": len(codes),
        "factors": names,
        "interventions": "rendered" if _renders(run) else "drawn from these examples",
        "mig": information["score"],
        "mig_per_factor": dict(zip(names, information["per_factor"], strict=True)),
        "sap": separated["score"],
        "dci": {k: explained[k] for k in ("disentanglement", "completeness", "informativeness")},
        "factor_vae_score": factor_vae["score"],
        "beta_vae_score": beta_vae["score"],
        "mutual_information": normalised.tolist(),  # dimensions x factors, over H(factor)
        "dimension_factor": dimension_factors(normalised, names),
    }


def _renders(run: Run) -> bool:
    """Whether any factor combination can be made on demand: the built-in sprites."""
    return run.config.data.source == "sprites" and run.schema.factors == sprites.factor_names()


def _interventions(run: Run, codes: np.ndarray, factors: np.ndarray) -> Interventions:
    if not _renders(run):
        return PoolInterventions(codes, factors)

    def represent(combinations: np.ndarray) -> np.ndarray:
        # a run conditioned on the label is conditioned on the shape: sprites' class label
        shapes = [sprites.SHAPES[k] for k in combinations[:, 0]] if run.model.conditional else None
        return run.encode(sprites.render(combinations), condition=shapes)[0]

    return Interventions(list(sprites.SIZES), represent)
