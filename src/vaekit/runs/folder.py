"""A run folder on disk: everything a trained model needs, as JSON and safetensors only.

    RUN/config.json        RunConfig (model, data pipeline, training) + vaekit version
    RUN/model.safetensors  weights with the best validation ELBO (what ``load`` uses)
    RUN/last.safetensors   weights after the last epoch
    RUN/checkpoint.safetensors  weights + optimiser + RNG state + counters, for --resume
    RUN/metrics.jsonl      one JSON object per epoch
    RUN/summary.json       data facts, parameter count, best and final numbers
    RUN/sampler.safetensors  a Gaussian mixture fitted to the training codes (--sampler gmm)
    RUN/conditions.safetensors  a conditional run's training conditions (rows and an index)
    RUN/*.png              pictures written at the end of training

Loading never unpickles: configs are parsed JSON, weights are safetensors checked against the
model the config describes.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from vaekit.config.run import RunConfig
from vaekit.core.errors import fail
from vaekit.core.files import atomic_write_json
from vaekit.core.records import parse_json
from vaekit.core.tensorfiles import check_tensors, read_tensors, write_tensors
from vaekit.data.schema import upgrade_recorded_config
from vaekit.data.splits import recorded_schema
from vaekit.models.base import Autoencoder

CONFIG = "config.json"
WEIGHTS = {"best": "model.safetensors", "last": "last.safetensors"}
METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
SAMPLER = "sampler.safetensors"
CONDITIONS = "conditions.safetensors"  # the training conditions: rows drawn like training's
PICTURES = ("reconstructions.png", "samples.png", "samples-gmm.png", "report.html")
# Files a run folder may hold; --force removes only these, never anything else of the user's.
CHECKPOINT = "checkpoint.safetensors"  # see vaekit.training.checkpoint
EVALUATION = "evaluation.jsonl"  # one line per `vaekit evaluate`
CALIBRATION = "calibration.json"  # normal data's scores, for `vaekit score --fpr`
OWNED = (
    CONFIG,
    *WEIGHTS.values(),
    CHECKPOINT,
    METRICS,
    SUMMARY,
    SAMPLER,
    CONDITIONS,
    EVALUATION,
    CALIBRATION,
    *PICTURES,
)


def prepare_folder(path: Path, force: bool) -> None:
    """Create a fresh run folder; refuse an existing non-empty one unless ``force``."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise fail(path, "exists and is not a folder")
    if path.exists() and any(path.iterdir()):
        if not force:
            raise fail(
                path,
                "already exists and is not empty; choose another --out or pass "
                "--force to replace the run in it",
            )
        if not (path / CONFIG).exists():
            raise fail(
                path,
                "is not empty and is not a vaekit run; refusing to replace it even with --force",
            )
        for name in OWNED:
            (path / name).unlink(missing_ok=True)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise fail(path, f"cannot create the run folder ({err.strerror})") from None


def remove_stale_temporaries(path: Path) -> int:
    """Delete temporary files a crash left behind mid-write (the real files are intact)."""
    stale = list(Path(path).glob(".*.tmp"))
    for file in stale:
        file.unlink(missing_ok=True)
    return len(stale)


def save_weights(model: Autoencoder, path: Path, metadata: dict[str, str] | None = None) -> None:
    # Saved from the unwrapped module on CPU, contiguous: what safetensors requires.
    write_tensors(path, model.state_dict(), metadata)


def load_weights(model: Autoencoder, path: Path) -> None:
    """Load safetensors weights into ``model``, naming any missing/extra/mis-shaped tensor and
    refusing a damaged file or non-finite values."""
    tensors, _ = read_tensors(path, "weights")
    check_tensors(path, tensors, model.state_dict(), "the model in config.json")
    model.load_state_dict(tensors)


def read_config(path: Path) -> RunConfig:
    file = Path(path) / CONFIG
    if not Path(path).is_dir():
        raise fail(path, "no such run folder")
    if not file.exists():
        raise fail(path, "not a vaekit run (no config.json)")
    try:
        raw = parse_json(file.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise fail(file, f"not valid JSON ({err})") from None
    config = RunConfig.from_dict(upgrade_recorded_config(raw, file), where=file)
    shape = list(config.model.input_shape)
    if not shape:
        raise fail(file, "model.input_shape is missing: not a trained run's config")
    schema = recorded_schema(config.data, file)
    if schema is not None and list(schema.shape) != shape:
        raise fail(
            file,
            f"data.schema describes examples of shape {list(schema.shape)} but "
            f"model.input_shape is {shape}",
        )
    return config


def write_config(path: Path, config: RunConfig) -> None:
    atomic_write_json(Path(path) / CONFIG, config.to_dict())


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    atomic_write_json(Path(path) / SUMMARY, summary)


def discard_unfinished(path: Path) -> None:
    """Remove vaekit's files from a run that failed before its first checkpoint, and the folder
    itself when nothing else is in it; anything else of the user's is left alone."""
    path = Path(path)
    for name in OWNED:
        (path / name).unlink(missing_ok=True)
    remove_stale_temporaries(path)
    with contextlib.suppress(OSError):
        path.rmdir()  # only succeeds when empty
