"""Run configuration: plain dataclasses, serialised to ``config.json`` and validated on the way in.

A config fully describes a run: the model to rebuild, the data pipeline to re-create and how it
was trained. Validation is generic over the dataclass fields (:mod:`vaekit.config.options`), so
a new option is one field with an optional ``choices``/``min`` in its metadata, and unknown keys
or wrong types name the key. A recorded schema is checked where a run folder is read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from vaekit.config.model import ModelConfig
from vaekit.config.options import option, section_from_dict
from vaekit.core.errors import fail

FORMAT_VERSION = 2  # bump when config.json changes incompatibly (2: data.schema)


@dataclass
class DataConfig:
    """Where the data comes from and how it is split: ``config.json``'s ``data`` section.
    ``schema`` is recorded from the training data the first time it is read (see
    :mod:`vaekit.data.schema`) and used for every later file."""

    source: str = option("digits", help="built-in name (digits, mnist, penguins) or a path")
    labels: str | None = option(None, help="labels: a file, an .npz key or a CSV column")
    factors: str | None = option(
        None,
        help="images: a CSV of their factors of variation, one row per image in file order and "
        "one column per factor, for the disentanglement metrics of vaekit evaluate",
    )
    subset: int | None = option(
        None,
        minimum=1,
        help="sprites: how many of the 737,280 images to render (a seeded choice; default "
        "20,000, at most 60,000)",
    )
    val_fraction: float = option(
        0.1,
        minimum=0.0,
        exclusive_min=True,
        help="share of the examples held out for validation (0 to 1)",
    )
    train_on_all: bool = option(
        False,
        help="train on the training and validation splits together (Burda et al.'s MNIST "
        "protocol: all 60,000 training images); needs a source with a test split; validation "
        "numbers are then on seen data, and the run keeps the last epoch's weights",
    )
    binarize: str = option(
        "none",
        choices=("none", "static", "dynamic"),
        help="sample {0,1} pixels from intensities (dynamic: every epoch)",
    )
    image_size: list[int] | None = option(None, help="resize folder images to H W")
    stream: str = option(
        "auto",
        choices=("auto", "on", "off"),
        help=".npy files: memory-map and stream in shuffled blocks (auto: above 1 GiB)",
    )
    split_seed: int = option(0, minimum=0, help="seed of the train/validation split")
    columns: dict[str, Any] = option(
        {},
        help="tables: a column's kind, role or missing policy, {name: word or mapping}",
    )
    scaling: str = option(
        "quantile",
        choices=("quantile", "standard"),
        help="tables: how number columns map into the model: quantile (each column's "
        "distribution carried to N(0, 1)) or standard ((value - mean) / std)",
    )
    condition: list[str] = option(
        [],
        help="condition the model on these table columns, or on the images' class label "
        "(label): q(z|x, c) and p(x|z, c)",
    )
    rules: list[str] = option(
        [],
        help="tables: rules every generated row obeys, e.g. 'start <= end', 'fixed: species, "
        "island', 'total = a + b', 'missing: a, b when flag = no'",
    )
    # Filled in when the data is first read, so every later file maps the same way:
    schema: dict[str, Any] = option({}, help="the data's schema (recorded, see vaekit.data.schema)")
    location: dict[str, Any] = option(
        {}, help="the training file as found: absolute path, bytes, sha256 (recorded)"
    )


@dataclass
class TrainConfig:
    """How the model is trained: ``config.json``'s ``train`` section (Adam, epochs, seeds,
    device, precision)."""

    epochs: int = option(
        30, minimum=1, help="passes over the training data (--resume: the new total)"
    )
    batch_size: int = option(
        128, minimum=1, help="examples per optimiser step (per process under --nproc/torchrun)"
    )
    lr: float = option(1e-3, minimum=0.0, exclusive_min=True, help="Adam learning rate")
    lr_schedule: str = option(
        "constant",
        choices=("constant", "cosine", "exponential"),
        help="learning rate over the run: constant, or decayed from --lr to --lr-final",
    )
    lr_final: float = option(
        1e-4,
        minimum=0.0,
        exclusive_min=True,
        help="cosine/exponential: the learning rate at the last step",
    )
    clip_grad: float | None = option(
        None, minimum=0.0, exclusive_min=True, help="clip the gradient norm to this value"
    )
    seed: int = option(
        0,
        minimum=0,
        help="seed of the initial weights, the data order and the noise (the split has "
        "--split-seed); the same seed gives the same run",
    )
    init_from: str | None = option(
        None, help="start from the best weights of this run folder (same network sizes)"
    )
    device: str = option(
        "auto",
        choices=("auto", "cpu", "cuda"),
        help="where to train: auto picks cuda when a GPU is available, else cpu",
    )
    precision: str = option(
        "auto",
        choices=("auto", "fp32", "bf16"),
        help="bf16: matrix products in bfloat16 (autocast; likelihoods stay float32): faster on "
        "GPUs and on CPUs with AVX512-BF16 or AMX; auto: bf16 where the device has bf16 matrix "
        "units and the step's products are large enough to gain, else fp32 (recorded in the run)",
    )
    compile: str = option(
        "auto",
        choices=("auto", "on", "off"),
        help="compile the training step with torch.compile: a one-off compile of 10-25 s, then "
        "faster steps; auto: on when a compiler exists and the run is long enough to repay it "
        "(recorded in the run)",
    )
    threads: int | None = option(
        None,
        minimum=1,
        help="CPU threads for training (default: 1 for small steps or when no core is free, "
        "else one per free core; recorded in the run)",
    )


@dataclass
class RunConfig:
    """Everything a run is: model, data and training. Written to ``RUN/config.json`` with a
    format number and the vaekit version; ``from_dict`` reads one back, checking every key and
    value and naming the first bad one.

    Example: ``RunConfig.from_dict({"model": {"latent_dim": 20}, "data": {"source": "mnist"}})``.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def training_summary(self) -> str:
        """One line for people: how the run was trained ("closed form" for PCA)."""
        if self.model.model == "pca":
            return "closed form"
        t = self.train
        lr = f"Adam lr {t.lr:g}"
        if t.lr_schedule != "constant":
            lr += f" ({t.lr_schedule} to {t.lr_final:g})"
        parts = [f"{t.epochs} epochs", f"batch {t.batch_size}", lr]
        if self.model.beta is not None:
            parts.append(f"beta {self.model.beta:g}")
        parts.append(f"seed {t.seed}")
        if t.precision == "bf16":  # a run records auto resolved
            parts.append(t.precision)
        if t.compile == "on":
            parts.append("compiled")
        if t.init_from:
            parts.append(f"started from {t.init_from}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON-ready data, with ``format`` and ``vaekit_version``."""
        from vaekit.core.version import __version__

        return {"format": FORMAT_VERSION, "vaekit_version": __version__, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, raw: Any, where: object = "config") -> RunConfig:
        """A config from a mapping (a parsed ``config.json`` or YAML file): unknown sections or
        keys, wrong types, out-of-range values and options of another model raise VaekitError
        naming ``where`` and the key; an older format is upgraded."""
        if not isinstance(raw, dict):
            raise fail(where, "expected a JSON/YAML mapping at the top level")
        raw = dict(raw)
        fmt = raw.pop("format", FORMAT_VERSION)
        raw.pop("vaekit_version", None)
        if fmt != FORMAT_VERSION:  # format 1: see vaekit.data.schema's upgrade_recorded_config
            raise fail(where, f"config format {fmt!r} is not supported (expected {FORMAT_VERSION})")
        raw = _upgrade_boolean_compile(raw)
        sections = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig}
        unknown = sorted(set(raw) - set(sections))
        if unknown:
            raise fail(where, f"unknown section {unknown[0]!r} (known: model, data, train)")
        parts = {
            name: section_from_dict(kind, raw.get(name, {}), f"{where}: {name}")
            for name, kind in sections.items()
        }
        parts["model"].check_applicable(name=lambda key: f"{where}: model.{key}")
        return cls(**parts)


def _upgrade_boolean_compile(raw: dict[str, Any]) -> dict[str, Any]:
    """Runs before ``compile: auto`` recorded ``train.compile`` as true/false: on/off now."""
    train = raw.get("train")
    if isinstance(train, dict) and isinstance(train.get("compile"), bool):
        return {**raw, "train": {**train, "compile": "on" if train["compile"] else "off"}}
    return raw
