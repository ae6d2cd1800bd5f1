"""``vaekit.fit``: a DataFrame with text and missing cells, an array or a path, with the command
line's options as keywords; the rows are kept in the run folder; scores of a DataFrame line up
with its index; bad input is one line."""

import numpy as np
import pandas as pd
import pytest

import vaekit
from vaekit.data.builtin import PENGUINS

OPTIONS = {"epochs": 2, "hidden": [16], "latent_dim": 2, "seed": 0}


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    frame = pd.read_csv(PENGUINS)
    assert frame.isna().any().any() and frame["species"].dtype == object  # text, missing cells
    return frame


def test_fit_on_a_dataframe_is_the_cli_on_its_csv(penguins, tmp_path):
    from vaekit.cli.main import main

    run = vaekit.fit(penguins, tmp_path / "api", condition="species", **OPTIONS)
    penguins.to_csv(tmp_path / "p.csv", index=False)
    argv = ["--quiet", "train", "--data", str(tmp_path / "p.csv"), "--condition", "species"]
    argv += ["--epochs", "2", "--hidden", "16", "--latent-dim", "2", "--no-report"]
    assert main([*argv, "--out", str(tmp_path / "cli")]) == 0
    cli = vaekit.load(tmp_path / "cli")

    def without_dtypes(schema: dict) -> dict:
        return {**schema, "columns": [{**c, "dtype": None} for c in schema["columns"]]}

    # One data path: the same schema but for the DataFrame's dtypes, which fit keeps
    assert without_dtypes(run.config.data.schema) == cli.config.data.schema
    rows = run.sample(5, seed=1)
    assert rows.dtypes.to_dict() == penguins.dtypes.to_dict()  # the rows as they went in
    pd.testing.assert_frame_equal(rows, cli.sample(5, seed=1), check_dtype=False)
    kept = tmp_path / "api" / "data.csv"
    assert run.config.data.source == str(kept) and kept.exists()
    assert run.config.data.location["sha256"] == cli.config.data.location["sha256"]


def test_scores_of_a_dataframe_line_up_with_its_index(penguins, tmp_path):
    run = vaekit.fit(penguins, tmp_path / "r", **OPTIONS)
    rows = penguins.sample(20, random_state=0)  # a shuffled, gappy index
    scores = run.score(rows, k=20)
    assert isinstance(scores, pd.Series) and scores.name == "score"
    assert list(scores.index) == list(rows.index)
    as_array = run.score(rows.reset_index(drop=True), k=20).to_numpy()
    np.testing.assert_array_equal(scores.to_numpy(), as_array)
    assert isinstance(run.score(PENGUINS, k=5), np.ndarray)


def test_fit_on_an_array_keeps_it_with_the_run(tmp_path):
    x = np.random.default_rng(0).random((120, 1, 8, 8)).astype(np.float32)
    run = vaekit.fit(x, tmp_path / "r", **OPTIONS)
    np.testing.assert_array_equal(np.load(tmp_path / "r" / "data.npy"), x)
    assert run.sample(3, seed=0).shape == (3, 1, 8, 8)


@pytest.mark.parametrize(
    ("data", "options", "message"),
    [
        ("frame", {"latnt_dim": 3}, "latnt_dim: unknown option (did you mean latent_dim?)"),
        ("frame", {"epochs": 0}, "epochs"),
        ("text array", {}, "row 0, column 0: 'Adelie' is not a number"),
        ("list", {}, "expected a pandas DataFrame, a numpy array or a path, got list"),
    ],
)
def test_bad_input_is_one_line(penguins, tmp_path, data, options, message):
    given = {"frame": penguins, "text array": penguins.to_numpy(), "list": [[1, 2]]}[data]
    with pytest.raises(vaekit.VaekitError) as err:
        vaekit.fit(given, tmp_path / "r", **{**OPTIONS, **options})
    assert message in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "r" / "config.json").exists()


def test_encoding_an_array_with_text_names_the_cell(penguins, tmp_path):
    run = vaekit.fit(penguins, tmp_path / "r", **OPTIONS)
    with pytest.raises(vaekit.VaekitError, match=r"row 0, column 0: 'Adelie' is not a number"):
        run.encode(penguins.to_numpy())


def test_fit_gives_rows_back_in_the_dataframes_dtypes(tmp_path):
    rng = np.random.default_rng(0)
    n = 60
    frame = pd.DataFrame(
        {
            "order_id": np.arange(1000, 1000 + n),
            "paid": rng.random(n) < 0.5,
            "day": pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.integers(0, 90, n), "D"),
            "amount": rng.normal(50, 10, n).round(2),
        }
    )
    run = vaekit.fit(frame, tmp_path / "r", **OPTIONS)
    rows = run.sample(200, seed=0)
    assert rows.dtypes.to_dict() == frame.dtypes.to_dict()
    assert rows["order_id"].is_unique and not set(rows["order_id"]) & set(frame["order_id"])
    assert rows["day"].between(frame["day"].min(), frame["day"].max()).all()
    assert (rows["amount"] == rows["amount"].round(2)).all()  # the training precision
