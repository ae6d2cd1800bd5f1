"""The Python API's verbs that span layers: ``train`` and ``resume`` are the training layer's,
followed by the pictures a run folder holds (drawn by the views, which training may not import)."""

from __future__ import annotations

from pathlib import Path

from vaekit.config.run import RunConfig
from vaekit.runs.run import Run
from vaekit.training.train import resume as resume_training
from vaekit.training.train import train as train_model
from vaekit.views.images import write_run_pictures


def _with_pictures(run: Run | None) -> Run | None:
    # A table's pictures (marginals, pairs) are drawn on demand: heat maps of rows took
    # longer than a small table's fit. Under torchrun only rank 0 gets a run.
    if run is not None and run.kind == "image":
        write_run_pictures(run, run.splits())
    return run


def train(config: RunConfig, out: str | Path, force: bool = False) -> Run | None:
    """Train the model ``config`` (a :class:`vaekit.RunConfig`) describes and write the run
    folder ``out``; return the trained run (what :func:`vaekit.load` gives for ``out``).

    Data is read and checked before anything is written, so bad input leaves no trace.
    ``force`` replaces an existing run folder (never a folder that is not a vaekit run).
    Progress and one line per epoch go to stderr; ``vaekit.core.progress.QUIET = True`` silences
    them. Under torchrun every process calls this and only rank 0 writes (other ranks return
    None). An image run's folder also gets reconstructions.png, samples.png and samples-gmm.png.

    Raises VaekitError (one line) for data that cannot be read or does not fit the model, an
    existing folder without ``force``, or a diverged loss (the last good checkpoint is kept);
    TrainingInterrupted when stopped by SIGINT/SIGTERM, after writing a checkpoint that
    ``vaekit train --resume`` continues from.

    Example: ``vaekit.train(vaekit.RunConfig.from_dict({"data": {"source": "digits"}}),
    "runs/d")``.
    """
    return _with_pictures(train_model(config, out, force))


def resume(out: str | Path, epochs: int | None = None) -> Run | None:
    """Continue the run in ``out`` from its last checkpoint (``epochs`` may extend it), then
    redraw its pictures. A run trained under torchrun resumes under torchrun with as many
    processes."""
    return _with_pictures(resume_training(out, epochs))
