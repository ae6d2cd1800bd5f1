import json

import pytest

from vaekit.config.files import read_config_file
from vaekit.config.run import RunConfig
from vaekit.core.errors import VaekitError


def test_config_round_trips_through_json():
    config = RunConfig.from_dict(
        {"model": {"latent_dim": 5, "hidden": [32, 16]}, "train": {"lr": 2e-3}}
    )
    again = RunConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"model": {"latent_dims": 2}}, "model.latent_dims: unknown option"),
        ({"model": {"latent_dim": "two"}}, "model.latent_dim: expected an integer"),
        ({"model": {"latent_dim": 0}}, "model.latent_dim: must be >= 1"),
        ({"model": {"likelihood": "poisson"}}, "model.likelihood: 'poisson' is not one of"),
        ({"train": {"lr": 0}}, "train.lr: must be > 0"),
        ({"train": {"epochs": 2.5}}, "train.epochs: expected an integer"),
        ({"model": {"hidden": [64, "x"]}}, "model.hidden: expected a list of an integer"),
        ({"optimizer": {}}, "unknown section 'optimizer'"),
        ({"format": 99}, "config format 99 is not supported"),
    ],
)
def test_bad_config_names_the_key(raw, message):
    with pytest.raises(VaekitError, match=message):
        RunConfig.from_dict(raw)


def test_yaml_and_json_files_are_read(tmp_path):
    (tmp_path / "c.yaml").write_text("model:\n  latent_dim: 4\n")
    (tmp_path / "c.json").write_text('{"train": {"epochs": 2}}')
    assert read_config_file(tmp_path / "c.yaml") == {"model": {"latent_dim": 4}}
    assert read_config_file(tmp_path / "c.json") == {"train": {"epochs": 2}}


def test_unparsable_config_file_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(VaekitError, match="bad.json: not valid JSON") as err:
        read_config_file(bad)
    assert "\n" not in str(err.value)


def test_training_summary_names_what_differs_from_the_defaults():
    plain = RunConfig.from_dict({"model": {"model": "vae"}, "train": {"epochs": 5}})
    plain.model.beta = 1.0
    assert plain.training_summary() == "5 epochs, batch 128, Adam lr 0.001, beta 1, seed 0"
    tuned = RunConfig.from_dict(
        {
            "train": {
                "epochs": 5,
                "lr_schedule": "cosine",
                "lr_final": 1e-5,
                "precision": "bf16",
                "init_from": "runs/a",
            }
        }
    )
    summary = tuned.training_summary()
    assert "Adam lr 0.001 (cosine to 1e-05)" in summary
    assert summary.endswith("bf16, started from runs/a")
    assert RunConfig.from_dict({"model": {"model": "pca"}}).training_summary() == "closed form"
