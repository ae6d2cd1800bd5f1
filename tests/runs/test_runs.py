import json
import pickle
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import vaekit
from vaekit.core.errors import VaekitError


def test_load_round_trip_is_bit_exact(trained_run, tmp_path):
    run = vaekit.load(trained_run)
    saved = load_file(str(trained_run / "model.safetensors"))
    loaded = run.model.state_dict()
    assert saved.keys() == loaded.keys()
    assert all(torch.equal(saved[k], loaded[k]) for k in saved)
    # Saving the loaded model again gives the same bytes of tensor data.
    vaekit.runs.folder.save_weights(run.model, tmp_path / "again.safetensors")
    again = load_file(str(tmp_path / "again.safetensors"))
    assert all(torch.equal(saved[k], again[k]) for k in saved)


def test_loaded_run_answers_the_verbs(trained_run):
    run = vaekit.load(trained_run)
    assert run.model.sample(16).shape == (16, 1, 8, 8)
    samples = run.sample(4, seed=3)
    assert np.array_equal(samples, run.sample(4, seed=3))
    assert samples.min() >= 0 and samples.max() <= 1
    x = run.data("val").x[:10]
    mean, logvar = run.encode(x)
    assert mean.shape == logvar.shape == (10, 2)
    assert run.decode(mean).shape == (10, 1, 8, 8)
    assert run.reconstruct(x).shape == (10, 1, 8, 8)


def test_best_and_last_weights_both_load(trained_run):
    best = vaekit.load(trained_run, weights="best")
    last = vaekit.load(trained_run, weights="last")
    assert best.model.parameter_count() == last.model.parameter_count()


def test_folder_without_config_is_not_a_run(tmp_path):
    with pytest.raises(VaekitError, match="not a vaekit run"):
        vaekit.load(tmp_path)


def test_pickle_files_are_never_loaded(trained_run, tmp_path, capsys):
    class Boom:
        def __reduce__(self):
            return (print, ("pwned",))

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    (run / "model.safetensors").unlink()
    (run / "model.pt").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(VaekitError, match="weights file not found"):
        vaekit.load(run)
    (run / "model.safetensors").write_bytes(pickle.dumps(Boom()))  # a pickle under our name
    with pytest.raises(VaekitError, match="not a readable weights file"):
        vaekit.load(run)
    assert "pwned" not in capsys.readouterr().out


def test_tensors_that_do_not_match_the_config_are_named(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    tensors = load_file(str(run / "model.safetensors"))
    tensors["decoder.net.0.weight"] = torch.zeros(3, 3)
    save_file(tensors, str(run / "model.safetensors"))
    with pytest.raises(VaekitError, match=r"decoder.net.0.weight has shape \(3, 3\)"):
        vaekit.load(run)
    del tensors["decoder.net.0.weight"]
    save_file(tensors, str(run / "model.safetensors"))
    with pytest.raises(VaekitError, match="missing decoder.net.0.weight"):
        vaekit.load(run)


def test_truncated_weights_and_bad_config_are_clear_errors(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    blob = (run / "model.safetensors").read_bytes()
    (run / "model.safetensors").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(VaekitError, match="not a readable weights file"):
        vaekit.load(run)
    config = json.loads((run / "config.json").read_text())
    config["model"]["latent_dim"] = -1
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(VaekitError, match="model.latent_dim: must be >= 1"):
        vaekit.load(run)
