"""The schema of image data: shape, the value type and range of the training files, the divisor
that brings their integer units into [0, 1], and the class names of the labels.

An image run can be conditioned on its class label; the label then maps like a table's
categorical column (:func:`vaekit.data.schema.columns.encode_conditions`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from vaekit.core.errors import VaekitError, fail
from vaekit.core.progress import log
from vaekit.data.schema.columns import Column
from vaekit.data.table import Table, format_number

IMAGE_CONDITION = "label"  # what an image run can be conditioned on: its class label


@dataclass
class ImageSchema:
    """Images of ``shape`` (C, H, W). The training files held ``dtype`` values in [lo, hi]; model
    space is value / ``divide_by`` (1: the files were already in model units). ``intensity`` is
    the 1st and 99th percentile of an example's mean value in model space, for the warning when
    a file looks scaled differently."""

    shape: list[int]
    dtype: str
    lo: float
    hi: float
    divide_by: float = 1.0
    intensity: list[float] | None = None
    classes: list[str] | None = None
    condition: Column | None = None  # the class label, when the run is conditioned on it
    # Grey levels: model-space values 0, step, ..., (levels - 1) * step (None: binary images,
    # or floats on no 8-bit grid), for the discretised likelihood.
    levels: int | None = None
    step: float | None = None
    # The share of pixels within a tenth of the levels' range of black or white: near 1 for
    # nearly binary images like MNIST's strokes (0.91), lower for grey ones (digits 0.65).
    near_binary: float | None = None
    # Factors of variation (sprites, or the user's --factors table): each factor's values, in
    # the index order the metrics use.
    factors: dict[str, list[str]] | None = None
    kind: str = field(default="image", init=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def conditions(self) -> list[Column]:
        """What the model is conditioned on: the class label, or nothing."""
        return [self.condition] if self.condition is not None else []

    def condition_table(self, labels: np.ndarray | None, where: str) -> Table:
        """The class labels (indices into the run's classes) as a one-column table of class
        names, which ``encode_conditions`` maps like a table's categorical column."""
        column = self.condition
        assert column is not None and column.categories
        if labels is None:
            raise fail(
                where,
                "has no labels, and this run is conditioned on the class label (pass the "
                "labels with the images, e.g. an .npz with a 'labels' array)",
            )
        labels = np.asarray(labels)
        if len(labels) and int(labels.max()) >= len(column.categories):
            raise fail(
                where,
                f"label {int(labels.max())} is not a class of this run (it has "
                f"{len(column.categories)}: {', '.join(column.categories[:10])})",
            )
        names = np.empty(len(labels), dtype=object)
        names[:] = [column.categories[i] for i in labels]
        return Table([column.name], [names], where, 0)

    def describe(self, limit: int | None = None) -> str:
        """One line for people: the image shape and how the files' values map."""
        units = (
            f"{self.dtype} values {format_number(self.lo)}–{format_number(self.hi)}, divided by "
            f"{format_number(self.divide_by)}"
            if self.divide_by != 1
            else f"{self.dtype} values in model units"
        )
        text = f"images {' x '.join(map(str, self.shape))} ({units})"
        if self.levels is not None and self.near_binary is not None:
            text += (
                f", {self.levels} grey levels, {self.near_binary:.0%} of pixels near black or white"
            )
        if self.condition is not None:
            classes = len(self.condition.categories or [])
            text += f", conditioned on the class label ({classes} classes)"
        if self.factors:
            named = ", ".join(f"{name} ({len(values)})" for name, values in self.factors.items())
            text += f", factors of variation: {named}"
        return text

    def encode(
        self, values: np.ndarray, where: str, value_range: tuple[float, float] | None = None
    ) -> np.ndarray:
        """Images in the file's own units -> float32 (N, C, H, W) in model space. How they map
        is decided by the values' type and range: ``value_range`` is the whole file's when
        ``values`` is one block of it (a streamed file), so every block maps alike."""
        values = self._shaped(np.asarray(values), where)
        if values.dtype == np.bool_:
            return values.astype(np.float32)
        if value_range is not None:
            lo, hi = value_range
        else:
            lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if np.issubdtype(values.dtype, np.integer):
            x = values.astype(np.float32) / np.float32(self._divisor(values.dtype, lo, hi, where))
        else:
            x = self._float_values(values, lo, hi, where)
        self._warn_if_unlike_training(x, where)
        return x

    def _divisor(self, dtype: np.dtype, lo: float, hi: float, where: str) -> float:
        """What integer values are divided by: the training files' divisor; binary {0, 1}
        files and files already in [0, 1] are not divided; 8/16-bit files of a run trained on
        [0, 1] floats are divided by their type's maximum."""
        if lo >= 0 and hi <= 1:
            if self.divide_by != 1 and self.hi > 1:
                log(f"{where}: integer values in {{0, 1}} read as binary images (not divided)")
            return 1.0
        if self.divide_by != 1:
            if hi > self.divide_by or lo < 0:
                raise fail(
                    where,
                    f"integer values {format_number(lo)}–{format_number(hi)} lie outside the "
                    f"training files' range {format_number(self.lo)}–"
                    f"{format_number(self.divide_by)} ({self.dtype})",
                )
            return self.divide_by
        if np.issubdtype(dtype, np.unsignedinteger):
            divisor = float(np.iinfo(dtype).max)
            log(f"{where}: {dtype} values divided by {format_number(divisor)} into [0, 1]")
            return divisor
        raise fail(
            where,
            f"integer values {format_number(lo)}–{format_number(hi)}: this run was trained on "
            "images in [0, 1]; pass values in [0, 1] or unsigned 8/16-bit pixels",
        )

    def _float_values(self, values: np.ndarray, lo: float, hi: float, where: str) -> np.ndarray:
        x = values.astype(np.float32)
        if not np.isfinite(x).all():
            raise fail(where, "contains NaN, infinite or too large (beyond float32) values")
        if self.divide_by == 1 or (lo >= 0 and hi <= 1):
            return x  # already in model units (the training files' own, or [0, 1])
        if lo >= self.lo and hi <= self.hi and np.array_equal(x, np.round(x)):
            log(
                f"{where}: whole-number values {format_number(lo)}–{format_number(hi)} read as "
                f"the training files' units ({self.dtype}, divided by "
                f"{format_number(self.divide_by)})"
            )
            return x / np.float32(self.divide_by)
        raise fail(
            where,
            f"values lie in [{lo:.4g}, {hi:.4g}]: images must be in [0, 1] or in the training "
            f"files' units ({self.dtype} {format_number(self.lo)}–{format_number(self.hi)})",
        )

    def _shaped(self, values: np.ndarray, where: str) -> np.ndarray:
        shape = tuple(self.shape)
        if values.ndim >= 2 and tuple(values.shape[1:]) == shape:
            return values
        if values.ndim == 4 and tuple(values.shape[1:]) == (*shape[1:], shape[0]):
            return values.transpose(0, 3, 1, 2)  # channels last, as image libraries write
        flat_or_grey = values.ndim == 2 or (values.ndim == 3 and shape[0] == 1)
        if flat_or_grey and int(np.prod(values.shape[1:])) == int(np.prod(shape)):
            return values.reshape(len(values), *shape)
        raise fail(
            where,
            f"examples have shape {tuple(values.shape[1:])} but this run's model takes "
            f"{' x '.join(map(str, shape))} images",
        )

    def _warn_if_unlike_training(self, x: np.ndarray, where: str) -> None:
        if self.intensity is None or not len(x):
            return
        means = x.reshape(len(x), -1).mean(axis=1)
        low, high = self.intensity
        outside = float(np.mean((means < low) | (means > high)))
        if outside > 0.5:
            log(
                f"warning: {where}: {outside:.0%} of examples have a mean value outside the "
                f"training data's 1–99 % range [{low:.3g}, {high:.3g}] (this file: "
                f"{float(means.mean()):.3g}); check how it is scaled"
            )

    def decode(self, x: np.ndarray) -> np.ndarray:
        """Model-space images -> images as floats in [0, 1] (which ``encode`` reads back as is)."""
        return np.asarray(x, dtype=np.float32)

    def from_user(self, data: Any, where: str) -> tuple[np.ndarray, None, None]:
        """Images given in memory (an array, one image or many) -> (model space, no labels, no
        conditions): what a run makes of data that is not a file."""
        values = np.asarray(data)
        one = tuple(self.shape)
        if values.shape in (one, one[1:] if one[0] == 1 else one):  # a single example
            values = values[None]
        return self.encode(values, where), None, None

    def to_user(self, x: np.ndarray, conditions: np.ndarray | None = None) -> np.ndarray:
        """Model space -> the user's units (the images; conditions are not part of them)."""
        return self.decode(x)


def infer_image_schema(
    values: np.ndarray,
    divide_by: float | None,
    classes: list[str] | None,
    labels: np.ndarray | None = None,
    condition: list[str] | None = None,
    factors: dict[str, list[str]] | None = None,
) -> ImageSchema:
    """The schema of training images: integer files are divided by ``divide_by`` (the source's
    own scale, else 255 for 8-bit values); float files are taken as they are. ``condition``
    ["label"] conditions the model on the class ``labels``; ``factors`` names the values of the
    images' factors of variation, where known."""
    lo, hi = float(values.min()), float(values.max())
    if divide_by is None:
        divide_by = 255.0 if np.issubdtype(values.dtype, np.integer) and hi > 1 else 1.0
    means = values.reshape(len(values), -1).mean(axis=1, dtype=np.float64) / divide_by
    intensity = [float(np.percentile(means, 1)), float(np.percentile(means, 99))]
    levels, step = grey_levels(values.dtype, lo, hi, divide_by, values)
    return ImageSchema(
        shape=list(values.shape[1:]),
        dtype=str(values.dtype),
        lo=lo,
        hi=hi,
        divide_by=float(divide_by),
        intensity=intensity,
        classes=classes,
        condition=_image_condition(labels, classes, condition or []),
        levels=levels,
        step=step,
        near_binary=None if levels is None else near_binary_share(values, divide_by, levels, step),
        factors=factors,
    )


_BLOCK = 1 << 22  # values per block when scanning pixels: no float copy of a whole file


def _blocks(values: np.ndarray):
    """The pixels in flat blocks of ``_BLOCK`` values."""
    flat = values.reshape(-1)
    for start in range(0, len(flat), _BLOCK):
        yield flat[start : start + _BLOCK]


def near_binary_share(values: np.ndarray, divide_by: float, levels: int, step: float) -> float:
    """The share of pixels whose model-space value lies within a tenth of the levels' range
    of the first or the last level."""
    scale = np.float32(divide_by * (levels - 1) * step)
    near = sum(
        int(np.count_nonzero((unit <= 0.1) | (unit >= 0.9)))
        for unit in (block.astype(np.float32) / scale for block in _blocks(values))
    )
    return round(near / max(values.size, 1), 4)


def grey_levels(
    dtype: np.dtype, lo: float, hi: float, divide_by: float, values: np.ndarray | None = None
) -> tuple[int, float] | tuple[None, None]:
    """The grey levels of training images as (levels, model-space step): whole numbers divided
    by ``divide_by`` have divide_by + 1 levels (at most their type's); floats in [0, 1] are
    taken as 8-bit pixels, 256 levels at multiples of 1/255 (or of 1/256 where they all are);
    binary images have none, nor values outside [0, 1]. Without ``values`` (a streamed file,
    known by its type and range only) floats are not scanned for 0/1 or a 1/256 grid."""
    if np.issubdtype(dtype, np.integer):
        if hi <= 1:  # 0/1 pixels: binary images
            return None, None
        top = min(divide_by, float(np.iinfo(dtype).max))
        return int(top) + 1, 1.0 / divide_by
    if divide_by != 1 or lo < 0 or hi > 1:
        return None, None
    if values is None:
        return 256, 1.0 / 255
    if all(np.isin(block, (0.0, 1.0)).all() for block in _blocks(values)):
        return None, None
    on_256 = hi <= 255 / 256 and all(
        np.abs(scaled - np.round(scaled)).max() < 1e-3
        for scaled in (block.astype(np.float64) * 256 for block in _blocks(values))
    )
    return (256, 1.0 / 256) if on_256 else (256, 1.0 / 255)


def _image_condition(
    labels: np.ndarray | None, classes: list[str] | None, condition: list[str]
) -> Column | None:
    if not condition:
        return None
    if condition != [IMAGE_CONDITION]:
        raise VaekitError(
            f"--condition: images can be conditioned on their class label only: "
            f"--condition {IMAGE_CONDITION} (not {','.join(condition)})"
        )
    if labels is None:
        raise VaekitError(
            "--condition label: these images have no labels (give them with --labels FILE, "
            "or in the .npz)"
        )
    names = classes or [str(i) for i in range(int(labels.max()) + 1)]
    return Column(IMAGE_CONDITION, "categorical", role="condition", numeric=False, categories=names)
