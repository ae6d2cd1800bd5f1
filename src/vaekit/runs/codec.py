"""A run's data in the user's units and in model space, both ways: images, tables (DataFrames,
CSV files, 2-D arrays) and a conditional run's conditions, mapped by the run's schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaekit.config.run import RunConfig
from vaekit.core.errors import fail
from vaekit.core.tensorfiles import read_tensors
from vaekit.data.schema import Schema, condition_table, decode_conditions, encode_conditions
from vaekit.data.splits import (
    Dataset,
    DataSplits,
    check_unit_range,
    load_examples,
    missing_conditions,
    to_dataset,
)
from vaekit.data.table import Table, is_dataframe, spell
from vaekit.models.base import Autoencoder
from vaekit.runs.folder import CONDITIONS


class Codec:
    """The user's units <-> model space, for :class:`vaekit.runs.Run` (which it is a part of):
    it needs the run's ``schema``, ``config``, ``model`` and training ``splits``."""

    path: Path
    schema: Schema
    config: RunConfig
    model: Autoencoder

    def splits(self) -> DataSplits:
        """The run's data splits (:meth:`vaekit.runs.Run.splits` gives them)."""
        raise NotImplementedError

    def training_conditions(self) -> torch.Tensor:
        """(N, C) the training examples' model-space conditions: from the run folder's
        conditions.safetensors (no data needed), or for a run written before it, the data."""
        file = self.path / CONDITIONS
        if not file.exists():
            return self.splits().train.conditions
        t, _ = read_tensors(file, "conditions")
        rows, index = t.get("rows"), t.get("index")
        width = self.model.condition_dim
        if rows is None or index is None or rows.ndim != 2 or rows.shape[1] != width:
            raise fail(file, f"expected rows (K, {width}) and their index (N,)")
        if index.ndim != 1 or index.dtype != torch.int64 or not len(index):
            raise fail(file, "expected a non-empty int64 index (N,)")
        if int(index.min()) < 0 or int(index.max()) >= len(rows):
            raise fail(file, "the index names rows that are not there")
        return rows[index]

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
        given = data if is_dataframe(data) else _numpy(data)
        x, labels, conditions = self.schema.from_user(given, where)
        self._check_support(x, where)
        return to_dataset(x, labels, conditions)

    def to_data(
        self, x: np.ndarray | torch.Tensor, conditions: Any = None, given: Table | None = None
    ) -> Any:
        """Model-space values -> the user's units: images as floats in [0, 1] (N, C, H, W);
        tables as a pandas DataFrame with the training file's column names, kinds and
        categories (a conditional run's condition columns too, from model-space
        ``conditions``; the keys of ``given``, the rows ``x`` stands for, where it has them)."""
        c = None if conditions is None else _numpy(conditions)
        if given is not None:
            return self.schema.to_user(_numpy(x), c, given)
        return self.schema.to_user(_numpy(x), c)

    def to_table(self, x: np.ndarray, conditions: Any = None) -> Table:
        """Model-space table rows (and their conditions) -> a Table in the data's units, the
        condition columns in their place among the features."""
        return self.schema.to_table(_numpy(x), None if conditions is None else _numpy(conditions))

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
            pool = self.training_conditions()
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


def _per_example(condition: Any) -> bool:
    """Whether ``condition`` holds one value per example (a list, array or 1-D tensor)."""
    if isinstance(condition, (list, tuple)):
        return True
    return isinstance(condition, (np.ndarray, torch.Tensor)) and condition.ndim == 1


def _numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)
