"""Data larger than memory: a .npy file memory-mapped and read in shuffled blocks of rows.

The file is never loaded whole. An epoch visits blocks of contiguous rows (8 MiB each) in a seeded
random order, a window of ``WINDOW_BLOCKS`` blocks at a time, shuffled within the window, so reads
are large and sequential while batches still mix examples from across the file. After a block is
copied out its pages are dropped from this process (``madvise(MADV_DONTNEED)``): the kernel's page
cache may keep the file, but the process's resident memory stays at a few windows. Validation is a
seeded random sample of rows, at most ``VAL_CAP``, held in memory like any other split.
"""

from __future__ import annotations

import mmap
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vaekit.config.run import DataConfig
from vaekit.core.errors import fail
from vaekit.core.progress import log
from vaekit.data.datasets import Dataset, DataSplits, check_kind, check_unit_range, validation_count
from vaekit.data.files import classify, read_labels
from vaekit.data.location import locate
from vaekit.data.raw import check_labels
from vaekit.data.schema.columns import Column
from vaekit.data.schema.image import ImageSchema, grey_levels
from vaekit.data.schema.legacy import recorded_schema
from vaekit.data.schema.table import Schema, TableSchema
from vaekit.data.table import format_number, from_array

BLOCK_BYTES = 8 << 20
WINDOW_BLOCKS = 8  # blocks shuffled together: 64 MiB of raw rows
VAL_CAP = 10_000  # validation examples held in memory
SCAN_BYTES = 64 << 20  # rows per chunk when scanning the whole file for its statistics


class NpyRows:
    """Rows of a C-ordered .npy file through a read-only memory map, released after each read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            with open(path, "rb") as handle:
                version = np.lib.format.read_magic(handle)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                header = read_header(handle)  # a literal dict: nothing is unpickled
                self.offset = handle.tell()
        except (ValueError, OSError, EOFError) as err:
            raise fail(path, f"not a valid .npy file ({err})") from None
        shape, fortran, dtype = header
        if dtype.hasobject:
            raise fail(path, "holds Python objects (pickled); vaekit only reads numeric arrays")
        if fortran and len(shape) > 1:
            raise fail(path, "is stored in Fortran order; streaming needs C order (np.save(a))")
        if len(shape) not in (2, 3, 4):
            raise fail(path, f"expected (N, D), (N, H, W) or (N, C, H, W) rows, got {shape}")
        if 0 in shape:
            raise fail(path, f"contains no data (shape {tuple(shape)})")
        if not (np.issubdtype(dtype, np.number) or dtype == np.bool_) or dtype.kind == "c":
            raise fail(path, f"has dtype {dtype}; vaekit needs real numbers")
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        self.row_values = int(np.prod(shape[1:]))
        self.row_bytes = self.row_values * self.dtype.itemsize
        size = path.stat().st_size
        if self.offset + self.row_bytes * shape[0] > size:
            raise fail(path, f"is truncated: the header promises {shape}, the file is shorter")
        with open(path, "rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        self._values = np.frombuffer(
            self._map, self.dtype, shape[0] * self.row_values, self.offset
        ).reshape(shape[0], self.row_values)

    def __len__(self) -> int:
        return self.shape[0]

    def read(self, start: int, stop: int) -> np.ndarray:
        """A copy of rows [start, stop) as (rows, values per row); their pages are released."""
        out = np.array(self._values[start:stop])
        self.release(start, stop)
        return out

    def release(self, start: int, stop: int) -> None:
        """Drop the pages of rows [start, stop) from this process (the file is unchanged)."""
        page = mmap.PAGESIZE
        first = (self.offset + start * self.row_bytes) // page * page
        last = self.offset + stop * self.row_bytes
        if hasattr(self._map, "madvise") and last > first:
            self._map.madvise(mmap.MADV_DONTNEED, first, min(last, len(self._map)) - first)

    def chunks(self, rows: int | None = None):
        """(start, rows) over the whole file, ``rows`` at a time (about 64 MiB by default)."""
        step = rows or max(1, SCAN_BYTES // self.row_bytes)
        for start in range(0, len(self), step):
            yield start, self.read(start, min(start + step, len(self)))


@dataclass
class FileStats:
    """What one pass over the file tells: the value range and, for tables, column moments and
    ranges."""

    lo: float
    hi: float
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    column_lo: np.ndarray | None = None
    column_hi: np.ndarray | None = None


def scan(rows: NpyRows, columns: bool) -> FileStats:
    """One chunked pass: refuse NaN/inf (naming the first bad example), find min and max, and
    per-column moments and ranges when ``columns`` (tabular data that may be standardised)."""
    lo, hi = np.inf, -np.inf
    width = rows.row_values
    count, mean, m2 = 0, np.zeros(width), np.zeros(width)
    column_lo, column_hi = np.full(width, np.inf), np.full(width, -np.inf)
    floating = np.issubdtype(rows.dtype, np.floating)
    step = max(1, SCAN_BYTES // (width * (8 if columns else rows.dtype.itemsize)))
    for start, chunk in rows.chunks(step):
        if floating:
            bad = ~np.isfinite(chunk).all(axis=1)
            if bad.any():
                row = start + int(np.argmax(bad))
                raise fail(rows.path, f"contains NaN or infinite values (first in example {row})")
        lo, hi = min(lo, float(chunk.min())), max(hi, float(chunk.max()))
        if columns:  # Chan et al.'s merge of chunk moments: stable where sum of squares is not
            wide = chunk.astype(np.float64)
            with np.errstate(over="ignore", invalid="ignore"):
                chunk_mean = wide.mean(axis=0)
                chunk_m2 = np.square(wide - chunk_mean).sum(axis=0)
                delta, total = chunk_mean - mean, count + len(wide)
                mean = mean + delta * (len(wide) / total)
                m2 = m2 + chunk_m2 + np.square(delta) * (count * len(wide) / total)
            count = total
            column_lo = np.minimum(column_lo, wide.min(axis=0))
            column_hi = np.maximum(column_hi, wide.max(axis=0))
    if not columns:
        return FileStats(lo, hi)
    with np.errstate(over="ignore", invalid="ignore"):
        std = np.sqrt(m2 / count)
    return FileStats(lo, hi, mean, std, column_lo, column_hi)


class StreamingDataset:
    """The training rows of a streamed .npy file: ``dataset[row_ids]`` gives float32 examples in
    model space; ``epoch_order`` gives one epoch's block-shuffled row order. Blocks are read once
    and kept in a small least-recently-used cache (two windows), so an epoch reads the file once
    and a resumed epoch needs nothing but its saved order. A streamed run is never conditional
    (refused when the splits are made), so its examples have no conditions."""

    conditions = None

    def __init__(
        self,
        rows: NpyRows,
        held_out: np.ndarray,
        shape: tuple[int, ...],
        to_model_space: Callable[[np.ndarray], torch.Tensor],
        labels: np.ndarray | None,
        value_range: tuple[float, float],
    ) -> None:
        self.rows, self.shape, self._to_model_space = rows, shape, to_model_space
        self.value_range = value_range  # (min, max) in model space, from the scan
        self.block_rows = max(1, BLOCK_BYTES // rows.row_bytes)
        self.n_blocks = -(-len(rows) // self.block_rows)
        self.is_held_out = np.zeros(len(rows), dtype=bool)
        self.is_held_out[held_out] = True
        train = ~self.is_held_out
        self.labels = None if labels is None else torch.from_numpy(labels[train])
        self._length = int(train.sum())
        self._blocks: OrderedDict[int, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return self._length

    def epoch_order(self, generator: torch.Generator) -> torch.Tensor:
        """Row ids for one epoch: blocks in random order, taken ``WINDOW_BLOCKS`` at a time,
        rows shuffled within each window."""
        blocks = torch.randperm(self.n_blocks, generator=generator).numpy()
        parts = []
        for start in range(0, self.n_blocks, WINDOW_BLOCKS):
            window = np.sort(blocks[start : start + WINDOW_BLOCKS])
            ids = np.concatenate([self._block_ids(b) for b in window])
            parts.append(ids[torch.randperm(len(ids), generator=generator).numpy()])
        return torch.from_numpy(np.concatenate(parts))

    def _block_ids(self, block: int) -> np.ndarray:
        start = block * self.block_rows
        ids = np.arange(start, min(start + self.block_rows, len(self.rows)))
        return ids[~self.is_held_out[ids]]

    def __getitem__(self, row_ids: torch.Tensor) -> torch.Tensor:
        ids = row_ids.cpu().numpy()
        blocks = ids // self.block_rows
        out = np.empty((len(ids), self.rows.row_values), dtype=self.rows.dtype)
        for block in np.unique(blocks):
            mine = blocks == block
            out[mine] = self._block(int(block))[ids[mine] - block * self.block_rows]
        return self._to_model_space(out).reshape(len(ids), *self.shape)

    def _block(self, block: int) -> np.ndarray:
        if block in self._blocks:
            self._blocks.move_to_end(block)
        else:
            start = block * self.block_rows
            stop = min(start + self.block_rows, len(self.rows))
            self._blocks[block] = self.rows.read(start, stop)
            while len(self._blocks) > 2 * WINDOW_BLOCKS:
                self._blocks.popitem(last=False)
        return self._blocks[block]

    def head(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The first ``n`` training examples (file order) and their labels, in memory."""
        ids = torch.from_numpy(np.flatnonzero(~self.is_held_out)[: min(n, len(self))])
        labels = None if self.labels is None else self.labels[: len(ids)]
        x = torch.cat([self[part] for part in ids.split(4096)])
        self._blocks.clear()
        return x, labels


def load_streaming_splits(config: DataConfig) -> DataSplits:
    """Splits for a streamed .npy file: training rows stay on disk, validation in memory."""
    path = _streamable(config)
    rows = NpyRows(path)
    # Column moments are needed unless the rows are images whatever their range (8-bit pixels).
    columns = classify(rows.shape, rows.dtype, lambda: False, str(path))[0] == "tabular"
    stats = scan(rows, columns=columns)
    kind, shape, scale = classify(
        rows.shape, rows.dtype, lambda: stats.lo >= 0 and stats.hi <= 1, str(path)
    )
    schema = recorded_schema(config)
    if schema is None:
        schema = streamed_schema(rows, stats, kind, shape, scale)
        if schema.kind == "table" and config.scaling == "quantile":
            log(
                f"note: {path}: a streamed table's columns are standardised, not mapped by "
                "their quantiles (that needs the whole file in memory; --stream off does it)"
            )
    check_kind(kind == "tabular", schema, path)
    config.schema = schema.to_dict()
    to_model_space = block_encoder(schema, path, (stats.lo, stats.hi))
    # Each column's extremes map to its extremes in model space (every map here is monotone).
    if columns:
        extremes = np.stack([stats.column_lo, stats.column_hi])
    else:
        extremes = np.full((2, rows.row_values), [[stats.lo], [stats.hi]])
    scaled = to_model_space(extremes.astype(rows.dtype)).numpy()
    value_range = (float(scaled.min()), float(scaled.max()))
    shape = tuple(schema.shape)
    labels = None
    if config.labels is not None:
        labels = check_labels(read_labels(Path(config.labels).expanduser()), len(rows), str(path))
    n = len(rows)
    n_val = validation_count(n, config.val_fraction, path, cap=VAL_CAP)
    held_out = np.sort(np.random.default_rng(config.split_seed).choice(n, n_val, replace=False))
    val_values = np.concatenate([rows.read(int(i), int(i) + 1) for i in held_out])
    val = Dataset(
        to_model_space(val_values).reshape(n_val, *shape),
        None if labels is None else torch.from_numpy(labels[held_out]),
    )
    if config.binarize == "dynamic":
        check_unit_range(np.array(value_range), str(path), "--binarize")
        gen = torch.Generator().manual_seed(config.split_seed + 1)
        val.x = torch.bernoulli(val.x, generator=gen)
    train = StreamingDataset(rows, held_out, shape, to_model_space, labels, value_range)
    return DataSplits(train=train, val=val, test=None, schema=schema, source=config.source)


def _streamable(config: DataConfig) -> Path:
    """The file to stream, refusing what needs the data in memory."""
    path = Path(locate(config)).expanduser()
    if not path.is_file():
        raise fail(config.source, "no such file")
    if config.binarize == "static":
        raise fail(path, "--binarize static needs the data in memory: use dynamic or --stream off")
    if config.condition:
        raise fail(path, "--condition needs the data in memory: train with --stream off")
    if config.train_on_all:
        raise fail(path, "--train-on-all: a single .npy file has no test split to keep unseen")
    return path


def streamed_schema(rows: NpyRows, stats: FileStats, kind: str, shape, scale) -> Schema:
    """The schema of a file known only from its scan: images by their type and range, tables
    as continuous columns (constant where a column never changes)."""
    if kind != "tabular":
        divide_by = scale or (
            255.0 if np.issubdtype(rows.dtype, np.integer) and stats.hi > 1 else 1.0
        )
        levels, step = grey_levels(rows.dtype, stats.lo, stats.hi, float(divide_by))
        return ImageSchema(
            list(shape),
            str(rows.dtype),
            stats.lo,
            stats.hi,
            float(divide_by),
            levels=levels,
            step=step,
        )
    columns = []
    for i in range(rows.row_values):
        lo, hi = float(stats.column_lo[i]), float(stats.column_hi[i])
        if lo == hi:
            columns.append(Column(f"x{i}", "constant", value=format_number(lo)))
        else:
            mean, std = float(stats.mean[i]), float(stats.std[i]) or 1.0
            columns.append(Column(f"x{i}", "continuous", mean=mean, std=std, lo=lo, hi=hi))
    if not any(c.kind == "continuous" for c in columns):
        raise fail(rows.path, "has no column left to model (every column is constant)")
    return TableSchema(columns)


def block_encoder(
    schema: Schema, path: Path, value_range: tuple[float, float]
) -> Callable[[np.ndarray], torch.Tensor]:
    """Rows of the file (values per row) -> model-space tensors, mapped as the whole file is."""
    where = str(path)
    if schema.kind == "image":
        return lambda values: torch.from_numpy(
            schema.encode(values.reshape(len(values), -1), where, value_range)
        )
    return lambda values: torch.from_numpy(schema.encode(from_array(values, where))[0])
