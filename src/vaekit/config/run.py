"""Run configuration: plain dataclasses, serialised to ``config.json`` and validated on the way in.

A config fully describes a run: the model to rebuild, the data pipeline to re-create and how it
was trained. Validation is generic over the dataclass fields, so a new option is one field with
an optional ``choices``/``min`` in its metadata, and unknown keys or wrong types name the key.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaekit.core.errors import VaekitError, fail

FORMAT_VERSION = 2  # bump when config.json changes incompatibly (2: data.schema)


MODEL_NAMES = ("pca", "ae", "sparse-ae", "denoising-ae", "noisy-ae", "vae", "beta-vae", "iwae")
NETWORK_MODELS = MODEL_NAMES[1:]  # every model but the closed-form PCA
KL_MODELS = ("noisy-ae", "vae", "beta-vae", "iwae")  # trained with a KL term towards N(0, I)
POSTERIOR_MODELS = ("vae", "beta-vae", "iwae")  # learn the posterior's variance


def _opt(
    default: Any,
    *,
    choices: tuple[str, ...] | None = None,
    minimum: float | None = None,
    exclusive_min: bool = False,
    models: tuple[str, ...] | None = None,
    help: str = "",
) -> Any:
    """A config field; ``models`` names the models the option applies to (None: all)."""
    meta = {
        "choices": choices,
        "min": minimum,
        "exclusive_min": exclusive_min,
        "models": models,
        "help": help,
    }
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class ModelConfig:
    """Which model, and its network and objective: ``config.json``'s ``model`` section and
    the ``vaekit train`` model options (``--latent-dim`` is ``latent_dim``). An option that
    does not belong to the chosen model is refused. ``input_shape`` and ``condition_dim`` are
    filled in from the data."""

    model: str = _opt("vae", choices=MODEL_NAMES, help="model family")
    latent_dim: int = _opt(2, minimum=1, help="numbers in the latent code z")
    arch: str = _opt(
        "mlp", choices=("mlp", "conv"), models=NETWORK_MODELS, help="encoder/decoder network type"
    )
    hidden: list[int] = _opt(
        [400], minimum=1, models=NETWORK_MODELS, help="MLP hidden widths (the decoder mirrors)"
    )
    channels: list[int] = _opt(
        [32, 64], minimum=1, models=NETWORK_MODELS, help="conv channels, each layer halves H, W"
    )
    likelihood: str = _opt(
        "auto",
        choices=("auto", "bernoulli", "gaussian", "gaussian-learned", "per-column"),
        models=NETWORK_MODELS,
        help="p(x|z): bernoulli for data in [0,1], gaussian with fixed or learned variance, "
        "per-column for tables (each column by its kind); auto: per-column for tables, else "
        "bernoulli for data in [0,1], else gaussian",
    )
    sigma: float = _opt(
        0.1,
        minimum=0.0,
        exclusive_min=True,
        models=NETWORK_MODELS,
        help="std of the fixed-variance gaussian decoder",
    )
    min_sigma: float = _opt(
        1e-3,
        minimum=0.0,
        exclusive_min=True,
        models=NETWORK_MODELS,
        help="floor of the learned gaussian std (gaussian-learned)",
    )
    posterior: str = _opt(
        "diagonal",
        choices=("diagonal", "full", "iaf"),
        models=POSTERIOR_MODELS,
        help="q(z|x): diagonal Gaussian, full covariance via a Cholesky factor, or iaf: the "
        "diagonal Gaussian through inverse autoregressive flow steps (Kingma et al. 2016)",
    )
    flow_steps: int = _opt(
        2, minimum=1, models=POSTERIOR_MODELS, help="--posterior iaf: the flow's steps"
    )
    flow_hidden: int = _opt(
        256,
        minimum=1,
        models=POSTERIOR_MODELS,
        help="--posterior iaf: hidden units of each step's network and of the encoder's context",
    )
    logvar_clamp: float | None = _opt(
        None,
        minimum=0.0,
        exclusive_min=True,
        models=POSTERIOR_MODELS,
        help="clamp the posterior log-variance to [-c, c] (guards against overflow)",
    )
    beta: float | None = _opt(
        None,
        minimum=0.0,
        exclusive_min=True,
        models=KL_MODELS,
        help="KL weight (1 = the ELBO; beta-vae defaults to 4)",
    )
    beta_schedule: str = _opt(
        "constant",
        choices=("constant", "linear", "cyclical"),
        models=("beta-vae",),
        help="how beta changes with the step",
    )
    warmup_steps: int = _opt(
        1000, minimum=1, models=("beta-vae",), help="linear: steps from 0 to beta"
    )
    cycles: int = _opt(4, minimum=1, models=("beta-vae",), help="cyclical: number of cycles")
    cycle_ratio: float = _opt(
        0.5,
        minimum=0.0,
        exclusive_min=True,
        models=("beta-vae",),
        help="cyclical: share of each cycle spent rising to beta",
    )
    free_bits: float = _opt(
        0.0, minimum=0.0, models=("beta-vae",), help="KL floor per latent dimension (nats)"
    )
    k: int = _opt(5, minimum=1, models=("iwae",), help="importance samples of the IWAE bound")
    lower_latent_dim: int = _opt(
        0,
        minimum=0,
        models=POSTERIOR_MODELS,
        help="a second stochastic layer z1 of this many numbers between the code and the data "
        "(Burda et al.'s two-layer model: --latent-dim 50 --lower-latent-dim 100); 0: one layer",
    )
    lower_hidden: list[int] = _opt(
        [100, 100],
        minimum=1,
        models=POSTERIOR_MODELS,
        help="two-layer models: MLP hidden widths between the two stochastic layers",
    )
    l1: float = _opt(
        0.1, minimum=0.0, exclusive_min=True, models=("sparse-ae",), help="L1 weight on codes"
    )
    noise: str = _opt(
        "gaussian",
        choices=("gaussian", "mask"),
        models=("denoising-ae",),
        help="input corruption: additive gaussian, or masking pixels to 0",
    )
    noise_level: float = _opt(
        0.3,
        minimum=0.0,
        exclusive_min=True,
        models=("denoising-ae",),
        help="gaussian std, or the masked share",
    )
    code_sigma: float = _opt(
        0.5,
        minimum=0.0,
        exclusive_min=True,
        models=("noisy-ae",),
        help="fixed std of the noise added to the code",
    )
    prior: str = _opt(
        "standard",
        choices=("standard", "conditional", "vamp"),
        models=KL_MODELS,
        help="p(z): N(0, I); (conditional runs) a learned N(mu(c), sigma(c)^2); or the "
        "VampPrior, a mixture of the posteriors of learned pseudo-inputs",
    )
    pseudo_inputs: int = _opt(
        500, minimum=1, models=KL_MODELS, help="the VampPrior's learned inputs (--prior vamp)"
    )
    input_shape: list[int] = _opt([], help="shape of one example, filled in from the data")
    condition_dim: int = _opt(0, minimum=0, help="numbers per example's condition, from the data")
    layout: list[str] = _opt(
        [], help="per-column likelihood: each model column's kind, filled in from the data"
    )

    def check_applicable(self, explicit: set[str] = frozenset(), name=lambda key: key) -> None:
        """Refuse options that do not belong to the chosen model, e.g. ``k`` for ``ae``.

        An option counts as given when it is in ``explicit`` or differs from its default.
        """
        for f in dataclasses.fields(self):
            models = f.metadata.get("models")
            if models is None or self.model in models:
                continue
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            if f.name in explicit or getattr(self, f.name) != default:
                raise VaekitError(
                    f"{name(f.name)}: does not apply to model {self.model!r} "
                    f"(it is for: {', '.join(models)}); leave it out or choose one of those"
                )
        if self.free_bits > 0 and self.posterior == "full":
            raise VaekitError(f"{name('free_bits')}: needs the diagonal or iaf posterior")
        if self.prior == "conditional" and self.posterior == "full":
            raise VaekitError(f"{name('prior')}: conditional needs the diagonal or iaf posterior")
        if self.prior == "vamp" and self.posterior != "diagonal":
            raise VaekitError(
                f"{name('prior')}: vamp needs the diagonal posterior (its mixture is made of "
                "the posteriors of the pseudo-inputs)"
            )
        if self.prior == "vamp" and self.free_bits > 0:
            raise VaekitError(
                f"{name('free_bits')}: free bits need a KL per latent dimension, which the "
                "VampPrior (a mixture) has not; leave it out, or use --prior standard"
            )
        if self.prior != "vamp" and ("pseudo_inputs" in explicit or self.pseudo_inputs != 500):
            raise VaekitError(f"{name('pseudo_inputs')}: only with --prior vamp")
        if self.lower_latent_dim:
            if self.posterior != "diagonal":
                raise VaekitError(
                    f"{name('posterior')}: the two-layer model has diagonal Gaussian layers "
                    "only; leave --posterior out"
                )
            if self.prior == "vamp":
                raise VaekitError(
                    f"{name('prior')}: vamp is for one-layer models; leave it out with "
                    "--lower-latent-dim"
                )
        elif "lower_hidden" in explicit or self.lower_hidden != [100, 100]:
            raise VaekitError(f"{name('lower_hidden')}: only with --lower-latent-dim")
        for key, default in (("flow_steps", 2), ("flow_hidden", 256)):
            given = key in explicit or getattr(self, key) != default
            if given and self.posterior != "iaf":
                raise VaekitError(f"{name(key)}: only with --posterior iaf")

    def resolved_beta(self) -> float:
        """The KL weight in force when the schedule is at full strength."""
        if self.beta is not None:
            return self.beta
        return 4.0 if self.model == "beta-vae" else 1.0


@dataclass
class DataConfig:
    """Where the data comes from and how it is split: ``config.json``'s ``data`` section.
    ``schema`` is recorded from the training data the first time it is read (see
    :mod:`vaekit.data.schema`) and used for every later file."""

    source: str = _opt("digits", help="built-in name (digits, mnist, penguins) or a path")
    labels: str | None = _opt(None, help="labels: a file, an .npz key or a CSV column")
    val_fraction: float = _opt(
        0.1,
        minimum=0.0,
        exclusive_min=True,
        help="share of the examples held out for validation (0 to 1)",
    )
    train_on_all: bool = _opt(
        False,
        help="train on the training and validation splits together (Burda et al.'s MNIST "
        "protocol: all 60,000 training images); needs a source with a test split; validation "
        "numbers are then on seen data, and the run keeps the last epoch's weights",
    )
    binarize: str = _opt(
        "none",
        choices=("none", "static", "dynamic"),
        help="sample {0,1} pixels from intensities (dynamic: every epoch)",
    )
    image_size: list[int] | None = _opt(None, help="resize folder images to H W")
    stream: str = _opt(
        "auto",
        choices=("auto", "on", "off"),
        help=".npy files: memory-map and stream in shuffled blocks (auto: above 1 GiB)",
    )
    split_seed: int = _opt(0, minimum=0, help="seed of the train/validation split")
    columns: dict[str, Any] = _opt(
        {},
        help="tables: a column's kind, role or missing policy, {name: word or mapping}",
    )
    scaling: str = _opt(
        "quantile",
        choices=("quantile", "standard"),
        help="tables: how number columns map into the model: quantile (each column's "
        "distribution carried to N(0, 1)) or standard ((value - mean) / std)",
    )
    condition: list[str] = _opt(
        [],
        help="condition the model on these table columns, or on the images' class label "
        "(label): q(z|x, c) and p(x|z, c)",
    )
    # Filled in when the data is first read, so every later file maps the same way:
    schema: dict[str, Any] = _opt({}, help="the data's schema (recorded, see vaekit.data.schema)")


@dataclass
class TrainConfig:
    """How the model is trained: ``config.json``'s ``train`` section (Adam, epochs, seeds,
    device, precision)."""

    epochs: int = _opt(
        30, minimum=1, help="passes over the training data (--resume: the new total)"
    )
    batch_size: int = _opt(
        128, minimum=1, help="examples per optimiser step (per process under --nproc/torchrun)"
    )
    lr: float = _opt(1e-3, minimum=0.0, exclusive_min=True, help="Adam learning rate")
    lr_schedule: str = _opt(
        "constant",
        choices=("constant", "cosine", "exponential"),
        help="learning rate over the run: constant, or decayed from --lr to --lr-final",
    )
    lr_final: float = _opt(
        1e-4,
        minimum=0.0,
        exclusive_min=True,
        help="cosine/exponential: the learning rate at the last step",
    )
    clip_grad: float | None = _opt(
        None, minimum=0.0, exclusive_min=True, help="clip the gradient norm to this value"
    )
    seed: int = _opt(
        0,
        minimum=0,
        help="seed of the initial weights, the data order and the noise (the split has "
        "--split-seed); the same seed gives the same run",
    )
    init_from: str | None = _opt(
        None, help="start from the best weights of this run folder (same network sizes)"
    )
    device: str = _opt(
        "auto",
        choices=("auto", "cpu", "cuda"),
        help="where to train: auto picks cuda when a GPU is available, else cpu",
    )
    precision: str = _opt(
        "auto",
        choices=("auto", "fp32", "bf16"),
        help="bf16: matrix products in bfloat16 (autocast; likelihoods stay float32): faster on "
        "GPUs and on CPUs with AVX512-BF16 or AMX; auto: bf16 where the device has bf16 matrix "
        "units and the step's products are large enough to gain, else fp32 (recorded in the run)",
    )
    compile: str = _opt(
        "auto",
        choices=("auto", "on", "off"),
        help="compile the training step with torch.compile: a one-off compile of 10-25 s, then "
        "faster steps; auto: on when a compiler exists and the run is long enough to repay it "
        "(recorded in the run)",
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
        if fmt == 1:
            raw = _upgrade_format_1(raw, where)
        elif fmt != FORMAT_VERSION:
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
        if parts["data"].schema:
            from vaekit.data.schema import schema_from_dict

            schema_from_dict(parts["data"].schema, where)  # refuse a damaged one on loading
        return cls(**parts)


def _upgrade_boolean_compile(raw: dict[str, Any]) -> dict[str, Any]:
    """Runs before ``compile: auto`` recorded ``train.compile`` as true/false: on/off now."""
    train = raw.get("train")
    if isinstance(train, dict) and isinstance(train.get("compile"), bool):
        return {**raw, "train": {**train, "compile": "on" if train["compile"] else "off"}}
    return raw


def _upgrade_format_1(raw: dict[str, Any], where: object) -> dict[str, Any]:
    """A run written before schemas: its recorded ``data.transform`` becomes ``data.schema``."""
    from vaekit.data.schema import legacy_schema

    data = dict(raw.get("data") or {})
    transform = data.pop("transform", None)
    shape = (raw.get("model") or {}).get("input_shape") or []
    if transform:
        if not isinstance(transform, dict) or not isinstance(shape, list):
            raise fail(where, "data.transform: expected a mapping (an older run's scaling)")
        data["schema"] = legacy_schema(transform, shape, where).to_dict()
    return {**raw, "data": data}


def section_from_dict(kind: type, raw: Any, where: str) -> Any:
    """Build one config section from a mapping, naming the first bad key."""
    if not isinstance(raw, dict):
        raise VaekitError(f"{where}: expected a mapping of options")
    fields = {f.name: f for f in dataclasses.fields(kind)}
    hints = typing.get_type_hints(kind)
    values = {}
    for key, value in raw.items():
        if key not in fields:
            raise VaekitError(f"{where}.{key}: unknown option (known: {', '.join(fields)})")
        values[key] = check_value(value, hints[key], fields[key].metadata, f"{where}.{key}")
    return kind(**values)


def check_value(value: Any, hint: Any, meta: Any, where: str) -> Any:
    """Check one value against its type hint and metadata; return it normalised."""
    if not _matches(value, hint):
        raise VaekitError(f"{where}: expected {_describe(hint)}, got {value!r}")
    if isinstance(value, int) and not isinstance(value, bool) and hint is float:
        value = float(value)
    choices = meta.get("choices")
    if choices and value not in choices:
        raise VaekitError(f"{where}: {value!r} is not one of {', '.join(choices)}")
    minimum = meta.get("min")
    if minimum is not None and value is not None:
        numbers = value if isinstance(value, list) else [value]
        for number in numbers:
            if isinstance(number, (int, float)) and (
                number < minimum or (meta.get("exclusive_min") and number == minimum)
            ):
                sign = ">" if meta.get("exclusive_min") else ">="
                raise VaekitError(f"{where}: must be {sign} {minimum}, got {number!r}")
    return value


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arm) for arm in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is Any:
        return True
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and (value == value and abs(value) != float("inf"))
        )
    if hint is str:
        return isinstance(value, str)
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    raise TypeError(f"unsupported config type {hint!r}")


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arm) for arm in typing.get_args(hint))
    if origin is list:
        return f"a list of {_describe(typing.get_args(hint)[0])}"
    if origin is dict:
        return "a mapping"
    return {
        type(None): "null",
        int: "an integer",
        float: "a finite number",
        str: "a string",
        bool: "true or false",
    }.get(hint, str(hint))


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON or YAML config file into a plain mapping (not yet validated)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise fail(path, f"cannot read config file ({err.strerror})") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as err:  # noqa: BLE001 - any parse error becomes one line
        line = str(err).splitlines()[0] if str(err) else type(err).__name__
        kind = "YAML" if path.suffix.lower() in (".yaml", ".yml") else "JSON"
        raise fail(path, f"not valid {kind}: {line}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise fail(path, "expected a mapping at the top level")
    return data


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge nested mappings: values in ``override`` win, sections merge key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged
