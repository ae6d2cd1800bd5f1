"""Run folders: everything a trained model needs, as JSON and safetensors only.

    RUN/config.json        RunConfig (model, data pipeline, training) + vaekit version
    RUN/model.safetensors  weights with the best validation ELBO (what ``load`` uses)
    RUN/last.safetensors   weights after the last epoch
    RUN/checkpoint.safetensors  weights + optimiser + RNG state + counters, for --resume
    RUN/metrics.jsonl      one JSON object per epoch
    RUN/summary.json       data facts, parameter count, best and final numbers
    RUN/sampler.safetensors  a Gaussian mixture fitted to the training codes (--sampler gmm)
    RUN/*.png              pictures written at the end of training

Loading never unpickles: configs are parsed JSON, weights are safetensors checked against the
model the config describes.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaekit.config.run import RunConfig
from vaekit.data.splits import (
    SPLIT_NAMES,
    Dataset,
    DataSplits,
    _to_dataset,
    check_unit_range,
    load_examples,
    load_splits,
    missing_conditions,
    read_new,
    recorded_schema,
    split_named,
)
from vaekit.data.schema import (
    Schema,
    condition_table,
    decode_conditions,
    encode_conditions,
)
from vaekit.data.table import (
    Table,
    from_array,
    from_dataframe,
    is_dataframe,
    spell,
    to_dataframe,
)
from vaekit.models.distributions import PerColumn
from vaekit.core.errors import VaekitError, fail
from vaekit.core.files import atomic_write_json
from vaekit.models.registry import Autoencoder, build_model
from vaekit.core.progress import log
from vaekit.core.records import parse_json, read_metrics, read_summary
from vaekit.models.samplers import CodeSampler
from vaekit.core.tensorfiles import check_tensors, checksum, read_tensors, write_tensors

CONFIG = "config.json"
WEIGHTS = {"best": "model.safetensors", "last": "last.safetensors"}
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
SAMPLER = "sampler.safetensors"
PICTURES = ("reconstructions.png", "samples.png", "samples-gmm.png", "report.html")
# Files a run folder may hold; --force removes only these, never anything else of the user's.
CHECKPOINT = "checkpoint.safetensors"  # see vaekit.training.checkpoint
EVALUATION = "evaluation.jsonl"  # one line per `vaekit evaluate`
OWNED = (CONFIG, *WEIGHTS.values(), CHECKPOINT, METRICS, SUMMARY, SAMPLER, EVALUATION, *PICTURES)


def prepare_folder(path: Path, force: bool) -> None:
    """Create a fresh run folder; refuse an existing non-empty one unless ``force``."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise fail(path, "exists and is not a folder")
    if path.exists() and any(path.iterdir()):
        if not force:
            raise fail(
                path,
                "already exists and is not empty; choose another --out or pass "
                "--force to replace the run in it",
            )
        if not (path / CONFIG).exists():
            raise fail(
                path,
                "is not empty and is not a vaekit run; refusing to replace it even with --force",
            )
        for name in OWNED:
            (path / name).unlink(missing_ok=True)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise fail(path, f"cannot create the run folder ({err.strerror})") from None


def remove_stale_temporaries(path: Path) -> int:
    """Delete temporary files a crash left behind mid-write (the real files are intact)."""
    stale = list(Path(path).glob(".*.tmp"))
    for file in stale:
        file.unlink(missing_ok=True)
    return len(stale)


def save_weights(model: Autoencoder, path: Path, metadata: dict[str, str] | None = None) -> None:
    # Saved from the unwrapped module on CPU, contiguous: what safetensors requires.
    write_tensors(path, model.state_dict(), metadata)


def load_weights(model: Autoencoder, path: Path) -> None:
    """Load safetensors weights into ``model``, naming any missing/extra/mis-shaped tensor and
    refusing a damaged file or non-finite values."""
    tensors, _ = read_tensors(path, "weights")
    check_tensors(path, tensors, model.state_dict(), "the model in config.json")
    model.load_state_dict(tensors)


def read_config(path: Path) -> RunConfig:
    file = Path(path) / CONFIG
    if not Path(path).is_dir():
        raise fail(path, "no such run folder")
    if not file.exists():
        raise fail(path, "not a vaekit run (no config.json)")
    try:
        raw = parse_json(file.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise fail(file, f"not valid JSON ({err})") from None
    config = RunConfig.from_dict(raw, where=file)
    shape = list(config.model.input_shape)
    if not shape:
        raise fail(file, "model.input_shape is missing: not a trained run's config")
    schema = recorded_schema(config.data, file)
    if schema is not None and list(schema.shape) != shape:
        raise fail(
            file,
            f"data.schema describes examples of shape {list(schema.shape)} but "
            f"model.input_shape is {shape}",
        )
    return config


@dataclass
class Run:
    """A trained run loaded from its folder (see :func:`load`): its config, its model and the
    schema of its data.

    Data goes in and comes out in the user's own units, mapped by the run's schema (recorded in
    ``config.json``): image arrays (N, C, H, W) or (N, H, W) as uint8 pixels or floats in
    [0, 1], pandas DataFrames or 2-D arrays of table rows, or a file's path. ``to_model`` and
    ``to_data`` are the two ways between those units and model space; a :class:`Dataset` (what
    ``data`` and ``to_model`` return) is already in model space and passes through unchanged.

    Every method raises :class:`vaekit.VaekitError` (one line naming the file, column or
    argument) when its input does not fit the run; none executes code from a file.

    Example::

        run = vaekit.load("runs/digits")
        images = run.sample(16, seed=0)            # (16, 1, 8, 8) floats in [0, 1]
        mean, logvar = run.encode(run.data("val"))  # (N, latent_dim) each
        scores = run.score("new.npz")              # (N,) nats, higher = more unusual

    Attributes: ``path`` (the folder), ``config`` (:class:`vaekit.RunConfig`), ``model`` (the
    :class:`vaekit.models.registry.Autoencoder`, in eval mode), ``weights`` ("best" or "last").
    """

    path: Path
    config: RunConfig
    model: Autoencoder
    weights: str = "best"  # which weights file was loaded: a key of WEIGHTS
    held_splits: DataSplits | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def schema(self) -> Schema:
        """The data's schema: image shape and units, or the table's typed columns (read from
        the config once)."""
        schema = recorded_schema(self.config.data, self.path / CONFIG)
        if schema is None:
            raise fail(self.path / CONFIG, "data.schema is missing; retrain the run")
        return schema

    def splits(self) -> DataSplits:
        """The run's data splits, read on first use and then kept (``train`` hands over the
        splits it trained on, so its report reads the data no second time)."""
        if self.held_splits is None:
            self.held_splits = load_splits(self.config.data)
        return self.held_splits

    @functools.cached_property
    def weights_checksum(self) -> str:
        """A digest of the loaded weights (as in their file's metadata): which model an
        evaluation record is of."""
        return checksum(self.model.state_dict())

    @functools.cached_property
    def summary(self) -> dict[str, Any]:
        """summary.json: data facts, parameter count, best and final numbers ({} if absent)."""
        return read_summary(self.path / SUMMARY)

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """metrics.jsonl: one dict per epoch ([] if absent)."""
        return read_metrics(self.path / METRICS)

    def data(self, source: str | None = None, condition: Any = None) -> Dataset:
        """Examples in model space: the run's own split (``"train"``, ``"val"``, ``"test"``;
        None: the held-out one, test where the data has a test split, else validation) or a
        file read like the training data. Returns a :class:`Dataset` (``x`` (N, *shape),
        ``labels``, ``conditions``). Raises VaekitError for a split the data lacks or a file
        that does not fit. ``condition`` stands in for conditions a file lacks (see
        :meth:`to_model`)."""
        if source is None or source in SPLIT_NAMES:
            return split_named(self.splits(), source, self.config.data)
        return self.to_model(source, condition=condition)

    def table(self, source: str | None = None, condition: Any = None) -> Table:
        """A table run's rows in the data's own units: a split as read from the training file
        (``"train"``, ``"val"``, ``"test"``; None: the held-out one), or a file's rows after
        checking they fit the run. Rows come from the file, not back from model space, so a
        held-out value beyond the training range stays as it is."""
        if self.kind != "table":
            raise VaekitError("this run was trained on images; tables are for table runs")
        if source is None or source in SPLIT_NAMES:
            splits = self.splits()
            name = source or splits.eval_split_name
            split_named(splits, name, self.config.data)  # refuses a split the data lacks
            rows = splits.table_of(name)
            if rows is not None:
                return rows
        dataset = self.data(source, condition)  # checks the file against the schema
        if source is None or source in SPLIT_NAMES:  # a streamed split: back from model space
            return self.to_table(dataset.x.numpy(), dataset.conditions)
        return read_new(source, self.config.data).table

    def split_label(self, source: str | None) -> str:
        """What ``data(source)`` is, for people: "validation split", "test split" or the file."""
        if source is None or source in SPLIT_NAMES:
            name = source or self.splits().eval_split_name
            return {"val": "validation", "train": "training", "test": "test"}[name] + " split"
        return str(source)

    def to_model(self, data: Any, where: str | None = None, condition: Any = None) -> Dataset:
        """Bring data into model space by the run's schema: a file's path, a numpy array or
        torch tensor of images (uint8 pixels or floats in [0, 1]; the training files' own units
        too), or a table (DataFrame, CSV path, 2-D array in column order). A Dataset passes
        through. A conditional run's conditions come from the data (a table's condition
        columns, a file's labels) or from ``condition`` (see :meth:`conditions`). Raises
        VaekitError naming ``where`` (and the column) when it does not fit."""
        where = where or (
            str(data)
            if isinstance(data, (str, Path))
            else "DataFrame"
            if is_dataframe(data)
            else "array"
        )
        dataset = self._to_model(data, where)
        if condition is not None or (self.model.conditional and dataset.conditions is None):
            if condition is None:
                raise fail(
                    where,
                    f"{missing_conditions(self.schema)}; add it, or give the condition "
                    "(--condition VALUE, or condition=...)",
                )
            conditions = self.conditions(len(dataset), condition).cpu()
            dataset = Dataset(dataset.x, dataset.labels, conditions)
        return dataset

    def _to_model(self, data: Any, where: str) -> Dataset:
        if isinstance(data, Dataset):
            return data
        if isinstance(data, (str, Path)):
            dataset = load_examples(str(data), self.config.data, self.schema)
            self._check_support(dataset.x, where)
            return dataset
        schema = self.schema
        conditions = None
        if schema.kind == "table":
            if is_dataframe(data):
                table = from_dataframe(data, where)
            else:
                values = _numpy(data)
                if values.ndim != 2:
                    raise fail(where, f"a table needs a 2-D array, got shape {values.shape}")
                table = from_array(values, where)
                table.names = _columns_in_array(schema, values.shape[1], where)
            x, labels = schema.encode(table)
            if schema.conditions and all(c.name in table.names for c in schema.conditions):
                conditions = encode_conditions(schema.conditions, table)
        else:
            values = _numpy(data)
            one = tuple(schema.shape)
            if values.shape in (one, one[1:] if one[0] == 1 else one):  # a single example
                values = values[None]
            x, labels = schema.encode(values, where), None
        self._check_support(x, where)
        return _to_dataset(x, labels, conditions)

    def to_data(self, x: np.ndarray | torch.Tensor, conditions: Any = None) -> Any:
        """Model-space values -> the user's units: images as floats in [0, 1] (N, C, H, W);
        tables as a pandas DataFrame with the training file's column names, kinds and
        categories (a conditional run's condition columns too, from model-space
        ``conditions``)."""
        values = _numpy(x)
        schema = self.schema
        if schema.kind == "image":
            return schema.decode(values)
        return to_dataframe(
            self.to_table(values, conditions), {c.name: c.kind for c in schema.columns}
        )

    def to_table(self, x: np.ndarray, conditions: Any = None) -> Table:
        """Model-space table rows (and their conditions) -> a Table in the data's units, the
        condition columns in their place among the features."""
        table = self.schema.decode(_numpy(x))
        if conditions is None or not self.schema.conditions:
            return table
        given = decode_conditions(self.schema.conditions, _numpy(conditions))
        order = [c.name for c in self.schema.columns if c.name in table.names + given.names]
        columns = dict(zip(table.names + given.names, table.columns + given.columns, strict=True))
        table.names, table.columns = order, [columns[name] for name in order]
        return table

    # -- conditions ---------------------------------------------------------------------------

    def _condition_names(self) -> str:
        return ", ".join(c.name for c in self.schema.conditions)

    def conditions(
        self, n: int, condition: Any = None, seed: int | None = None, where: str = "condition"
    ) -> torch.Tensor | None:
        """(n, C) model-space conditions for a conditional run (None for another run):

        - None: drawn at random (``seed``) from the training examples' conditions, so samples
          follow the training mix;
        - one value for every example: a class name or number (``3``, ``"south"``) when the
          run has one condition, ``"region=south,age=40"`` or ``{"region": "south"}`` by name;
        - one value per example: a list, array or 1-D tensor of length n of such values;
        - model-space conditions: a float tensor (n, C), passed through.

        Raises VaekitError naming ``where`` for an unknown value, a missing condition, or a
        condition given to a run trained without one."""
        if not self.model.conditional:
            if condition is not None:
                raise fail(
                    where,
                    "this run was trained without a condition; train with --condition COLUMN "
                    "(or label, for images) to generate by one",
                )
            return None
        device = self.model.device
        width = self.model.condition_dim
        if condition is None:
            pool = self.splits().train.conditions
            gen = torch.Generator().manual_seed(seed) if seed is not None else None
            return pool[torch.randint(len(pool), (n,), generator=gen)].to(device)
        if isinstance(condition, torch.Tensor) and condition.is_floating_point():
            if tuple(condition.shape) != (n, width):
                raise fail(
                    where,
                    f"model-space conditions must have shape ({n}, {width}), got "
                    f"{tuple(condition.shape)}",
                )
            return condition.to(device=device, dtype=torch.float32)
        if n == 0:
            return torch.zeros(0, width, device=device)
        values = _numpy(condition).tolist() if _per_example(condition) else [condition]
        if len(values) not in (1, n):
            raise fail(where, f"{len(values)} values for {n} examples")
        encoded: dict[str, np.ndarray] = {}
        rows = []
        for value in values:
            key = repr(value)
            if key not in encoded:
                encoded[key] = self._condition_row(value, where)
            rows.append(encoded[key])
        c = np.concatenate(rows if len(rows) == n else rows * n)
        return torch.from_numpy(c).to(device)

    def _condition_row(self, value: Any, where: str = "condition") -> np.ndarray:
        """One condition value -> (1, C) model space."""
        columns = self.schema.conditions
        if isinstance(value, dict):
            given = value
        elif isinstance(value, str) and "=" in value:
            given = {}
            for part in value.split(","):
                name, _, cell = part.partition("=")
                given[name.strip()] = cell.strip()
        elif len(columns) == 1:
            given = {columns[0].name: value}
        else:
            example = ",".join(f"{c.name}=VALUE" for c in columns)
            raise fail(
                where,
                f"this run has {len(columns)} conditions ({self._condition_names()}); give "
                f"each by name, e.g. {example}",
            )
        return encode_conditions(columns, condition_table(columns, given, where))

    def describe_conditions(self, conditions: np.ndarray | torch.Tensor) -> list[str]:
        """Model-space conditions (N, C) as words, one per example: ``label=3``."""
        table = decode_conditions(self.schema.conditions, _numpy(conditions))
        columns = [[f"{n}={v}" for v in spell(table.column(n), "(missing)")] for n in table.names]
        words = [", ".join(cells) for cells in zip(*columns, strict=True)]
        return words

    def _check_support(self, x: np.ndarray | torch.Tensor, where: str) -> None:
        if self.config.model.likelihood == "bernoulli" and len(x):
            check_unit_range(
                x, where, "this run's Bernoulli decoder", "bring the data to the training units"
            )

    @torch.no_grad()
    def sample(
        self,
        n: int,
        seed: int | None = None,
        sampler: str = "auto",
        warn: bool = True,
        model_space: bool = False,
        condition: Any = None,
    ) -> Any:
        """n new examples — decoder means for images, rows drawn from p(x|z) for a table's
        per-column likelihood (a synthetic table) — in the user's units (``to_data``) unless
        ``model_space``. ``sampler``: "prior" draws z from the prior (N(0, I), or the learned
        p(z|c)); "gmm" draws codes from the Gaussian mixture fitted to the training codes (for
        a conditional run, to the codes of the condition's value where it has one); "auto" is
        gmm for a conditional run (on MNIST 99 % of its samples show the digit asked for,
        against 83 % from the prior) and prior otherwise. A conditional run generates for
        ``condition`` (see :meth:`conditions`; None: conditions drawn from the training
        data's); a table's samples then include the condition columns."""
        sampler = self.resolve_sampler(sampler)
        c = self.conditions(n, condition, seed)
        gen = _generator(seed)
        if sampler == "gmm":
            file = self.path / SAMPLER
            sampler_ = CodeSampler.load(file, self.model.latent_dim, self.model.condition_dim)
            z = sampler_.sample(n, generator=gen, conditions=c).to(self.model.device)
            out = self._decode_samples(z, c, gen)
        elif sampler != "prior":
            raise VaekitError(f"--sampler: {sampler!r} is not one of auto, prior, gmm")
        else:
            if warn and not self.model.regularised_latent:
                log(
                    f"warning: {self.config.model.model}'s latent space is not regularised "
                    "towards N(0, I), so prior samples are not a generative model's; --sampler "
                    "gmm draws codes from a mixture fitted to the training codes instead"
                )
            out = self._decode_samples(self.model.prior_codes(n, gen, c), c, gen)
        out = self.require_finite(out, f"{sampler} samples")
        return out if model_space else self.to_data(out, c)

    def _decode_samples(
        self, z: torch.Tensor, c: torch.Tensor | None, gen: torch.Generator | None
    ) -> np.ndarray:
        """Codes through the decoder: a table run's per-column likelihood gives rows drawn
        from p(x|z) (a synthetic table, categories in their proportions); other likelihoods
        give the decoder mean (an image's expected pixels)."""
        likelihood = self.model.decode(z, c)
        if isinstance(likelihood, PerColumn):
            return likelihood.sample(gen).cpu().numpy()
        return likelihood.mean.cpu().numpy()

    def resolve_sampler(self, sampler: str) -> str:
        """The sampler "auto" stands for: gmm for a conditional run, else prior."""
        if sampler != "auto":
            return sampler
        return "gmm" if self.model.conditional else "prior"

    @torch.no_grad()
    def reconstruct(self, data: Any, model_space: bool = False, condition: Any = None) -> Any:
        """Reconstructions of ``data``: the decoder mean at the posterior mean, E[x | z = E[z|x]].

        ``data``: anything :meth:`to_model` takes (``condition`` as there). Returns images as
        floats in [0, 1] (N, C, H, W), or a DataFrame of table rows in the data's units; with
        ``model_space`` the model-space array (N, *shape). Raises VaekitError when the data
        does not fit the run or the outputs are not finite."""
        dataset = self.to_model(data, condition=condition)
        x, c = self._tensor(dataset.x), self._optional(dataset.conditions)
        out = self.model.reconstruct(x, c).cpu().numpy()
        out = self.require_finite(out, "reconstructions")
        return out if model_space else self.to_data(out, c)

    @torch.no_grad()
    def encode(self, data: Any, condition: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """The posterior q(z|x) of each example: its mean and log-variance, each a float32 numpy
        array (N, latent_dim); for the deterministic autoencoders the code and a log-variance
        of -inf. ``data``: anything :meth:`to_model` takes (``condition`` as there). Encodes
        4,096 examples at a time. Raises VaekitError when the data does not fit."""
        dataset = self.to_model(data, condition=condition)
        means, logvars = [], []
        for start in range(0, len(dataset), 4096):  # bounded memory for large inputs
            part = dataset.take(slice(start, start + 4096))
            posterior = self.model.encode(self._tensor(part.x), self._optional(part.conditions))
            means.append(posterior.mean.cpu().numpy())
            if hasattr(posterior, "logvar"):
                logvars.append(posterior.logvar.cpu().numpy())
        width = self.model.latent_dim
        empty = np.zeros((0, width), dtype=np.float32)
        mean = self.require_finite(np.concatenate(means) if means else empty, "codes")
        if len(logvars) != len(means) or not means:  # a deterministic encoder: variance zero
            return mean, np.full_like(mean, float("-inf"))
        return mean, self.require_finite(np.concatenate(logvars), "code log-variances")

    @torch.no_grad()
    def decode(
        self, z: np.ndarray | torch.Tensor, model_space: bool = False, condition: Any = None
    ) -> Any:
        """Decoder means of codes ``z`` (N, latent_dim): images as floats in [0, 1], table rows
        as a DataFrame, or with ``model_space`` the model-space array (N, *shape). A
        conditional run decodes with ``condition`` (see :meth:`conditions`), which it needs.
        Raises VaekitError for codes of another shape, NaN/inf codes, or a missing
        condition."""
        z = self._tensor(z)
        if z.ndim != 2 or z.shape[1] != self.model.latent_dim:
            raise VaekitError(
                f"codes must have shape (N, {self.model.latent_dim}), got {tuple(z.shape)}"
            )
        if not bool(torch.isfinite(z).all()):
            raise VaekitError("codes hold NaN or infinite values")
        if self.model.conditional and condition is None:
            raise VaekitError(
                f"decode: this run is conditioned on {self._condition_names()}; give "
                "condition=... (the value to decode with)"
            )
        c = self.conditions(len(z), condition)
        out = self.model.decode(z, c).mean.cpu().numpy()
        out = self.require_finite(out, "decoded examples")
        return out if model_space else self.to_data(out, c)

    @torch.no_grad()
    def restyle(self, data: Any, condition: Any, model_space: bool = False) -> Any:
        """ "Same style, another condition": each example of ``data`` (anything ``to_model``
        takes, with its own conditions) is encoded with its own condition and decoded with
        ``condition`` (see :meth:`conditions`) — a digit's handwriting kept, the digit
        changed; a table row's other columns kept as far as the model can, its segment
        changed. Decoder means, in the user's units unless ``model_space``."""
        if not self.model.conditional:
            raise VaekitError(
                "restyle: this run was trained without a condition; train with --condition"
            )
        dataset = self.to_model(data)
        x, own = self._tensor(dataset.x), self._optional(dataset.conditions)
        target = self.conditions(len(dataset), condition)
        z = self.model.encode(x, own).mean
        out = self.require_finite(self.model.decode(z, target).mean.cpu().numpy(), "restyled")
        return out if model_space else self.to_data(out, target)

    def require_finite(self, values: np.ndarray, what: str) -> np.ndarray:
        """``values`` when all are finite; else a VaekitError naming the weights file, so no
        picture or array is ever made from NaN or infinity."""
        if not np.isfinite(values).all():
            raise fail(
                self.path / WEIGHTS[self.weights],
                f"the model's {what} hold NaN or infinite values (weights damaged or out of "
                "range); retrain the run",
            )
        return values

    def score(
        self, data: Any, by: str = "nll", k: int = 1000, seed: int = 0, condition: Any = None
    ) -> np.ndarray:
        """Anomaly scores of ``data`` (anything :meth:`to_model` takes; ``condition`` as
        there): a float64 numpy array (N,) in nats, higher = more unusual.

        ``by``: "nll" (-log p(x) by importance sampling with ``k`` draws; -log p(x|c) for a
        conditional run), "elbo" (-ELBO, one draw) or "recon" (-log p(x|z) at the posterior
        mean, the only one the autoencoders have). The same ``seed`` gives the same scores.
        Raises VaekitError for an unknown ``by``, ``k`` < 1, or nll/elbo on a model without a
        likelihood. See :mod:`vaekit.metrics.scores`."""
        from vaekit.metrics.scores import anomaly_scores

        dataset = self.to_model(data, condition=condition)
        scores = anomaly_scores(
            self.model, dataset.x, by=by, k=k, seed=seed, conditions=dataset.conditions
        )
        return self.require_finite(scores, "anomaly scores")

    @property
    def kind(self) -> str:
        """ "image" or "table": how examples are shown and exported."""
        return self.schema.kind

    def _tensor(self, x: np.ndarray | torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
        return t.to(device=self.model.device, dtype=torch.float32)

    def _optional(self, x: torch.Tensor | None) -> torch.Tensor | None:
        return None if x is None else self._tensor(x)


def _per_example(condition: Any) -> bool:
    """Whether ``condition`` holds one value per example (a list, array or 1-D tensor)."""
    if isinstance(condition, (list, tuple)):
        return True
    return isinstance(condition, (np.ndarray, torch.Tensor)) and condition.ndim == 1


def _columns_in_array(schema: Schema, width: int, where: str) -> list[str]:
    """The column names of a bare 2-D array: the table's columns in file order, with or
    without its label column (ignored columns never)."""
    kept = [c.name for c in schema.columns if c.role != "ignored"]
    features = [c.name for c in schema.columns if c.role == "feature"]
    for names in (kept, features):
        if width == len(names):
            return names
    raise fail(
        where,
        f"has {width} columns; this run's table has {len(kept)} ({', '.join(kept)}); pass a "
        "DataFrame to match columns by name",
    )


def _numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def load(path: str | Path, weights: str = "best", device: str = "cpu") -> Run:
    """Load the run in folder ``path`` (written by ``vaekit train``) as a :class:`Run`.

    Reads ``config.json`` (parsed JSON, checked field by field) and the weights, a safetensors
    file checked against the model the config describes: nothing in the folder is executed.

    ``weights``: "best" (``model.safetensors``, the epoch with the best validation ELBO, or
    reconstruction for the autoencoders) or "last" (``last.safetensors``, after the last
    epoch). ``device``: "cpu", "cuda" or a torch device string the model is moved to.

    Raises VaekitError (one line naming the file) when the folder is not a run, its config or
    weights are missing, damaged, or do not match each other.

    Example: ``vaekit.load("runs/digits").sample(16, seed=0)``."""
    path = Path(path)
    config = read_config(path)
    if weights not in WEIGHTS:
        raise VaekitError(f"weights: {weights!r} is not one of {', '.join(WEIGHTS)}")
    model = build_model(config.model)
    load_weights(model, path / WEIGHTS[weights])
    model.to(device).eval()
    return Run(path, config, model, weights)


def write_config(path: Path, config: RunConfig) -> None:
    atomic_write_json(Path(path) / CONFIG, config.to_dict())


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    atomic_write_json(Path(path) / SUMMARY, summary)


def discard_unfinished(path: Path) -> None:
    """Remove vaekit's files from a run that failed before its first checkpoint, and the folder
    itself when nothing else is in it; anything else of the user's is left alone."""
    path = Path(path)
    for name in OWNED:
        (path / name).unlink(missing_ok=True)
    remove_stale_temporaries(path)
    with contextlib.suppress(OSError):
        path.rmdir()  # only succeeds when empty


def _generator(seed: int | None) -> torch.Generator | None:
    return None if seed is None else torch.Generator().manual_seed(seed)
