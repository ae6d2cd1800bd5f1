"""Tables as a VAE models them: the per-column likelihood, the quantile map, synthetic rows."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import distributions as D

import vaekit
from vaekit.cli.main import main
from vaekit.data.scaling import fit_quantiles, from_normal, to_normal
from vaekit.data.schema import infer_table_schema, likelihood_layout
from vaekit.data.table import Table, from_dataframe
from vaekit.evaluation.evaluate import evaluate_run
from vaekit.metrics.fidelity import quality
from vaekit.models.distributions import ColumnLayout, PerColumn
from vaekit.views.summaries import render_evaluation

# number, categorical (3) with its missing indicator, binary, number with its indicator
LAYOUT = ["gaussian", "categorical:3", "missing", "bernoulli", "gaussian", "missing"]


def _params(rows: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(rows, 2, 8, generator=torch.Generator().manual_seed(seed))


def _rows() -> torch.Tensor:
    return torch.tensor(
        [
            [0.3, 0, 1, 0, 0, 1, -1.2, 0],  # everything present
            [-2.0, 0, 0, 0, 1, 0, 0.0, 1],  # category missing, last number missing
            [1.1, 1, 0, 0, 0, 0, 0.4, 0],
        ]
    )


def test_per_column_log_prob_equals_torch_distributions():
    params, x = _params(3), _rows()
    likelihood = PerColumn(params, ColumnLayout(LAYOUT), min_sigma=1e-3)
    loc, raw = params[:, 0], params[:, 1]
    sigma = 1e-3 + torch.nn.functional.softplus(raw)
    expected = []
    for i in range(3):
        row, total = x[i], 0.0
        total += D.Normal(loc[i, 0], sigma[i, 0]).log_prob(row[0])
        category_missing = row[4] == 1
        total += D.Bernoulli(logits=loc[i, 4]).log_prob(row[4])
        if not category_missing:
            total += D.Categorical(logits=loc[i, 1:4]).log_prob(row[1:4].argmax())
        total += D.Bernoulli(logits=loc[i, 5]).log_prob(row[5])
        total += D.Bernoulli(logits=loc[i, 7]).log_prob(row[7])
        if row[7] == 0:
            total += D.Normal(loc[i, 6], sigma[i, 6]).log_prob(row[6])
        expected.append(total)
    torch.testing.assert_close(likelihood.log_prob(x), torch.stack(expected))


def test_per_column_log_prob_broadcasts_over_importance_samples():
    params = torch.randn(5, 3, 2, 8, generator=torch.Generator().manual_seed(1))
    likelihood = PerColumn(params, ColumnLayout(LAYOUT), min_sigma=1e-3)
    out = likelihood.log_prob(_rows())
    assert out.shape == (5, 3)
    for k in range(5):
        alone = PerColumn(params[k], ColumnLayout(LAYOUT), min_sigma=1e-3).log_prob(_rows())
        torch.testing.assert_close(out[k], alone)


def test_per_column_mean_and_draws_follow_the_column_kinds():
    params = _params(1, seed=2).expand(20000, 2, 8).clone()
    likelihood = PerColumn(params, ColumnLayout(LAYOUT), min_sigma=1e-3)
    mean = likelihood.mean[0]
    torch.testing.assert_close(mean[1:4], torch.softmax(params[0, 0, 1:4], -1))
    torch.testing.assert_close(mean[5], torch.sigmoid(params[0, 0, 5]))
    assert mean[0] == params[0, 0, 0]
    draws = likelihood.sample(torch.Generator().manual_seed(0))
    one_hot = draws[:, 1:4]
    assert set(one_hot.sum(1).tolist()) == {1.0}  # exactly one category per row
    assert set(draws[:, 5].unique().tolist()) <= {0.0, 1.0}
    # Frequencies within 4 standard errors of the probabilities (20,000 draws).
    freq = one_hot.mean(0)
    assert torch.allclose(freq, mean[1:4], atol=4 * 0.5 / 20000**0.5)
    assert abs(draws[:, 5].mean() - mean[5]) < 4 * 0.5 / 20000**0.5
    sigma = likelihood.sigma[0, 0]
    assert abs(draws[:, 0].std() - sigma) < 0.05 * sigma


def test_layout_refuses_damaged_words():
    for bad in (["categorical:0"], ["missing"], ["poisson"], ["categorical:x"]):
        with pytest.raises(ValueError, match="model.layout"):
            ColumnLayout(bad)


def test_quantile_map_round_trips_and_keeps_ties():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.lognormal(size=700), np.zeros(300)])  # a lump of zeros
    knots = fit_quantiles(values)
    z = to_normal(values, knots, float(values.std()))
    back = from_normal(z.astype(np.float32), knots)
    np.testing.assert_allclose(back, values, atol=1e-5 * values.max())
    assert np.unique(z[values == 0]).size == 1  # a tie maps to one score
    # New values beyond the training range keep their order (anomaly scores need it).
    outside = to_normal(np.array([-3.0, -1.0, values.max() + 1, values.max() + 9]), knots, 1.0)
    assert np.all(np.diff(outside) > 0) and outside[0] < z.min() and outside[-1] > z.max()
    # ... and the way back stays within the training range.
    assert from_normal(np.array([-40.0, 40.0]), knots).tolist() == [0.0, values.max()]


def _mixed_frame(rows: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "income": np.round(rng.lognormal(10, 0.6, rows), 2),
            "age": rng.integers(18, 90, rows),
            "region": rng.choice(["north", "south", "east"], rows, p=[0.6, 0.3, 0.1]),
            "member": rng.choice(["yes", "no"], rows),
        }
    )
    frame.loc[rng.random(rows) < 0.1, "income"] = np.nan
    return frame


def test_table_round_trips_through_model_space():
    frame = _mixed_frame()
    table = Table(list(frame.columns), [_column(frame[c]) for c in frame.columns], "t.csv")
    schema = infer_table_schema(table)
    assert likelihood_layout(schema) == [
        "gaussian",
        "missing",
        "gaussian",
        "categorical:3",
        "bernoulli",
    ]
    x, _ = schema.encode(table)
    back = schema.decode(x)
    income, age = back.column("income"), back.column("age")
    assert np.array_equal(np.isnan(income), frame.income.isna().to_numpy())
    np.testing.assert_allclose(income, frame.income.to_numpy(), rtol=1e-5)
    assert np.array_equal(age, frame.age.to_numpy())
    assert list(back.column("region")) == list(frame.region)
    assert list(back.column("member")) == list(frame.member)


def _column(series: pd.Series) -> np.ndarray:
    if series.dtype == object:
        return series.to_numpy(dtype=object)
    return series.to_numpy(dtype=np.float64)


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mixed")
    frame = _mixed_frame()
    frame.to_csv(folder / "people.csv", index=False)
    config = vaekit.RunConfig.from_dict(
        {
            "model": {"latent_dim": 4, "hidden": [32]},
            "data": {"source": str(folder / "people.csv")},
            "train": {"epochs": 60, "batch_size": 64},
        }
    )
    return vaekit.train(config, out=folder / "run"), frame


@pytest.mark.slow
def test_a_table_run_trains_on_the_per_column_likelihood(mixed_run):
    run, frame = mixed_run
    assert run.config.model.likelihood == "per-column"
    assert run.config.model.layout == [
        "gaussian",
        "missing",
        "gaussian",
        "categorical:3",
        "bernoulli",
    ]
    x = torch.as_tensor(run.to_model(frame).x)
    # The ELBO averaged over 50 draws per row, against the importance-sampled log p(x).
    elbo = run.model.elbo(x.repeat(50, 1), generator=torch.Generator().manual_seed(0))
    log_p = run.model.log_likelihood(x, k=500, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(elbo).all() and torch.isfinite(log_p).all()
    assert log_p.mean() > elbo.mean()


def test_synthetic_rows_keep_to_what_training_saw(mixed_run):
    run, frame = mixed_run
    fake = run.sample(2000, seed=0)
    assert list(fake.columns) == list(frame.columns)
    assert set(fake.region) <= set(frame.region) and set(fake.member) <= set(frame.member)
    assert fake.age.between(frame.age.min(), frame.age.max()).all()
    assert (fake.age == fake.age.round()).all()
    assert fake.income.min() >= frame.income.min() and fake.income.max() <= frame.income.max()
    # Categories are drawn in proportion, not collapsed onto the most common one.
    shares = fake.region.value_counts(normalize=True)
    assert shares.get("east", 0) > 0.03 and 0.02 < fake.income.isna().mean() < 0.2
    # The same seed gives the same rows.
    pd.testing.assert_frame_equal(fake, run.sample(2000, seed=0))


def test_evaluate_scores_the_synthetic_table_against_held_out_rows(mixed_run):
    run, frame = mixed_run
    result = evaluate_run(run, k=20, seed=0, target="region")
    s = result["synthetic"]
    held_out = run.table(None)
    assert s["rows"] == {"synthetic": 270, "real": len(held_out), "train": 270}
    # The same figures, computed by hand from the same rows.
    fake = from_dataframe(run.sample(270, seed=0))
    expected = quality(held_out, fake, run.schema.columns)
    assert s["quality"]["overall"] == expected.overall
    assert s["quality"]["columns"] == expected.column_scores
    assert 0.5 < expected.overall <= 1
    assert s["usefulness"]["target"] == "region" and set(s["usefulness"]["real"]) == {
        "accuracy",
        "f1",
    }
    assert 0 <= s["privacy"]["synthetic_copies"] <= 1
    rendered = render_evaluation(result)
    assert "quality" in rendered and "usefulness (region)" in rendered


def test_run_table_gives_the_rows_as_read(mixed_run):
    run, frame = mixed_run
    train, val = run.table("train"), run.table("val")
    assert len(train) + len(val) == len(frame)
    rows = sorted(np.round(np.concatenate([train.column("age"), val.column("age")])))
    assert rows == sorted(frame.age)


def test_evaluate_refuses_a_target_the_model_does_not_generate(mixed_run, capsys):
    run, _ = mixed_run
    assert main(["evaluate", str(run.path), "--k", "5", "--target", "salary"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("vaekit: error: --target: 'salary' is not a column")


def test_the_built_in_penguins_table_is_checked_and_typed(tmp_path, monkeypatch):
    from vaekit.config.run import DataConfig
    from vaekit.data import builtin
    from vaekit.data.splits import load_splits

    splits = load_splits(DataConfig(source="penguins"))
    kinds = {c.name: (c.kind, c.missing) for c in splits.schema.columns}
    assert kinds == {
        "species": ("categorical", "none"),
        "island": ("categorical", "none"),
        "bill_length_mm": ("continuous", "indicator"),
        "bill_depth_mm": ("continuous", "indicator"),
        "flipper_length_mm": ("integer", "indicator"),
        "body_mass_g": ("integer", "indicator"),
        "sex": ("binary", "indicator"),
    }
    assert len(splits.train) + len(splits.val) == 344
    altered = tmp_path / "penguins.csv"
    altered.write_text(builtin.PENGUINS.read_text().replace("Adelie", "Adélie", 1))
    monkeypatch.setitem(builtin.SHIPPED, "penguins", (altered, builtin.PENGUINS_SHA256))
    with pytest.raises(vaekit.VaekitError, match="checksum"):
        builtin.read("penguins")
