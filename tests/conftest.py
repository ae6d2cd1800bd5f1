"""Shared tiny fixtures: quiet output, a private data folder, and a small trained run."""

from __future__ import annotations

from pathlib import Path

import pytest

from vaekit.config.run import RunConfig
from vaekit.core import progress


@pytest.fixture(autouse=True, scope="session")
def _private_data(tmp_path_factory):
    """Every test, session and module fixtures too, caches data and classifiers in the session's
    own folder, never the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VAEKIT_DATA", str(tmp_path_factory.getbasetemp() / "vaekit-data"))
        yield


@pytest.fixture(autouse=True)
def _quiet():
    progress.QUIET = True


def tiny_config(**sections) -> RunConfig:
    """A small, fast VAE config on the built-in digits; override per section."""
    raw = {
        "model": {"latent_dim": 2, "hidden": [64]},
        "data": {"source": "digits"},
        "train": {"epochs": 3, "batch_size": 64, "seed": 0, "device": "cpu"},
    }
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    if raw["model"].get("model") == "pca":
        raw["model"].pop("hidden")  # PCA has no network: the option is refused for it
    return RunConfig.from_dict(raw)


@pytest.fixture(scope="session")
def make_config():
    """The :func:`tiny_config` builder, for tests that vary it."""
    return tiny_config


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A digits VAE trained for a few epochs, shared read-only by tests."""
    from vaekit.api import train

    progress.QUIET = True
    out = tmp_path_factory.mktemp("runs") / "digits"
    train(tiny_config(train={"epochs": 5}), out)
    return out
