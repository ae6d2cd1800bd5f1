"""Datasets: read raw arrays from a built-in source or the user's files, scale, split.

Every reader returns a :class:`RawData` (numpy arrays, untouched values); one pipeline then checks,
scales and splits it, so the same rules apply to every format. The scaling chosen the first time is
recorded in the run's config (``data.transform``) and re-applied verbatim to new data later.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaekit.config import DataConfig
from vaekit.data.raw import RawData
from vaekit.errors import VaekitError, fail

BUILTIN = ("digits", "mnist")


@dataclass
class Dataset:
    """Examples in model space: ``x`` is (N, *shape) float32, ``labels`` (N,) int64 or None."""

    x: torch.Tensor
    labels: torch.Tensor | None

    def __len__(self) -> int:
        return self.x.shape[0]


@dataclass
class DataSplits:
    train: Dataset
    val: Dataset
    test: Dataset | None
    shape: tuple[int, ...]  # one example: (C, H, W) for images, (D,) for tabular
    kind: str  # "image" or "tabular"
    transform: dict[str, Any]
    source: str
    class_names: list[str] | None = None

    @property
    def eval_split(self) -> Dataset:
        """The held-out data evaluation uses by default: test when the source has one."""
        return self.test if self.test is not None else self.val


def value_range(dataset) -> tuple[float, float]:
    """(min, max) of a split in model space; a streamed split knows it from its scan."""
    if hasattr(dataset, "value_range"):
        return dataset.value_range
    return float(dataset.x.min()), float(dataset.x.max())


def first_examples(dataset, limit: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Up to ``limit`` examples and their labels, in memory, from any split (streamed too)."""
    if hasattr(dataset, "head"):
        return dataset.head(limit)
    labels = None if dataset.labels is None else dataset.labels[:limit]
    return dataset.x[:limit], labels


def read_raw(config: DataConfig) -> RawData:
    """Read the configured source into raw arrays (no scaling yet)."""
    source = config.source
    if source in BUILTIN:
        from vaekit.data import builtin

        return builtin.read(source)
    from vaekit.data import files

    path = Path(source).expanduser()
    if not path.exists():
        known = ", ".join(BUILTIN)
        raise fail(source, f"no such file or folder, and not a built-in dataset ({known})")
    return files.read(path, config)


def load_splits(config: DataConfig) -> DataSplits:
    """Read, check, scale and split the data described by ``config``.

    ``config.transform`` is filled in when empty (first use) and re-used when already set.
    """
    if streams(config):
        from vaekit.data.stream import load_streaming_splits

        return load_streaming_splits(config)
    raw = read_raw(config)
    transform = config.transform or choose_transform(raw)
    x = apply_transform(raw.values, transform, raw.where)
    labels = raw.labels
    if raw.splits is not None:
        pieces = [(x[s], None if labels is None else labels[s]) for s in raw.splits]
    else:
        pieces = list(split(x, labels, config.val_fraction, config.split_seed, raw.where))
    datasets = [_to_dataset(px, pl) for px, pl in pieces]
    if config.binarize != "none":
        check_unit_range(x, raw.where, "--binarize")
        gen = torch.Generator().manual_seed(config.split_seed + 1)
        # Held-out data is binarised once with a fixed seed; "dynamic" re-samples train each epoch.
        for i, d in enumerate(datasets):
            if i > 0 or config.binarize == "static":
                d.x = torch.bernoulli(d.x, generator=gen)
    config.transform = transform
    return DataSplits(
        train=datasets[0],
        val=datasets[1],
        test=datasets[2] if len(datasets) > 2 else None,
        shape=tuple(x.shape[1:]),
        kind=raw.kind,
        transform=transform,
        source=config.source,
        class_names=raw.class_names,
    )


STREAM_ABOVE = 1 << 30  # .npy files larger than this are streamed under data.stream = "auto"


def streams(config: DataConfig) -> bool:
    """Whether this source is read as a stream (a .npy file, never loaded whole)."""
    if config.stream == "off" or not config.source.lower().endswith(".npy"):
        return False
    path = Path(config.source).expanduser()
    return config.stream == "on" or (path.is_file() and path.stat().st_size > STREAM_ABOVE)


SPLIT_NAMES = ("train", "val", "test")


def split_named(splits: DataSplits, source: str, config: DataConfig) -> Dataset:
    """``splits``' train, val or test split (``source``), held in memory."""
    chosen = {"train": splits.train, "val": splits.val, "test": splits.eval_split}[source]
    if not isinstance(chosen, Dataset):
        raise fail(
            source,
            f"this run's training split is streamed from {config.source} (larger than "
            "memory); use val, or pass a file holding the examples you want",
        )
    return chosen


def load_examples(source: str, config: DataConfig, shape: tuple[int, ...]) -> Dataset:
    """Read new data for an existing run (a file/folder or a built-in name): the run's
    transform, checked against the run's shape. The run's own splits: ``Run.data``."""
    new = DataConfig(**{**config.__dict__, "source": source})
    new.labels = None if source != config.source else config.labels
    raw = read_raw(new)
    x = apply_transform(raw.values, config.transform or choose_transform(raw), raw.where)
    if tuple(x.shape[1:]) != tuple(shape):
        if int(np.prod(x.shape[1:])) == int(np.prod(shape)):
            x = x.reshape(x.shape[0], *shape)
        else:
            raise fail(
                raw.where,
                f"examples have shape {tuple(x.shape[1:])} but this run's model "
                f"takes {tuple(shape)}",
            )
    return _to_dataset(x, raw.labels)


def choose_transform(raw: RawData) -> dict[str, Any]:
    """Pick how raw values map to model space: scale integers, standardise tabular data."""
    values = raw.values

    def moments() -> tuple[np.ndarray, np.ndarray]:
        flat = values.reshape(values.shape[0], -1).astype(np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            return flat.mean(axis=0), flat.std(axis=0)

    lo, hi = (float(values.min()), float(values.max())) if values.size else (np.nan, np.nan)
    return transform_for(raw.kind, raw.scale, raw.standardize, values.dtype, lo, hi, moments)


def transform_for(kind, scale, standardize, dtype, lo, hi, moments) -> dict[str, Any]:
    """The rule behind :func:`choose_transform`, from the values' range; ``moments()`` gives the
    per-column mean and std and is called only when tabular data gets standardised."""
    if scale is not None:
        return {"kind": "divide", "by": float(scale)}
    unit_range = bool(lo >= 0 and hi <= 1)
    if kind == "tabular" and (standardize or not unit_range):
        mean, std = moments()
        std = np.where(std == 0, 1.0, std)  # a constant column stays constant (0), not 0/0
        return {"kind": "standardize", "mean": mean.tolist(), "std": std.tolist()}
    if np.issubdtype(dtype, np.integer) and hi > 1:
        return {"kind": "divide", "by": 255.0}
    return {"kind": "identity"}


def apply_transform(values: np.ndarray, transform: dict[str, Any], where: str) -> np.ndarray:
    """Scale raw values into model space (float32); refuse values that overflow on the way."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        x = _scale(values, transform, where)
    if not np.isfinite(x).all():
        raise fail(
            where,
            "values are too large to represent as float32 after scaling "
            "(overflow); rescale the data",
        )
    return x


def _scale(values: np.ndarray, transform: dict[str, Any], where: str) -> np.ndarray:
    x = values.astype(np.float32)
    kind = transform.get("kind")
    if kind == "divide":
        x /= np.float32(transform["by"])
    elif kind == "standardize":
        mean = np.asarray(transform["mean"], dtype=np.float32)
        std = np.asarray(transform["std"], dtype=np.float32)
        flat = x.reshape(x.shape[0], -1)
        if flat.shape[1] != mean.size:
            raise fail(where, f"has {flat.shape[1]} columns but the run was trained on {mean.size}")
        x = ((flat - mean) / std).reshape(x.shape)
    elif kind != "identity":
        raise VaekitError(f"data.transform: unknown kind {kind!r}")
    return x


def invert_transform(x: np.ndarray, transform: dict[str, Any]) -> np.ndarray:
    """Map model-space values back to the data's own units (e.g. CSV columns)."""
    if transform.get("kind") == "standardize":
        mean = np.asarray(transform["mean"], dtype=np.float32)
        std = np.asarray(transform["std"], dtype=np.float32)
        return (x.reshape(x.shape[0], -1) * std + mean).reshape(x.shape)
    if transform.get("kind") == "divide":
        return x * np.float32(transform["by"])
    return x


def validation_count(n: int, val_fraction: float, where: object, cap: int | None = None) -> int:
    """Examples held out for validation: ``val_fraction`` of ``n`` (at most ``cap``), refusing a
    split that leaves either side empty."""
    n_val = int(round(n * val_fraction))
    if cap is not None:
        n_val = min(cap, n_val)
    if val_fraction >= 1 or n_val < 1 or n - n_val < 1:
        raise fail(
            where,
            f"{n} examples cannot be split with val_fraction={val_fraction}: "
            "need at least one training and one validation example",
        )
    return n_val


def split(x: np.ndarray, labels: np.ndarray | None, val_fraction: float, seed: int, where: str):
    """Seeded train/validation split: yields (x, labels) for train then validation."""
    n = x.shape[0]
    n_val = validation_count(n, val_fraction, where)
    order = np.random.default_rng(seed).permutation(n)
    for idx in (order[n_val:], order[:n_val]):
        idx = np.sort(idx)
        yield x[idx], None if labels is None else labels[idx]


def check_unit_range(x: np.ndarray | torch.Tensor, where: str, why: str) -> None:
    """Bernoulli decoders and binarisation need every value in [0, 1]."""
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 1:
        raise fail(
            where,
            f"values lie in [{lo:.4g}, {hi:.4g}], outside [0, 1], which {why} "
            "needs; use --likelihood gaussian (or rescale the data)",
        )


def _to_dataset(x: np.ndarray, labels: np.ndarray | None) -> Dataset:
    y = None if labels is None else torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64))
    return Dataset(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), y)
