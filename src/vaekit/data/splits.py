"""Datasets: read raw data from a built-in source or the user's files, map it, split it.

Every reader returns a :class:`RawData` (images as untouched arrays, or a table of named columns);
one pipeline then maps it into model space by the data's schema (:mod:`vaekit.data.schema`) and
splits it, so the same rules apply to every format. The schema inferred the first time is
recorded in the run's config (``data.schema``) and used for every file the run is given later.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from vaekit.config.run import DataConfig
from vaekit.core.errors import fail
from vaekit.data.builtin import read as read_builtin
from vaekit.data.datasets import Dataset, DataSplits, check_kind, check_unit_range, validation_count
from vaekit.data.factors import factors_by_name, read_factor_table
from vaekit.data.files import read as read_file
from vaekit.data.location import BUILTIN, locate, locate_beside
from vaekit.data.raw import RawData
from vaekit.data.schema.columns import encode_conditions, listing
from vaekit.data.schema.image import infer_image_schema
from vaekit.data.schema.infer import infer_table_schema
from vaekit.data.schema.legacy import recorded_schema
from vaekit.data.schema.table import Schema
from vaekit.data.stream import load_streaming_splits


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
    """Read the configured source into raw arrays or a table (no scaling yet), with its factor
    table where one is given."""
    source = locate(config)
    if source in BUILTIN:
        raw = read_builtin(source, config.subset)
    else:
        path = Path(source).expanduser()
        if not path.exists():
            known = ", ".join(BUILTIN)
            raise fail(source, f"no such file or folder, and not a built-in dataset ({known})")
        if config.subset is not None:
            raise fail(source, "--subset: only for the rendered sprites")
        raw = read_file(path, dataclasses.replace(config, labels=locate_beside(config, "labels")))
    factors = locate_beside(config, "factors")
    if factors:
        if raw.table is not None:
            raise fail(factors, "--factors: factor tables are for images; this data is a table")
        raw.factors, raw.factor_values = read_factor_table(Path(factors).expanduser(), len(raw))
    return raw


def infer_schema(raw: RawData, config: DataConfig) -> Schema:
    """The schema of training data read for the first time (the user's column spec applied)."""
    if raw.table is not None:
        label = config.labels if config.labels in raw.table.names else None
        return infer_table_schema(
            raw.table, config.columns, label, config.condition, config.scaling, config.rules
        )
    if config.columns:
        raise fail(raw.where, "--column: column kinds are for tables; this data is images")
    if config.rules:
        raise fail(raw.where, "--rule: rules are between a table's columns; this data is images")
    return infer_image_schema(
        raw.values, raw.scale, raw.class_names, raw.labels, config.condition, raw.factor_values
    )


Encoded = tuple[np.ndarray, np.ndarray | None, np.ndarray | None]  # x, labels, conditions


def encode(raw: RawData, schema: Schema) -> Encoded:
    """Raw data in its own units -> (model-space float32 examples, labels, conditions) by
    ``schema``; conditions are None unless the run is conditional."""
    check_kind(raw.table is not None, schema, raw.where)
    if raw.table is not None:
        x, labels = schema.encode(raw.table)
        conditions = None
        if schema.conditions and all(c.name in raw.table.names for c in schema.conditions):
            conditions = encode_conditions(schema.conditions, raw.table)
        return x, labels if labels is not None else raw.labels, conditions
    x, labels = schema.encode(raw.values, raw.where), _labels_by_name(raw, schema)
    conditions = None
    if schema.conditions and labels is not None:
        conditions = encode_conditions(schema.conditions, schema.condition_table(labels, raw.where))
    return x, labels, conditions


def missing_conditions(schema: Schema) -> str:
    """What data without the run's conditions lacks, for its one-line error."""
    if schema.kind == "image":
        return "has no labels, and this run is conditioned on the class label"
    names = ", ".join(repr(c.name) for c in schema.conditions)
    return f"does not hold every condition column of this run ({names})"


def _labels_by_name(raw: RawData, schema: Schema) -> np.ndarray | None:
    """Image labels in the run's class numbering: classes named by the source (folder names)
    are matched to the run's class names, so a folder missing a class still lines up."""
    if raw.labels is None or not raw.class_names or not schema.classes:
        return raw.labels
    if raw.class_names == schema.classes:
        return raw.labels
    index = {name: i for i, name in enumerate(schema.classes)}
    unknown = [name for name in raw.class_names if name not in index]
    if unknown:
        raise fail(
            raw.where,
            f"class {unknown[0]!r} was not a class in training ({listing(schema.classes, 10)})",
        )
    return np.asarray([index[name] for name in raw.class_names])[raw.labels]


def load_splits(config: DataConfig) -> DataSplits:
    """Read, check, map into model space and split the data described by ``config``.

    ``config.schema`` is inferred and filled in when empty (first use) and used when set.
    """
    if streams(config):
        if config.factors:
            raise fail(config.factors, "--factors: not for a streamed file (over 1 GiB)")
        return load_streaming_splits(config)
    raw = read_raw(config)
    schema = recorded_schema(config) or infer_schema(raw, config)
    whole = to_dataset(*encode(raw, schema))
    whole.factors = factors_of(raw, schema)
    if schema.conditions and whole.conditions is None:  # training data must carry them
        raise fail(raw.where, missing_conditions(schema))
    if raw.splits is not None:
        indices = [np.arange(len(whole))[s] for s in raw.splits]
    else:
        indices = [rows.numpy() for rows in split(len(whole), config, raw.where)]
    if config.train_on_all:
        indices = _train_on_all(indices, raw.where)
    datasets = [whole.take(torch.as_tensor(rows)) for rows in indices]
    x = whole.x
    if config.binarize != "none":
        check_unit_range(x, raw.where, "--binarize")
        gen = torch.Generator().manual_seed(config.split_seed + 1)
        # Held-out data is binarised once with a fixed seed; "dynamic" re-samples train each epoch.
        for i, d in enumerate(datasets):
            if i > 0 or config.binarize == "static":
                d.x = torch.bernoulli(d.x, generator=gen)
    config.schema = schema.to_dict()
    return DataSplits(
        train=datasets[0],
        val=datasets[1],
        test=datasets[2] if len(datasets) > 2 else None,
        schema=schema,
        source=config.source,
        table=raw.table,
        rows=indices if raw.table is not None else None,
    )


def _train_on_all(indices: list[np.ndarray], where: object) -> list[np.ndarray]:
    """The rows of train and validation together for training (validation kept, for
    monitoring only), refused where no test split remains unseen."""
    if len(indices) < 3:
        raise fail(
            where,
            "--train-on-all: this source has no test split, so nothing would stay unseen for "
            "evaluation; leave it out (it is for sources with train/validation/test splits, "
            "such as mnist)",
        )
    return [np.sort(np.concatenate(indices[:2])), *indices[1:]]


STREAM_ABOVE = 1 << 30  # .npy files larger than this are streamed under data.stream = "auto"


def streams(config: DataConfig) -> bool:
    """Whether this source is read as a stream (a .npy file, never loaded whole)."""
    if config.stream == "off" or not config.source.lower().endswith(".npy"):
        return False
    path = Path(locate(config)).expanduser()
    return config.stream == "on" or (path.is_file() and path.stat().st_size > STREAM_ABOVE)


SPLIT_NAMES = ("train", "val", "test")


def split_named(splits: DataSplits, source: str | None, config: DataConfig) -> Dataset:
    """``splits``' train, val or test split (``source``; None: the held-out one), in memory."""
    if source == "test" and splits.test is None:
        raise fail(
            "--data test",
            f"{config.source} has no test split (only train and validation); use --data val, "
            "or pass a file of test examples",
        )
    chosen = {"train": splits.train, "val": splits.val, "test": splits.test}.get(
        source, splits.eval_split
    )
    if not isinstance(chosen, Dataset):
        raise fail(
            source,
            f"this run's training split is streamed from {config.source} (larger than "
            "memory); use val, or pass a file holding the examples you want",
        )
    return chosen


def load_examples(source: str, config: DataConfig, schema: Schema) -> Dataset:
    """Read new data for an existing run (a file/folder or a built-in name) and map it into
    model space by the run's schema. The run's own splits: ``Run.data``."""
    raw = read_new(source, config)
    dataset = to_dataset(*encode(raw, schema))
    dataset.factors = factors_of(raw, schema)
    return dataset


def factors_of(raw: RawData, schema: Schema) -> torch.Tensor | None:
    """The factor indices of ``raw``'s examples in the run's numbering (None where either the
    data or the run has no factors)."""
    recorded = getattr(schema, "factors", None)
    if raw.factors is None or not recorded:
        return None
    values = raw.factor_values or {}
    indices = factors_by_name(raw.factors, values, recorded, raw.where)
    return torch.from_numpy(np.ascontiguousarray(indices, dtype=np.int64))


def read_new(source: str, config: DataConfig) -> RawData:
    """Read a file/folder (or built-in name) given to an existing run, as the training data was
    read, without mapping it."""
    new = DataConfig(**{**config.__dict__, "source": source})
    if source != config.source:  # another file: not the training one, nothing recorded of it
        new.labels, new.factors, new.subset, new.location = None, None, None, {}
    return read_raw(new)


def split(n: int, config: DataConfig, where: str) -> list[torch.Tensor]:
    """Seeded train/validation split of ``n`` examples: the train rows, then the validation
    rows, each in file order."""
    n_val = validation_count(n, config.val_fraction, where)
    order = np.random.default_rng(config.split_seed).permutation(n)
    return [torch.from_numpy(np.sort(idx)) for idx in (order[n_val:], order[:n_val])]


def to_dataset(
    x: np.ndarray, labels: np.ndarray | None, conditions: np.ndarray | None = None
) -> Dataset:
    """Encoded arrays (model space, labels, conditions) as a :class:`Dataset` of tensors."""
    y = None if labels is None else torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64))
    c = None if conditions is None else torch.from_numpy(np.ascontiguousarray(conditions))
    return Dataset(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), y, c)
