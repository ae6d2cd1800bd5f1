"""`vaekit calibrate` and `vaekit score --fpr`: normal data kept apart sets the threshold,
the run keeps it, and every misuse is one line."""

import pandas as pd
import pytest

from vaekit.cli.main import main
from vaekit.data.builtin import PENGUINS
from vaekit.data.table import read_csv


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    root = tmp_path_factory.mktemp("calibrate")
    rows = pd.read_csv(PENGUINS).sample(frac=1, random_state=0)
    for name, part in (("train", rows[:180]), ("normal", rows[180:280]), ("new", rows[280:])):
        part.to_csv(root / f"{name}.csv", index=False)
    run = root / "run"
    fast = ["--epochs", "20", "--hidden", "32", "--latent-dim", "3", "--no-report"]
    assert (
        main(["--quiet", "train", "--data", str(root / "train.csv"), "--out", str(run), *fast]) == 0
    )
    assert main(["calibrate", str(run), "--data", str(root / "normal.csv"), "--k", "20"]) == 0
    return root, run


def test_score_with_fpr_flags_above_the_calibrated_threshold(calibrated, capsys):
    root, run = calibrated
    out = root / "scores.csv"
    assert (
        main(["score", str(run), "--data", str(root / "new.csv"), "--fpr", "0.1", "-o", str(out)])
        == 0
    )
    printed = capsys.readouterr().out
    assert "false-alarm rate 10.0% on normal data, from 100 calibration examples" in printed
    table = read_csv(out)
    assert table.names == ["row", "score", "flagged", "p_value"]
    flagged, p = table.column("flagged"), table.column("p_value")
    assert ((p <= 0.1) == (flagged == 1)).all()
    assert ((p > 0) & (p <= 1)).all()


SCORE = "score {run} --data {root}/new.csv -o {root}/s.csv --fpr"


@pytest.mark.parametrize(
    "command, message",
    [
        ("calibrate {run} --data {root}/train.csv", "is the training data"),
        ("calibrate {run}", "--data: name normal data kept apart"),
        (f"{SCORE} 0.001", "cannot set a false-alarm rate below"),
        (f"{SCORE} 0.1 --by recon", "the calibration scored by nll"),
        (f"{SCORE} 0.1 --contamination 0.1", "give one"),
    ],
)
def test_misuse_is_one_line(calibrated, capsys, command, message):
    root, run = calibrated
    words = command.format(run=run, root=root).split()
    assert main(words) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and message in err


def test_an_uncalibrated_run_and_a_damaged_record_are_one_line(calibrated, tmp_path, capsys):
    import shutil

    root, run = calibrated
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    argv = [
        "score",
        str(copy),
        "--data",
        str(root / "new.csv"),
        "--fpr",
        "0.1",
        "-o",
        str(tmp_path / "s.csv"),
    ]
    (copy / "calibration.json").write_text('{"by": "nll", "k": 20, "seed": 0, "scores": [2, 1]}')
    assert main(argv) == 2
    assert "calibration.json: is damaged" in capsys.readouterr().err
    (copy / "calibration.json").unlink()
    assert main(argv) == 2
    assert "is not calibrated; run vaekit calibrate" in capsys.readouterr().err
