"""A user's factor table beside their images: read, numbered, recorded in the schema, and
refused in one line when it does not fit."""

from __future__ import annotations

import numpy as np
import pytest

from vaekit.cli.main import main
from vaekit.core.errors import VaekitError
from vaekit.data.factors import factors_by_name, read_factor_table


def test_each_factor_is_numbered_in_the_sorted_order_of_its_values(tmp_path):
    path = tmp_path / "factors.csv"
    path.write_text("colour,size\nred,2\nblue,10\nred,1.5\n")
    indices, values = read_factor_table(path, 3)
    assert values == {"colour": ["blue", "red"], "size": ["1.5", "2", "10"]}
    assert indices.tolist() == [[1, 1], [0, 2], [1, 0]]


def test_another_file_is_renumbered_into_the_runs_values():
    recorded = {"size": ["1", "2", "3"]}
    again = factors_by_name(np.array([[0], [1]]), {"size": ["2", "3"]}, recorded, "new.csv")
    assert again[:, 0].tolist() == [1, 2]
    with pytest.raises(VaekitError, match="value '9' was not seen in training"):
        factors_by_name(np.array([[0]]), {"size": ["9"]}, recorded, "new.csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("size\n1\n2\n", "has 2 rows of factors for 3 images"),
        ("size,name\n1,a\n,b\n2,c\n", "column 'size': a missing factor value"),
        ("size\n" + "".join(f"{i / 7}\n" for i in range(1001)), "1,001 distinct values"),
    ],
)
def test_a_factor_table_that_does_not_fit_is_refused_in_one_line(tmp_path, text, message):
    path = tmp_path / "factors.csv"
    path.write_text(text)
    with pytest.raises(VaekitError, match=message):
        read_factor_table(path, 3 if len(text) < 100 else 1001)


def test_training_with_a_factor_table_records_it_and_bad_rows_exit_2(tmp_path, capsys):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 2, (60, 8, 8)).astype(np.uint8)
    np.save(tmp_path / "images.npy", images)
    (tmp_path / "factors.csv").write_text(
        "stripe,half\n" + "".join(f"{i % 3},{i % 2}\n" for i in range(60))
    )
    args = ["--quiet", "train", "--data", str(tmp_path / "images.npy"), "--epochs", "1"]
    args.append("--no-report")
    out = tmp_path / "run"
    assert main([*args, "--factors", str(tmp_path / "factors.csv"), "--out", str(out)]) == 0
    from vaekit import load

    run = load(out)
    assert run.schema.factors == {"stripe": ["0", "1", "2"], "half": ["0", "1"]}
    assert run.data("val").factors.shape[1] == 2
    (tmp_path / "short.csv").write_text("stripe\n1\n2\n")
    capsys.readouterr()
    code = main([*args, "--factors", str(tmp_path / "short.csv"), "--out", str(tmp_path / "r2")])
    err = capsys.readouterr().err
    assert code == 2 and "short.csv: has 2 rows of factors for 60 images" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
