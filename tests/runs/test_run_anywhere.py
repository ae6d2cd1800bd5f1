"""A run folder stands alone: trained in one folder on a relative path, it is evaluated, sampled,
plotted and resumed from another folder and after a move; with its training file gone it still
samples (a conditional run draws conditions from the run folder), and what needs the rows says
which file it looked for, in one line."""

import shutil

import numpy as np
import pandas as pd
import pytest

import vaekit
from vaekit.cli.main import main
from vaekit.data.builtin import PENGUINS

TRAIN = ["--quiet", "train", "--data", "penguins.csv", "--condition", "species", "--epochs", "2"]
TRAIN += ["--hidden", "16", "--latent-dim", "2", "--no-report", "--out", "run"]


@pytest.fixture
def trained_elsewhere(tmp_path, monkeypatch):
    """A conditional table run trained in tmp/a on the relative path penguins.csv; the test
    then works from tmp/b."""
    home, elsewhere = tmp_path / "a", tmp_path / "b"
    home.mkdir()
    elsewhere.mkdir()
    shutil.copy(PENGUINS, home / "penguins.csv")
    monkeypatch.chdir(home)
    assert main(TRAIN) == 0
    monkeypatch.chdir(elsewhere)
    return home / "run"


def _sample(run, out) -> pd.DataFrame:
    assert main(["--quiet", "sample", str(run), "-n", "6", "--seed", "3", "-o", str(out)]) == 0
    return pd.read_csv(out)


@pytest.mark.slow
def test_every_command_works_from_another_folder_and_after_a_move(trained_elsewhere, tmp_path):
    run = trained_elsewhere
    recorded = vaekit.load(run).config.data.location
    assert recorded["path"] == str((tmp_path / "a" / "penguins.csv").resolve())
    assert recorded["bytes"] == PENGUINS.stat().st_size and len(recorded["sha256"]) == 64
    assert main(["--quiet", "evaluate", str(run), "--k", "5", "--samples", "50"]) == 0
    assert main(["--quiet", "plot", str(run), "marginals", "-o", "m.png"]) == 0
    assert main(["--quiet", "train", "--resume", str(run), "--epochs", "3"]) == 0
    assert vaekit.load(run).metrics[-1]["epoch"] == 3
    before = _sample(run, tmp_path / "before.csv")
    moved = tmp_path / "c" / "moved"
    shutil.move(run, moved)
    assert main(["--quiet", "evaluate", str(moved), "--k", "5", "--samples", "50"]) == 0
    pd.testing.assert_frame_equal(_sample(moved, tmp_path / "after.csv"), before)


def test_without_its_training_file_a_run_samples_and_names_the_file_it_needs(
    trained_elsewhere, tmp_path, capsys
):
    run = trained_elsewhere
    with_data = vaekit.load(run)
    pool = with_data.splits().train.conditions
    before = _sample(run, tmp_path / "before.csv")
    (tmp_path / "a" / "penguins.csv").unlink()
    without = vaekit.load(run)
    assert np.array_equal(without.training_conditions().numpy(), pool.numpy())
    pd.testing.assert_frame_equal(_sample(run, tmp_path / "after.csv"), before)
    capsys.readouterr()
    assert main(["--quiet", "evaluate", str(run), "--k", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert str((tmp_path / "a" / "penguins.csv").resolve()) in err and "--data" in err


def test_a_training_file_changed_since_training_gets_a_warning_naming_it(
    trained_elsewhere, tmp_path, capsys, monkeypatch
):
    from vaekit.core import progress

    data = tmp_path / "a" / "penguins.csv"
    text = data.read_text().replace("39.1", "39.2", 1)
    data.write_text(text)
    monkeypatch.setattr(progress, "QUIET", False)
    capsys.readouterr()
    vaekit.load(trained_elsewhere).splits()
    err = capsys.readouterr().err
    assert f"{data.resolve()} has changed since this run was trained on it" in err


def test_an_image_run_with_a_labels_file_finds_both_from_elsewhere(tmp_path, monkeypatch):
    home, elsewhere = tmp_path / "a", tmp_path / "b"
    home.mkdir()
    elsewhere.mkdir()
    rng = np.random.default_rng(0)
    np.save(home / "x.npy", rng.random((60, 1, 4, 4)).astype(np.float32))
    np.save(home / "y.npy", rng.integers(0, 3, 60))
    monkeypatch.chdir(home)
    argv = ["--quiet", "train", "--data", "x.npy", "--labels", "y.npy", "--epochs", "1"]
    assert main([*argv, "--hidden", "8", "--no-report", "--out", "run"]) == 0
    monkeypatch.chdir(elsewhere)
    run = vaekit.load(home / "run")
    assert run.config.data.location["labels"] == str((home / "y.npy").resolve())
    assert np.array_equal(run.data("val").labels.numpy(), run.splits().val.labels.numpy())
    assert main(["--quiet", "evaluate", str(home / "run"), "--k", "3", "--samples", "20"]) == 0
