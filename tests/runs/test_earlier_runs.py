"""Run folders written by vaekit 0.1.0 before the package was layered (tests/runs/runs-0.1.0,
made by that version with `vaekit train --data digits|penguins ... --hidden 16 --epochs 2`, the
penguins one conditioned on species) still load and give the numbers that version gave: the
same samples for the same seed, the same codes, a table in the same columns."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

import vaekit
from vaekit.cli.main import main

RUNS = Path(__file__).resolve().parent / "runs-0.1.0"


def test_an_image_run_of_0_1_0_gives_the_samples_and_codes_it_gave():
    run = vaekit.load(RUNS / "digits")
    expected = np.load(RUNS / "digits" / "expected_samples.npy")
    np.testing.assert_array_equal(run.sample(4, seed=0, sampler="prior"), expected)
    codes = np.load(RUNS / "digits" / "expected_codes.npy")
    np.testing.assert_array_equal(run.encode(run.data("val"))[0][:8], codes)


def test_a_conditional_table_run_of_0_1_0_gives_the_rows_it_gave():
    run = vaekit.load(RUNS / "penguins")
    expected = pd.read_csv(RUNS / "penguins" / "expected_samples.csv")
    rows = run.sample(5, seed=0, condition="Adelie")
    got = pd.read_csv(pd.io.common.StringIO(rows.to_csv(index=False)))
    pd.testing.assert_frame_equal(got, expected)


def test_commands_work_on_a_run_of_0_1_0(tmp_path, capsys):
    run = tmp_path / "digits"
    shutil.copytree(RUNS / "digits", run)
    assert main(["--quiet", "info", str(run)]) == 0
    assert "vae" in capsys.readouterr().out
    out = tmp_path / "codes.npz"
    assert main(["--quiet", "encode", str(run), "--data", "val", "-o", str(out)]) == 0
    codes = np.load(RUNS / "digits" / "expected_codes.npy")
    np.testing.assert_array_equal(np.load(out)["mean"][:8], codes)
