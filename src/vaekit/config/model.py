"""The ``model`` section of a run config: which model, its network and objective, and which
options belong to which model."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from vaekit.config.options import option
from vaekit.core.errors import VaekitError

# Models that add a penalty on how the code's dimensions depend on each other (seed notes:
# "one direction, one factor"): Chen et al. 2018, Kim & Mnih 2018, Kumar et al. 2018.
DISENTANGLING_MODELS = ("beta-tcvae", "factor-vae", "dip-vae")
MODEL_NAMES = (
    "pca",
    "ae",
    "sparse-ae",
    "denoising-ae",
    "noisy-ae",
    "vae",
    "beta-vae",
    "iwae",
    *DISENTANGLING_MODELS,
)
NETWORK_MODELS = MODEL_NAMES[1:]  # every model but the closed-form PCA
# trained with a KL term towards N(0, I)
KL_MODELS = ("noisy-ae", "vae", "beta-vae", "iwae", *DISENTANGLING_MODELS)
POSTERIOR_MODELS = ("vae", "beta-vae", "iwae", *DISENTANGLING_MODELS)  # learn its variance


@dataclass
class ModelConfig:
    """Which model, and its network and objective: ``config.json``'s ``model`` section and
    the ``vaekit train`` model options (``--latent-dim`` is ``latent_dim``). An option that
    does not belong to the chosen model is refused. ``input_shape`` and ``condition_dim`` are
    filled in from the data."""

    model: str = option("vae", choices=MODEL_NAMES, help="model family")
    latent_dim: int = option(2, minimum=1, help="numbers in the latent code z")
    arch: str = option(
        "mlp", choices=("mlp", "conv"), models=NETWORK_MODELS, help="encoder/decoder network type"
    )
    hidden: list[int] = option(
        [400], minimum=1, models=NETWORK_MODELS, help="MLP hidden widths (the decoder mirrors)"
    )
    channels: list[int] = option(
        [32, 64], minimum=1, models=NETWORK_MODELS, help="conv channels, each layer halves H, W"
    )
    likelihood: str = option(
        "auto",
        choices=(
            "auto",
            "bernoulli",
            "discretised",
            "gaussian",
            "gaussian-learned",
            "per-column",
        ),
        models=NETWORK_MODELS,
        help="p(x|z): bernoulli for 0/1 data, discretised (a logistic over the images' grey "
        "levels, PixelCNN++), gaussian with fixed or learned variance, per-column for tables "
        "(each column by its kind); auto: per-column for tables, bernoulli for binary or "
        "--binarize images, discretised for grey-level images, else gaussian",
    )
    sigma: float = option(
        0.1,
        minimum=0.0,
        exclusive_min=True,
        models=NETWORK_MODELS,
        help="std of the fixed-variance gaussian decoder",
    )
    min_sigma: float = option(
        1e-3,
        minimum=0.0,
        exclusive_min=True,
        models=NETWORK_MODELS,
        help="floor of the learned gaussian std (gaussian-learned, per-column)",
    )
    posterior: str = option(
        "diagonal",
        choices=("diagonal", "full", "iaf"),
        models=POSTERIOR_MODELS,
        help="q(z|x): diagonal Gaussian, full covariance via a Cholesky factor, or iaf: the "
        "diagonal Gaussian through inverse autoregressive flow steps (Kingma et al. 2016)",
    )
    flow_steps: int = option(
        2, minimum=1, models=POSTERIOR_MODELS, help="--posterior iaf: the flow's steps"
    )
    flow_hidden: int = option(
        256,
        minimum=1,
        models=POSTERIOR_MODELS,
        help="--posterior iaf: hidden units of each step's network and of the encoder's context",
    )
    logvar_clamp: float | None = option(
        None,
        minimum=0.0,
        exclusive_min=True,
        models=POSTERIOR_MODELS,
        help="clamp the posterior log-variance to [-c, c] (guards against overflow)",
    )
    beta: float | None = option(
        None,
        minimum=0.0,
        exclusive_min=True,
        models=KL_MODELS,
        help="KL weight (1 = the ELBO; beta-vae defaults to 4); beta-tcvae: the weight of "
        "the total correlation, the KL's other parts keeping weight 1 (default 6)",
    )
    capacity: float = option(
        0.0,
        minimum=0.0,
        models=("beta-vae",),
        help="capacity annealing (Burgess et al. 2018): the KL is pulled towards a target that "
        "grows from 0 to this many nats, with weight --gamma, instead of towards 0; 0: off",
    )
    capacity_steps: int | None = option(
        None,
        minimum=1,
        models=("beta-vae",),
        help="--capacity: steps over which the target grows (default: the whole run)",
    )
    gamma: float | None = option(
        None,
        minimum=0.0,
        models=("beta-vae", "factor-vae"),
        help="factor-vae: weight of the discriminator's total correlation (default 35); "
        "beta-vae with --capacity: weight of |KL - target| (default 1000)",
    )
    discriminator_hidden: list[int] = option(
        [1000] * 6,
        minimum=1,
        models=("factor-vae",),
        help="factor-vae: hidden widths of the discriminator that tells codes from codes "
        "with each dimension shuffled over the batch (Kim & Mnih: six layers of 1000)",
    )
    discriminator_lr: float = option(
        1e-4,
        minimum=0.0,
        exclusive_min=True,
        models=("factor-vae",),
        help="factor-vae: the discriminator's own Adam learning rate (betas 0.5, 0.9)",
    )
    dip: str = option(
        "ii",
        choices=("i", "ii"),
        models=("dip-vae",),
        help="dip-vae: match the covariance of the posterior means (i) or of the whole "
        "aggregate posterior (ii) to the identity (Kumar et al. 2018)",
    )
    lambda_od: float = option(
        10.0, minimum=0.0, models=("dip-vae",), help="dip-vae: weight of off-diagonal covariance"
    )
    lambda_d: float | None = option(
        None,
        minimum=0.0,
        models=("dip-vae",),
        help="dip-vae: weight of the diagonal's distance from 1 (default: 10 x lambda_od for "
        "i, lambda_od for ii, as Kumar et al.)",
    )
    beta_schedule: str = option(
        "constant",
        choices=("constant", "linear", "cyclical"),
        models=("beta-vae",),
        help="how beta changes with the step",
    )
    warmup_steps: int = option(
        1000, minimum=1, models=("beta-vae",), help="linear: steps from 0 to beta"
    )
    cycles: int = option(4, minimum=1, models=("beta-vae",), help="cyclical: number of cycles")
    cycle_ratio: float = option(
        0.5,
        minimum=0.0,
        exclusive_min=True,
        models=("beta-vae",),
        help="cyclical: share of each cycle spent rising to beta",
    )
    free_bits: float = option(
        0.0, minimum=0.0, models=("beta-vae",), help="KL floor per latent dimension (nats)"
    )
    k: int = option(5, minimum=1, models=("iwae",), help="importance samples of the IWAE bound")
    lower_latent_dim: int = option(
        0,
        minimum=0,
        models=POSTERIOR_MODELS,
        help="a second stochastic layer z1 of this many numbers between the code and the data "
        "(Burda et al.'s two-layer model: --latent-dim 50 --lower-latent-dim 100); 0: one layer",
    )
    lower_hidden: list[int] = option(
        [100, 100],
        minimum=1,
        models=POSTERIOR_MODELS,
        help="two-layer models: MLP hidden widths between the two stochastic layers",
    )
    l1: float = option(
        0.1, minimum=0.0, exclusive_min=True, models=("sparse-ae",), help="L1 weight on codes"
    )
    noise: str = option(
        "gaussian",
        choices=("gaussian", "mask"),
        models=("denoising-ae",),
        help="input corruption: additive gaussian, or masking pixels to 0",
    )
    noise_level: float = option(
        0.3,
        minimum=0.0,
        exclusive_min=True,
        models=("denoising-ae",),
        help="gaussian std, or the masked share",
    )
    code_sigma: float = option(
        0.5,
        minimum=0.0,
        exclusive_min=True,
        models=("noisy-ae",),
        help="fixed std of the noise added to the code",
    )
    prior: str = option(
        "standard",
        choices=("standard", "conditional", "vamp"),
        models=KL_MODELS,
        help="p(z): N(0, I); (conditional runs) a learned N(mu(c), sigma(c)^2); or the "
        "VampPrior, a mixture of the posteriors of learned pseudo-inputs",
    )
    pseudo_inputs: int = option(
        500, minimum=1, models=KL_MODELS, help="the VampPrior's learned inputs (--prior vamp)"
    )
    input_shape: list[int] = option([], help="shape of one example, filled in from the data")
    condition_dim: int = option(0, minimum=0, help="numbers per example's condition, from the data")
    layout: list[str] = option(
        [], help="per-column likelihood: each model column's kind, filled in from the data"
    )
    dataset_size: int = option(
        0,
        minimum=0,
        help="beta-tcvae: training examples, for its minibatch-weighted estimate of q(z) "
        "(filled in from the data)",
    )
    levels: int = option(
        0, minimum=0, help="discretised likelihood: the images' grey levels, from the data"
    )
    level_step: float = option(
        0.0,
        minimum=0.0,
        help="discretised likelihood: the model-space distance between two levels, from the data",
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
        self._check_disentangling(explicit, name)
        for key, default in (("flow_steps", 2), ("flow_hidden", 256)):
            given = key in explicit or getattr(self, key) != default
            if given and self.posterior != "iaf":
                raise VaekitError(f"{name(key)}: only with --posterior iaf")

    def _check_disentangling(self, explicit: set[str], name) -> None:
        """The disentangling models and capacity annealing need a diagonal posterior and the
        N(0, I) prior: their penalties are written for those."""
        if self.model in DISENTANGLING_MODELS:
            for key, value, wanted in (
                ("posterior", self.posterior, "diagonal"),
                ("prior", self.prior, "standard"),
                ("lower_latent_dim", self.lower_latent_dim, 0),
            ):
                if value != wanted:
                    raise VaekitError(
                        f"{name(key)}: {self.model} needs the one-layer diagonal posterior and "
                        "the N(0, I) prior; leave it out"
                    )
        if self.model == "beta-vae":
            capacity = self.capacity > 0
            for key in ("gamma", "capacity_steps"):
                if not capacity and (key in explicit or getattr(self, key) is not None):
                    raise VaekitError(f"{name(key)}: only with --capacity")
            if capacity and (self.beta_schedule != "constant" or self.free_bits > 0):
                raise VaekitError(
                    f"{name('capacity')}: capacity annealing is its own schedule; leave out "
                    "--beta-schedule and --free-bits"
                )
            if capacity and "beta" in explicit:
                raise VaekitError(
                    f"{name('beta')}: with --capacity the KL's weight is --gamma; leave --beta out"
                )

    def resolved_beta(self) -> float:
        """The KL weight in force when the schedule is at full strength (beta-tcvae: the
        weight of the total correlation)."""
        if self.beta is not None:
            return self.beta
        return {"beta-vae": 4.0, "beta-tcvae": 6.0}.get(self.model, 1.0)

    @property
    def needs_dataset_size(self) -> bool:
        """Whether the objective needs the number of training examples (beta-tcvae's
        estimate of q(z) weighs each batch by it)."""
        return self.model == "beta-tcvae"

    def resolved_gamma(self) -> float:
        """factor-vae's weight of the total correlation; capacity annealing's of |KL - C|."""
        if self.gamma is not None:
            return self.gamma
        return 35.0 if self.model == "factor-vae" else 1000.0

    def resolved_lambda_d(self) -> float:
        """dip-vae's weight of the diagonal: given, or Kumar et al.'s default for the type."""
        if self.lambda_d is not None:
            return self.lambda_d
        return self.lambda_od * (10.0 if self.dip == "i" else 1.0)
