"""The :class:`Run`: a trained run loaded from its folder, answering in the user's units:
samples, reconstructions, codes, decodings, scores. ``load`` reads the folder (see
:mod:`vaekit.runs.folder`); nothing in it is executed."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaekit.config.run import RunConfig
from vaekit.core.errors import VaekitError, fail
from vaekit.core.files import atomic_write_json
from vaekit.core.progress import log
from vaekit.core.records import parse_json, read_metrics, read_summary
from vaekit.core.tensorfiles import checksum
from vaekit.data.location import fingerprint
from vaekit.data.schema import Schema
from vaekit.data.schema.rules import broken
from vaekit.data.splits import (
    SPLIT_NAMES,
    Dataset,
    DataSplits,
    load_splits,
    read_new,
    recorded_schema,
    split_named,
)
from vaekit.data.table import Table, from_dataframe, is_dataframe
from vaekit.metrics.calibration import Calibration, calibrate
from vaekit.models.base import Autoencoder
from vaekit.models.distributions import PerColumn
from vaekit.models.registry import build_model
from vaekit.models.samplers import CodeSampler
from vaekit.runs.codec import Codec
from vaekit.runs.folder import (
    CALIBRATION,
    CONFIG,
    METRICS,
    SAMPLER,
    SUMMARY,
    WEIGHTS,
    load_weights,
    read_config,
)

MAX_DRAWS = 100  # rounds of drawing again the generated rows that break a rule
TYPICAL_ROWS = 10_000  # training examples whose explanations set each part's usual cost


@dataclass
class Run(Codec):
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
    :class:`vaekit.models.Autoencoder`, in eval mode), ``weights`` ("best" or "last").
    """

    path: Path
    config: RunConfig
    model: Autoencoder
    weights: str = "best"  # which weights file was loaded: a key of WEIGHTS
    # The share of the last sample's rows drawn again per rule (tables with rules kept so).
    drawn_again: dict[str, float] = field(default_factory=dict, repr=False, compare=False)
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
        if sampler not in ("gmm", "prior"):
            raise VaekitError(f"--sampler: {sampler!r} is not one of auto, prior, gmm")
        if sampler == "prior" and warn and not self.model.regularised_latent:
            log(
                f"warning: {self.config.model.model}'s latent space is not regularised "
                "towards N(0, I), so prior samples are not a generative model's; --sampler "
                "gmm draws codes from a mixture fitted to the training codes instead"
            )
        draw = functools.partial(self._draw, sampler, gen=gen)
        out = self.require_finite(draw(n, c), f"{sampler} samples")
        if self.kind == "table" and self.schema.resampled_rules:
            out = self._obey_rules(out, c, draw)
        return out if model_space else self.to_data(out, c)

    def _draw(
        self, sampler: str, n: int, c: torch.Tensor | None, gen: torch.Generator | None
    ) -> np.ndarray:
        """n model-space samples for conditions ``c``, codes from the prior or the mixture."""
        if sampler == "gmm":
            file = self.path / SAMPLER
            sampler_ = CodeSampler.load(file, self.model.latent_dim, self.model.condition_dim)
            z = sampler_.sample(n, generator=gen, conditions=c).to(self.model.device)
            return self._decode_samples(z, c, gen)
        return self._decode_samples(self.model.prior_codes(n, gen, c), c, gen)

    def _obey_rules(self, out: np.ndarray, c: torch.Tensor | None, draw: Any) -> np.ndarray:
        """Generated rows with every row that breaks a rule kept by drawing again (for the
        same condition) drawn again until none does; says how many were drawn again."""
        rules, columns = self.schema.resampled_rules, self.schema.columns
        conditions = None if c is None else c.cpu().numpy()
        rows, again = np.arange(len(out)), {r.text: 0 for r in rules}
        for _ in range(MAX_DRAWS):
            table = self.to_table(out[rows], None if c is None else conditions[rows])
            bad = np.zeros(len(rows), dtype=bool)
            for rule in rules:
                broken_here = broken(rule, table, columns) & ~bad
                again[rule.text] += int(broken_here.sum())
                bad |= broken_here
            rows = rows[bad]
            if not len(rows):
                break
            out[rows] = self.require_finite(
                draw(len(rows), None if c is None else c[rows]), "samples"
            )
        else:
            raise VaekitError(
                f"after {MAX_DRAWS} draws, {len(rows)} of {len(out)} generated rows still break "
                f"a rule ({', '.join(r.text for r in rules)}): the model rarely generates rows "
                "that obey it; train longer, or check the rule against the data"
            )
        total = sum(again.values())
        self.drawn_again = {text: count / len(out) for text, count in again.items()}
        if total:
            shares = ", ".join(
                f"{100 * k / len(out):.1f} % for {t!r}" for t, k in again.items() if k
            )
            log(f"drew {total} rows again to obey the rules ({shares})")
        return out

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
        if model_space:
            return out
        given = from_dataframe(data) if is_dataframe(data) else None  # a row keeps its key
        return self.to_data(out, c, given)

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
    ) -> Any:
        """Anomaly scores of ``data`` (anything :meth:`to_model` takes; ``condition`` as
        there) in nats, higher = more unusual: a float64 numpy array (N,), or for a DataFrame
        a pandas Series on its index (named ``score``), so ``df[run.score(df) > t]`` works.

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
        scores = self.require_finite(scores, "anomaly scores")
        if is_dataframe(data):
            import pandas as pd

            return pd.Series(scores, index=data.index, name="score")
        return scores

    def calibrate(
        self, data: Any, by: str = "nll", k: int = 1000, seed: int = 0, condition: Any = None
    ) -> Calibration:
        """Score normal ``data`` the model never saw — not the training data, nor the
        validation split that picked the weights — and keep the scores with the run
        (``calibration.json``), so ``score --fpr`` can flag new examples at a known
        false-alarm rate (:mod:`vaekit.metrics.calibration`). ``data``: a file, the "test"
        split, or anything :meth:`to_model` takes; ``by``, ``k``, ``seed`` as :meth:`score`."""
        if isinstance(data, str) and data in ("train", "val"):
            raise VaekitError(
                f"calibrate: the {data} split helped fit or pick these weights, so its scores "
                "run low; calibrate on normal data kept apart (a file, or the test split)"
            )
        where: dict[str, Any] = {"source": str(data) if isinstance(data, (str, Path)) else ""}
        if isinstance(data, (str, Path)) and Path(data).expanduser().is_file():
            where["sha256"] = fingerprint(Path(data)).get("sha256")
            if where["sha256"] and where["sha256"] == self.config.data.location.get("sha256"):
                raise fail(data, "is the training data; calibrate on normal data kept apart")
        scores = self.score(data, by=by, k=k, seed=seed, condition=condition)
        record = calibrate(np.asarray(scores), by, k, seed, **where)
        record.weights_sha256 = self.weights_checksum
        atomic_write_json(self.path / CALIBRATION, record.to_dict())
        return record

    @property
    def calibration(self) -> Calibration | None:
        """The run's calibration (None before :meth:`calibrate`); refused in one line when
        damaged or made with other weights."""
        path = self.path / CALIBRATION
        if not path.is_file():
            return None
        try:
            record = Calibration.from_dict(parse_json(path.read_text()))
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise fail(path, f"is damaged ({err}); run vaekit calibrate again") from None
        if record.weights_sha256 not in (None, self.weights_checksum):
            raise fail(path, "was made with other weights; run vaekit calibrate again")
        return record

    def explain(self, data: Any, condition: Any = None, over_typical: bool = False) -> Any:
        """Which part of each example makes it unusual: the ``recon`` score
        (-log p(x | z = E[z|x]), nats) split into its parts, which sum to it. A table gives a
        DataFrame of nats per generated column (on a DataFrame's index); images give
        (N, C, H, W) nats per pixel. ``over_typical``: each part minus its median over the
        training examples (a column with many categories, or a spread-out number, costs more
        nats in every row), so the largest is the part most above its usual cost — the one
        ``score --explain`` names. ``data`` and ``condition`` as :meth:`to_model` takes them."""
        parts = self._explanation_parts(self.to_model(data, condition=condition))
        if over_typical:
            parts = parts - self.typical_parts
        if self.kind != "table":
            return parts.reshape(len(parts), *self.model.input_shape)
        import pandas as pd

        names = self.schema.per_column(np.zeros((0, self.model.input_size)))[0]
        index = data.index if is_dataframe(data) else None
        return pd.DataFrame(parts, columns=names, index=index)

    def _explanation_parts(self, dataset: Dataset) -> np.ndarray:
        """The recon score's parts: per table column (N, columns), or per value (N, D)."""
        from vaekit.metrics.scores import value_scores

        terms = value_scores(self.model, dataset.x, conditions=dataset.conditions)
        terms = self.require_finite(terms, "explanations")
        return self.schema.per_column(terms)[1] if self.kind == "table" else terms

    @functools.cached_property
    def typical_parts(self) -> np.ndarray:
        """Each part of :meth:`explain` (a table column, or a pixel) at its median over (up to
        10,000) training examples: its usual cost in nats, which ``over_typical`` subtracts."""
        train = self.splits().train.take(slice(0, TYPICAL_ROWS))
        return np.median(self._explanation_parts(train), axis=0)

    @property
    def kind(self) -> str:
        """ "image" or "table": how examples are shown and exported."""
        return self.schema.kind

    def _tensor(self, x: np.ndarray | torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
        return t.to(device=self.model.device, dtype=torch.float32)

    def _optional(self, x: torch.Tensor | None) -> torch.Tensor | None:
        return None if x is None else self._tensor(x)


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


def _generator(seed: int | None) -> torch.Generator | None:
    return None if seed is None else torch.Generator().manual_seed(seed)
