"""How well a conditional run follows the condition it is given.

- Images conditioned on their class label: the share of conditional samples that the
  sample-quality classifier (:mod:`vaekit.metrics.quality`) assigns to the class that was asked for,
  overall and per class ("conditional accuracy"), for codes from the prior and from the
  per-class mixture sampler.
- Tables: each held-out row's conditions generate one row (codes from the prior); the column
  shapes (:mod:`vaekit.metrics.fidelity`) of generated against real rows, overall and for each
  value of each categorical condition column — does "region=south" give rows that look like the
  south's?
"""

from __future__ import annotations

import numpy as np
import torch

from vaekit.data.splits import Dataset
from vaekit.data.table import spell, take_rows
from vaekit.metrics.fidelity import column_shapes
from vaekit.runs.run import Run

MOST_VALUES = 12  # values of a condition column scored one by one (the most frequent)


def conditional_accuracy(run: Run, judge, samples: int, seed: int = 0) -> dict:
    """Generate ``samples`` examples, the same number for every class, with each sampler
    (codes from the prior, and from the mixture fitted to the class's training codes), and
    measure how many the classifier ``judge`` puts in the class they were generated for."""
    classes = run.schema.conditions[0].categories
    per_class = max(1, samples // len(classes))
    requested = torch.arange(len(classes)).repeat_interleave(per_class)
    asked = [classes[i] for i in requested.tolist()]
    result: dict = {"samples": len(asked), "classifier_accuracy": judge.accuracy}
    for sampler in ("prior", "gmm"):
        fake = run.sample(
            len(asked), seed=seed, sampler=sampler, warn=False, model_space=True, condition=asked
        )
        _, predicted = judge.features_and_labels(torch.as_tensor(fake))
        hits = (predicted == requested).float()
        result[sampler] = {
            "accuracy": float(hits.mean()),
            "per_class": {
                name: float(hits[requested == i].mean()) for i, name in enumerate(classes)
            },
        }
    return result


def conditional_column_shapes(run: Run, data: Dataset, seed: int = 0) -> dict:
    """Generated rows for the held-out rows' own conditions against those rows: the mean
    column shape over the feature columns, overall and per value of each categorical
    condition column (its most frequent values)."""
    features = run.schema.outputs
    real = run.to_table(data.x.numpy(), data.conditions)
    fake_x = run.sample(
        len(data),
        seed=seed,
        sampler="prior",
        warn=False,
        model_space=True,
        condition=data.conditions,
    )
    fake = run.to_table(fake_x, data.conditions)
    overall = column_shapes(real, fake, features)
    by_value = {}
    for column in run.schema.conditions:
        if column.kind not in ("categorical", "binary"):
            continue
        spelled = np.array(spell(real.column(column.name)), dtype=object)
        values, counts = np.unique(spelled, return_counts=True)
        for value in values[np.argsort(-counts, kind="stable")][:MOST_VALUES]:
            mask = spelled == value
            shapes = column_shapes(take_rows(real, mask), take_rows(fake, mask), features)
            by_value[f"{column.name}={value}"] = {
                "rows": int(mask.sum()),
                "column_shapes": float(np.mean(list(shapes.values()))) if shapes else None,
            }
    return {
        "column_shapes": float(np.mean(list(overall.values()))) if overall else None,
        "per_column": overall,
        "by_condition": by_value,
    }
