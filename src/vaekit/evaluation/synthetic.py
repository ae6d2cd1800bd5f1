"""A table run's synthetic rows against real ones: drawn the one way ``vaekit evaluate`` and the
``marginals``/``pairs`` plots draw them, and scored by the metrics (quality, privacy,
usefulness)."""

from __future__ import annotations

from vaekit.data.schema.columns import as_numbers
from vaekit.data.table import Table, from_dataframe, take_rows
from vaekit.metrics.synthetic import synthetic_table_figures, validity_figures
from vaekit.runs.run import Run


def real_and_synthetic(
    run: Run, source: str | None = None, seed: int = 0, limit: int | None = None
) -> tuple[Table, Table, Table]:
    """What a table run's synthetic rows are compared with, the one way ``vaekit evaluate``
    and the ``marginals``/``pairs`` plots draw them: (the training rows, the real rows of
    ``source`` (None: the held-out split; the first ``limit``), as many synthetic rows as
    training rows drawn with ``seed``), all in the data's units, dates as days. As many as the
    training rows, because a usefulness model trained on them should see as many rows as one trained
    on the real ones."""
    real = take_rows(run.table(source), slice(0, limit))
    train = run.table("train")
    fake = from_dataframe(run.sample(len(train), seed=seed), "synthetic rows")
    columns = run.schema.columns
    return tuple(as_numbers(t, columns) for t in (train, real, fake))  # dates as days


def synthetic_report(
    run: Run, source: str | None, limit: int | None, target: str | None, seed: int
) -> dict:
    """Synthetic rows, as many as the training rows (what a model trained on them for ML
    usefulness sees, as on real ones), scored against the evaluated real rows and the training
    rows (privacy); evaluating on the training split itself scores quality only."""
    train, real, fake = real_and_synthetic(run, source, seed, limit)
    on_train = source == "train"
    if source is None:
        words = "held-out rows"
    else:  # "rows of the test split", "rows of new.csv"
        words = f"rows of {'the ' if source in ('val', 'test') else ''}{run.split_label(source)}"
    figures = synthetic_table_figures(
        train, None if on_train else real, fake, run.schema.columns, target, seed, words
    )
    return {**figures, **validity_figures(train, fake, run.schema, run.drawn_again)}
