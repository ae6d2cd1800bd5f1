"""What a run decides before its first step: the device, what the data fills into the model's
config (input shape, an automatic likelihood, the default beta), and the speed path; and what
it fits after the last: the code sampler."""

from __future__ import annotations

import torch

from vaekit.config.run import RunConfig
from vaekit.core.errors import VaekitError
from vaekit.core.tensorfiles import write_tensors
from vaekit.data.schema import TableSchema, condition_width, likelihood_layout
from vaekit.data.splits import Dataset, DataSplits, check_unit_range, first_examples, value_range
from vaekit.models.base import Autoencoder
from vaekit.models.registry import model_class
from vaekit.models.samplers import CodeSampler
from vaekit.runs.folder import CONDITIONS, SAMPLER
from vaekit.runs.run import Run
from vaekit.training.speed import resolve_speed, step_gflop
from vaekit.training.threads import resolve_threads


def resolve_model_config(config: RunConfig, splits: DataSplits) -> None:
    """Fill in what the data decides: the input shape, an 'auto' likelihood, the default beta."""
    model = config.model
    model.input_shape = list(splits.shape)
    model.condition_dim = condition_width(splits.schema)
    kind = model_class(model)
    if kind.kl_weighted and not model.capacity:  # with capacity, gamma weighs the KL
        model.beta = model.resolved_beta()
    if model.needs_dataset_size:
        model.dataset_size = len(splits.train)
    if kind.closed_form:
        return
    ranges = [value_range(d) for d in (splits.train, splits.val, splits.test) if d is not None]
    low, high = min(lo for lo, _ in ranges), max(hi for _, hi in ranges)
    table = isinstance(splits.schema, TableSchema)
    if model.likelihood == "auto":
        model.likelihood = automatic_likelihood(splits.schema, config.data.binarize, low, high)
    if model.likelihood == "discretised":
        levels = getattr(splits.schema, "levels", None)
        if not levels:
            raise VaekitError(
                "--likelihood discretised: these data have no grey levels (it needs images "
                "of whole-number pixels, e.g. 8-bit files, or floats on a 1/255 grid)"
            )
        model.levels, model.level_step = levels, splits.schema.step
    if model.likelihood == "per-column":
        if not table:
            raise VaekitError("--likelihood per-column: is for tables; these data are images")
        model.layout = likelihood_layout(splits.schema)
    if model.likelihood == "bernoulli":  # held-out data too: one value outside [0, 1] gives -inf
        check_unit_range(torch.tensor([low, high]), config.data.source, "a Bernoulli decoder")


NEARLY_BINARY = 0.8  # share of pixels near black or white from which images count as binary


def automatic_likelihood(schema, binarize: str, low: float, high: float) -> str:
    """``--likelihood auto``: each column by its kind for tables; Bernoulli for binary images,
    binarised training and nearly binary images (at least 80 % of pixels within a tenth of
    black or white: MNIST's 91 %); the discretised logistic over the grey levels of other
    images (a probability of the stored pixels); a Gaussian for values outside [0, 1].

    Why nearly binary images keep the Bernoulli: on MNIST the 256-level likelihood's cost sits
    in the grey edges of the strokes, so -log p(x) follows how much ink an image has (one-class
    ROC-AUC 0.73 against the Bernoulli's 0.91, mean over the ten digits) and prior samples are
    worse; on images with grey backgrounds it ranks anomalies better (docs/anomaly.md)."""
    if isinstance(schema, TableSchema):
        return "per-column"
    if binarize != "none":
        return "bernoulli"
    levels = getattr(schema, "levels", None)
    near_binary = getattr(schema, "near_binary", None)
    if levels and (near_binary is None or near_binary < NEARLY_BINARY):
        return "discretised"
    return "bernoulli" if low >= 0 and high <= 1 else "gaussian"


def choose_path(
    config: RunConfig, model: Autoencoder, splits: DataSplits, device: torch.device, cluster
) -> str:
    """Resolve ``--precision auto`` / ``--compile auto`` (see vaekit.training.speed) and the
    thread count (vaekit.training.threads) for this run; the log line saying why ("" when the
    user chose them all)."""
    example, _ = first_examples(splits.train, 1)
    c = splits.train.conditions
    c = None if c is None else c[:1].to(device)
    if model.closed_form:  # fitted in one pass, no steps
        return resolve_speed(config, model, example, c, len(splits.train), device, cluster.world)
    # One forward pass counts a step's products, for the speed rule and the thread rule both.
    gflop = step_gflop(model, example.to(device), c, config.train.batch_size)
    speed = resolve_speed(
        config, model, example, c, len(splits.train), device, cluster.world, gflop
    )
    threads = resolve_threads(config.train, gflop, device, cluster.world)
    return "; ".join(part for part in (speed, threads) if part)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise VaekitError("--device cuda: no CUDA GPU is available here (use --device auto)")
    return torch.device(name)


def fit_code_sampler(run: Run, splits: DataSplits, seed: int, limit: int = 20000) -> None:
    """Fit the Gaussian-mixture code sampler on (up to ``limit``) training codes (and, for a
    conditional run, one mixture per condition value)."""
    x = first_examples(splits.train, limit)[0]
    c = splits.train.conditions
    c = None if c is None else c[:limit]
    codes, _ = run.encode(Dataset(x, None, c))
    conditions = None if c is None else c.numpy()
    CodeSampler.fit(codes, conditions, seed=seed).save(run.path / SAMPLER)
    if splits.train.conditions is not None:  # drawn from when no condition is asked for
        rows, index = torch.unique(splits.train.conditions, dim=0, return_inverse=True)
        write_tensors(run.path / CONDITIONS, {"rows": rows, "index": index})
