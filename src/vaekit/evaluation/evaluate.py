"""``vaekit evaluate``: every number about a run on one split or file, from the metrics."""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from vaekit.core.errors import VaekitError
from vaekit.data.splits import Dataset
from vaekit.evaluation.conditional import conditional_accuracy, conditional_column_shapes
from vaekit.evaluation.disentanglement import disentanglement_report
from vaekit.evaluation.synthetic import synthetic_report
from vaekit.metrics.latent import continuity, diagnose, latent_statistics
from vaekit.metrics.likelihood import importance_log_likelihood, validation_metrics
from vaekit.metrics.quality import Judge, judge_for, sample_notes, sample_quality
from vaekit.metrics.synthetic import check_target, rule_notes
from vaekit.runs.run import Run

NO_JUDGE = {"skipped": "needs labelled image data (a classifier judges the samples)"}


def evaluate_run(
    run: Run,
    source: str | None = None,
    k: int = 1000,
    samples: int = 10000,
    seed: int = 0,
    limit: int | None = None,
    target: str | None = None,
) -> dict:
    """Every number ``vaekit evaluate`` reports, as one JSON-ready dict. ``source``: a split
    name (train, val, test), a file, or None for the held-out split. For a table run also the
    synthetic table's quality, privacy and (given a ``target`` column) ML usefulness, from as
    many generated rows as the training split has (see
    :func:`vaekit.metrics.synthetic.synthetic_table_figures`)."""
    _check_options(run, k, samples, target)
    started = time.perf_counter()
    # run.data and the sample-quality judge share the run's splits, read once: reading MNIST
    # twice raised the peak memory of `vaekit evaluate` from 650 MB to 840 MB.
    data = run.data(source).take(slice(0, limit))
    x, labels, conditions = data.x, data.labels, data.conditions
    if len(x) < 2:  # latent health is variances across examples
        raise VaekitError(
            f"{run.split_label(source)}: {len(x)} example(s); evaluating needs at least 2 "
            "(give more with --data FILE, or hold out more with --val-fraction when training)"
        )
    model = run.model
    result: dict = {
        "run": str(run.path),
        "model": run.config.model.model,
        "data": run.split_label(source),
        "examples": len(x),
        "weights_sha256": run.weights_checksum,  # which weights these numbers are of
        "k": k,
        "seed": seed,
        **_likelihood(run, data, k, seed),
    }
    stats = latent_statistics(model, x, conditions=conditions)
    result["latent"] = stats
    result["continuity"] = continuity(model, x, seed=seed, conditions=conditions)  # len(x) >= 2
    judge = (
        judge_for(run.splits(), seed=seed) if run.kind == "image" and labels is not None else None
    )
    if model.conditional:
        result["conditioned_on"] = [c.name for c in run.schema.conditions]
        result["conditional"] = _conditional(run, judge, data, samples, seed)
    result["sample_quality"] = NO_JUDGE
    if judge is not None:
        fake = torch.as_tensor(run.sample(samples, seed=seed, sampler="prior", warn=False))
        result["sample_quality"] = sample_quality(judge, x, labels, fake)
    if run.kind == "table":
        result["synthetic"] = synthetic_report(run, source, limit, target, seed)
    if data.factors is not None:
        result["disentanglement"] = disentanglement_report(run, data, seed)
    notes = diagnose(model, stats, result["elbo"], run.config.model.beta)
    notes += sample_notes(result["sample_quality"], run.schema.classes)
    notes += rule_notes(result.get("synthetic"))
    # A model is not "Healthy" when its samples miss much of the data.
    result["diagnosis"] = [n for n in notes if not n.startswith("Healthy")] or notes
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def _check_options(run: Run, k: int, samples: int, target: str | None) -> None:
    if k < 1:
        raise VaekitError(f"--k: must be at least 1, got {k}")
    if samples < 2:
        raise VaekitError(f"--samples: must be at least 2, got {samples}")
    if target is not None:
        if run.kind != "table":
            raise VaekitError("--target: is for table runs (a column to predict)")
        check_target(run.schema.columns, target)


def _likelihood(run: Run, data: Dataset, k: int, seed: int) -> dict:
    """The ELBO's parts and, for a probabilistic model, log p(x) importance-sampled with k
    draws, each also in bits per dimension."""
    model, x, conditions = run.model, data.x, data.conditions
    per_dim = model.input_size * math.log(2)
    val = validation_metrics(model, x, seed=seed, conditions=conditions)
    run.require_finite(np.array([v for v in val.values() if v is not None]), "ELBO terms")
    elbo = {**val, "bits_per_dim": None if val["elbo"] is None else -val["elbo"] / per_dim}
    if not model.probabilistic:
        return {"elbo": elbo, "log_likelihood": None}
    # A run trained in bf16 (auto chose it: the device has bf16 units and the products are
    # large) is evaluated in bf16 too, where it was measured as accurate.
    precision = run.config.train.precision
    ll = importance_log_likelihood(
        model, x, k=k, seed=seed, conditions=conditions, precision=precision
    )
    run.require_finite(np.asarray(ll), "log-likelihoods")
    return {
        "elbo": elbo,
        "log_likelihood": {
            "mean": float(ll.mean()),
            "stderr": float(ll.std() / math.sqrt(len(ll))) if len(ll) > 1 else None,
            "bits_per_dim": float(-ll.mean() / per_dim),
            "k": k,
            "precision": precision,
        },
    }


def _conditional(run: Run, judge: Judge | None, data: Dataset, samples: int, seed: int) -> dict:
    """Whether samples follow their condition: the classifier's agreement with the asked-for
    class (images), or column shapes per condition value (tables)."""
    if run.kind == "table":
        return conditional_column_shapes(run, data, seed)
    if judge is None:
        return NO_JUDGE
    return conditional_accuracy(run, judge, samples, seed)
