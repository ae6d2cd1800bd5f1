"""The peer side of the MNIST likelihood benchmark: pythae 0.1.2's VAE, IWAE and VAMP, each with
the networks and training settings of pythae's own binary-MNIST reproducibility scripts
(examples/scripts/reproducibility/{vae,iwae,vamp}.py in pythae's repository), written out here:

- vae: MLP 784-400-16 (ReLU), decoder 16-400-784 (sigmoid); Adam, learning rate 1e-4, batch 100,
  the rate times 10^(-1/5) after epochs 200, 350, 500, 750, 1000.
- iwae (k = 50): Burda et al.'s 784-200-200-50 (tanh) and 50-200-200-784, Glorot-uniform
  weights, zero biases; Adam (eps 1e-4), 1e-3, batch 20, the rate times 10^(-1/7) after epochs
  2, 5, 14, 28, 41, 122, 365, 1094.
- vamp (500 pseudo-inputs): gated dense layers 300-300 (Tomczak & Welling), latent 40, the
  encoder's log-variance through hardtanh(-6, 2), He-normal weights; RMSprop, 1e-4, batch 100,
  the KL weight rising linearly over 100 epochs, the rate times 10^(-1/5) after epochs 200,
  350, 500, 750, 1000.

The training data is binarised dynamically (a fresh Bernoulli draw of every image each time it
is read), as vaekit's side is. Needs ``pythae==0.1.2`` (a benchmark-only dependency, not in
vaekit's pyproject): see benchmarks/mnist_nll.py for the venv.

``PythaeLikelihood`` wraps a trained pythae model for vaekit's importance-sampling estimator
(``vaekit.metrics.likelihood.importance_log_likelihood``): the same log-weights pythae's
model defines
(its Bernoulli likelihood is binary cross-entropy on sigmoid outputs, each log clamped at -100
as torch's BCE does), with the normalising constants pythae leaves out put back.
"""

from __future__ import annotations

import math
import tempfile
import time

import torch
import torch.nn.functional as F
from pythae.data.datasets import BaseDataset, DatasetOutput
from pythae.models import IWAE, VAE, VAMP, IWAEConfig, VAEConfig, VAMPConfig
from pythae.models.base.base_utils import ModelOutput
from pythae.models.nn import BaseDecoder, BaseEncoder
from pythae.trainers import BaseTrainer, BaseTrainerConfig
from torch import nn

from vaekit.models.distributions import LOG_2PI, DiagonalGaussian, VampMixture
from vaekit.models.objectives import iwae_bound

PIXELS = 784


class DynamicBinarised(BaseDataset):
    """Images in [0, 1], each read as a fresh Bernoulli draw (seeded generator)."""

    def __init__(self, images: torch.Tensor, seed: int) -> None:
        super().__init__(images.reshape(len(images), PIXELS), torch.zeros(len(images)))
        self.generator = torch.Generator().manual_seed(seed)

    def __getitem__(self, index: int) -> DatasetOutput:
        image = torch.bernoulli(self.data[index], generator=self.generator)
        return DatasetOutput(data=image, labels=self.labels[index])


class _Gated(nn.Module):
    """h(x) * sigmoid(g(x)): a gated dense layer."""

    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__()
        self.h, self.g = nn.Linear(inputs, outputs), nn.Linear(inputs, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.h(x) * torch.sigmoid(self.g(x))


class _Encoder(BaseEncoder):
    def __init__(self, body: nn.Module, width: int, latent: int, bounded: bool) -> None:
        BaseEncoder.__init__(self)
        self.body, self.mean, self.logvar = body, nn.Linear(width, latent), nn.Linear(width, latent)
        self.bounded = bounded

    def forward(self, x: torch.Tensor) -> ModelOutput:
        h = self.body(x.reshape(-1, PIXELS))
        logvar = self.logvar(h)
        if self.bounded:
            logvar = F.hardtanh(logvar, -6.0, 2.0)
        return ModelOutput(embedding=self.mean(h), log_covariance=logvar)


class _Decoder(BaseDecoder):
    def __init__(self, body: nn.Module) -> None:
        BaseDecoder.__init__(self)
        self.body = body

    def forward(self, z: torch.Tensor) -> ModelOutput:
        return ModelOutput(reconstruction=torch.sigmoid(self.body(z)))


def _init(module: nn.Module, kind: str) -> None:
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            if kind == "glorot":
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)
            elif kind == "he":
                nn.init.normal_(layer.weight, 0.0, math.sqrt(2.0 / layer.in_features))


def build(name: str) -> tuple[nn.Module, dict]:
    """pythae's model ``name`` (vae, iwae, vamp) with its recipe's networks, and the recipe's
    training settings."""
    if name == "vae":
        config = VAEConfig(input_dim=(PIXELS,), latent_dim=16, reconstruction_loss="bce")
        encoder = _Encoder(nn.Sequential(nn.Linear(PIXELS, 400), nn.ReLU()), 400, 16, False)
        decoder = _Decoder(nn.Sequential(nn.Linear(16, 400), nn.ReLU(), nn.Linear(400, PIXELS)))
        model = VAE(config, encoder=encoder, decoder=decoder)
        train = {"batch": 100, "lr": 1e-4, "optimizer": "Adam", "optimizer_params": None}
        train["milestones"], train["gamma"] = [200, 350, 500, 750, 1000], 10 ** (-1 / 5)
    elif name == "iwae":
        config = IWAEConfig(
            input_dim=(PIXELS,), latent_dim=50, reconstruction_loss="bce", number_samples=50
        )
        tanh = nn.Tanh
        encoder = _Encoder(
            nn.Sequential(nn.Linear(PIXELS, 200), tanh(), nn.Linear(200, 200), tanh()),
            200,
            50,
            False,
        )
        decoder = _Decoder(
            nn.Sequential(
                nn.Linear(50, 200), tanh(), nn.Linear(200, 200), tanh(), nn.Linear(200, PIXELS)
            )
        )
        _init(encoder, "glorot")
        _init(decoder, "glorot")
        model = IWAE(config, encoder=encoder, decoder=decoder)
        train = {"batch": 20, "lr": 1e-3, "optimizer": "Adam", "optimizer_params": {"eps": 1e-4}}
        train["milestones"] = [2, 5, 14, 28, 41, 122, 365, 1094]
        train["gamma"] = 10 ** (-1 / 7)
    elif name == "vamp":
        config = VAMPConfig(
            input_dim=(PIXELS,),
            latent_dim=40,
            reconstruction_loss="bce",
            number_components=500,
            linear_scheduling_steps=100,
        )
        encoder = _Encoder(nn.Sequential(_Gated(PIXELS, 300), _Gated(300, 300)), 300, 40, True)
        decoder = _Decoder(nn.Sequential(_Gated(40, 300), _Gated(300, 300), nn.Linear(300, PIXELS)))
        _init(encoder, "he")
        _init(decoder, "he")
        model = VAMP(config, encoder=encoder, decoder=decoder)
        train = {"batch": 100, "lr": 1e-4, "optimizer": "RMSprop", "optimizer_params": None}
        train["milestones"], train["gamma"] = [200, 350, 500, 750, 1000], 10 ** (-1 / 5)
    else:
        raise ValueError(f"pythae model {name!r}: vae, iwae or vamp")
    return model, train


def _fit(name: str, train_x, val_x, epochs: int, seed: int) -> tuple[nn.Module, float]:
    torch.manual_seed(seed)  # the networks' initial weights
    model, recipe = build(name)
    config = BaseTrainerConfig(
        output_dir=tempfile.mkdtemp(prefix=f"pythae-{name}-"),
        per_device_train_batch_size=recipe["batch"],
        per_device_eval_batch_size=100,
        num_epochs=epochs,
        learning_rate=recipe["lr"],
        optimizer_cls=recipe["optimizer"],
        optimizer_params=recipe["optimizer_params"],
        scheduler_cls="MultiStepLR",
        scheduler_params={"milestones": recipe["milestones"], "gamma": recipe["gamma"]},
        seed=seed,
        no_cuda=True,
    )
    trainer = BaseTrainer(
        model=model,
        train_dataset=DynamicBinarised(train_x, seed),
        eval_dataset=BaseDataset(val_x.reshape(len(val_x), PIXELS), torch.zeros(len(val_x))),
        training_config=config,
    )
    started = time.perf_counter()
    trainer.train()
    return trainer.model.eval(), time.perf_counter() - started


def train_for(name: str, train_x, val_x, minutes: float, seed: int = 0):
    """Probe one epoch for the epoch time, then train a fresh model for as many epochs as fit
    the budget (the probe counts against it): (model, seconds, epochs)."""
    started = time.perf_counter()
    _, epoch_seconds = _fit(name, train_x, val_x, 1, seed)
    left = minutes * 60 - (time.perf_counter() - started)
    epochs = max(1, int(left / (epoch_seconds * 1.03)))
    print(f"pythae-{name}: {epoch_seconds:.2f} s/epoch -> {epochs} epochs", flush=True)
    model, _ = _fit(name, train_x, val_x, epochs, seed)
    return model, time.perf_counter() - started, epochs


class PythaeLikelihood(nn.Module):
    """A trained pythae VAE/IWAE/VAMP behind the ``log_likelihood`` vaekit's estimator calls:
    log w = log p(x|z) + log p(z) - log q(z|x), z ~ q(z|x), with normalised densities."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.input_size = PIXELS

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _prior_log_prob(self, z: torch.Tensor) -> torch.Tensor:
        if isinstance(self.model, VAMP):
            pseudo = self.model.pseudo_inputs(self.model.idle_input.to(z.device))
            out = self.model.encoder(pseudo)
            return VampMixture(out.embedding, out.log_covariance).log_prob(z)
        return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)

    @torch.no_grad()
    def log_likelihood(self, x, k=1000, chunk=250, generator=None, condition=None):
        x = x.reshape(len(x), PIXELS)
        out = self.model.encoder(x)
        posterior = DiagonalGaussian(out.embedding, out.log_covariance)
        weights = []
        for start in range(0, k, chunk):
            z, log_q = posterior.rsample_with_log_prob(min(chunk, k - start), generator=generator)
            probs = self.model.decoder(z.reshape(-1, z.shape[-1])).reconstruction
            probs = probs.reshape(*z.shape[:-1], PIXELS)
            target = x.expand_as(probs)
            log_px = -F.binary_cross_entropy(probs, target, reduction="none").sum(-1)
            weights.append(log_px + self._prior_log_prob(z) - log_q)
        return iwae_bound(torch.cat(weights))


def pythae_nll(model: nn.Module, x: torch.Tensor, k: int) -> float:
    """pythae's own estimate on ``x``: its ``get_nll`` returns the mean log-likelihood."""
    with torch.no_grad():
        return -float(model.get_nll(x.reshape(len(x), PIXELS), n_samples=k, batch_size=k))


__all__ = ["PythaeLikelihood", "build", "pythae_nll", "train_for"]
