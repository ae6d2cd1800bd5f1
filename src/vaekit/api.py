"""The Python API's verbs that span layers: ``train`` and ``resume`` are the training layer's,
followed by the pictures a run folder holds (drawn by the views, which training may not import);
``fit`` trains on a DataFrame, an array or a path with the command line's options as keywords."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from vaekit.config.files import config_from_keywords
from vaekit.config.run import RunConfig
from vaekit.core.errors import VaekitError
from vaekit.core.progress import log
from vaekit.data.location import record_location
from vaekit.data.table import from_array, is_dataframe
from vaekit.runs.folder import write_config
from vaekit.runs.run import Run, load
from vaekit.training.train import resume as resume_training
from vaekit.training.train import train as train_model
from vaekit.views.images import write_run_pictures


def _with_pictures(run: Run | None, started: float) -> Run | None:
    # A table's pictures (marginals, pairs) are drawn on demand: heat maps of rows took
    # longer than a small table's fit. Under torchrun only rank 0 gets a run.
    if run is None:
        return None
    trained = time.perf_counter() - started
    if run.kind == "image":
        write_run_pictures(run, run.splits())
    drawn = time.perf_counter() - started - trained
    files = ", ".join(sorted(p.name for p in run.path.iterdir() if not p.name.startswith(".")))
    log(f"wrote {files} in {run.path} (training {trained:.1f} s, pictures {drawn:.1f} s)")
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
    started = time.perf_counter()
    return _with_pictures(train_model(config, out, force), started)


def resume(out: str | Path, epochs: int | None = None) -> Run | None:
    """Continue the run in ``out`` from its last checkpoint (``epochs`` may extend it), then
    redraw its pictures. A run trained under torchrun resumes under torchrun with as many
    processes."""
    started = time.perf_counter()
    return _with_pictures(resume_training(out, epochs), started)


def fit(data: Any, out: str | Path | None = None, *, force: bool = False, **options: Any) -> Run:
    """Train on ``data`` and return the run, as ``vaekit train`` does: ``data`` is a pandas
    DataFrame, a numeric array (images, or table rows), or a path or built-in name; the
    options are the command line's, as keywords named like config.json's fields
    (``latent_dim=2, epochs=30, condition="species", model="beta-vae"``).

    The run folder is ``out`` (default: a new temporary folder, said in the log). Rows given in
    memory are written into it (``data.csv`` or ``data.npy``) and read from there, by the one
    reader every file goes through, so the run stands alone.

    Example: ``run = vaekit.fit(df, epochs=50); rows = run.sample(100)``."""
    out = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="vaekit-run-"))
    with tempfile.TemporaryDirectory(prefix="vaekit-data-") as folder:
        source = _as_source(data, Path(folder))
        run = train(config_from_keywords(str(source), options), out, force)
        if Path(source).parent == Path(folder):  # rows given in memory: keep them with the run
            kept = shutil.move(source, out / Path(source).name)
            config = run.config
            config.data.source = str(kept)
            record_location(config.data)
            _mark_dtypes(config.data.schema, data)
            write_config(out, config)
            run = load(out)
    log(f"run folder {out}")
    return run


def _mark_dtypes(schema: dict[str, Any], data: Any) -> None:
    """A DataFrame went through data.csv as text: the recorded schema keeps each column's
    dtype, so rows come back as they went in (bool as bool, datetime64 as datetime64)."""
    if not is_dataframe(data):
        return
    dtypes = {str(name): str(dtype) for name, dtype in data.dtypes.items()}
    for column in schema.get("columns", []):
        column["dtype"] = dtypes.get(column["name"])


def _as_source(data: Any, folder: Path) -> str:
    """A path to read ``data`` from: a path or built-in name as it is, rows written to a file."""
    if isinstance(data, (str, Path)):
        return str(data)
    if is_dataframe(data):
        path = folder / "data.csv"
        data.to_csv(path, index=False)
        return str(path)
    if hasattr(data, "detach"):  # a torch tensor
        data = data.detach().cpu().numpy()
    if isinstance(data, np.ndarray):
        if data.dtype.kind not in "biuf":
            from_array(data, "array")  # refuses the first cell that is text, in one line
        path = folder / "data.npy"
        np.save(path, data)
        return str(path)
    raise VaekitError(
        f"data: expected a pandas DataFrame, a numpy array or a path, got {type(data).__name__}"
    )
