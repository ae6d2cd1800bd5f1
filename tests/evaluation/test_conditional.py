"""Conditional runs: conditions encoded like features, given to every network, changing the
samples, refused in one line where they do not fit, and resumed bit for bit."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file
from scipy.stats import ks_2samp

import vaekit
from vaekit.api import resume, train
from vaekit.cli.main import main
from vaekit.core.errors import VaekitError
from vaekit.data.schema import (
    condition_table,
    decode_conditions,
    encode_conditions,
    infer_table_schema,
)
from vaekit.data.table import read_csv
from vaekit.metrics.fidelity import column_shapes, ks_complement, tv_complement
from vaekit.models.distributions import DiagonalGaussian

FAST = ["--quiet", "train", "--hidden", "64", "--batch-size", "64", "--no-report"]


def _people(n: int = 300, seed: int = 0) -> str:
    """A small table: a region that shifts income and home ownership, and an age."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east"], n)
    age = rng.integers(20, 70, n)
    income = np.select([region == "south", region == "east"], [20.0, -10.0], 0.0) + age * 0.5
    income = income + rng.normal(0, 3, n)
    owns = rng.random(n) < np.where(region == "south", 0.8, 0.2)
    lines = ["region,age,income,owns_home"] + [
        f"{r},{a},{i:.3f},{'yes' if o else 'no'}"
        for r, a, i, o in zip(region, age, income, owns, strict=True)
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def people_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("people") / "people.csv"
    path.write_text(_people())
    return path


@pytest.fixture(scope="module")
def table_run(people_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "people"
    args = [*FAST, "--data", str(people_csv), "--condition", "region,age", "--latent-dim", "2"]
    assert main([*args, "--epochs", "20", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "digits-cvae"
    args = [*FAST, "--data", "digits", "--condition", "label", "--latent-dim", "4"]
    assert main([*args, "--epochs", "40", "--out", str(out)]) == 0
    return out


# -- encodings ----------------------------------------------------------------------------


def test_condition_columns_encode_like_features_and_decode_back(people_csv):
    table = read_csv(people_csv)
    schema = infer_table_schema(table, condition=["region", "age"])
    region, age = schema.conditions
    assert (region.kind, region.categories) == ("categorical", ["east", "north", "south"])
    assert age.kind == "integer" and age.role == "condition"
    assert [c.name for c in schema.outputs] == ["income", "owns_home"]  # not generated
    c = encode_conditions(schema.conditions, table)
    assert c.shape == (300, 4) and c.dtype == np.float32
    names = table.column("region")
    expected = np.stack([names == k for k in ("east", "north", "south")], 1)
    assert np.array_equal(c[:, :3], expected)  # one-hot, exactly
    ages = table.column("age")
    np.testing.assert_allclose(c[:, 3], (ages - ages.mean()) / ages.std(), rtol=1e-6)
    back = decode_conditions(schema.conditions, c)
    assert list(back.column("region")) == list(names)
    assert np.array_equal(back.column("age"), ages)  # integers round back exactly


def test_a_condition_given_by_name_is_checked_against_training(people_csv):
    table = read_csv(people_csv)
    columns = infer_table_schema(table, condition=["region", "age"]).conditions
    one = encode_conditions(columns, condition_table(columns, {"region": "south", "age": 30}, "x"))
    assert one.shape == (1, 4) and one[0, 2] == 1.0
    with pytest.raises(VaekitError, match=r"^x: region: 'west' is not one of .*east, north"):
        condition_table(columns, {"region": "west", "age": 30}, "x")
    with pytest.raises(VaekitError, match=r"^x: no value for 'age'"):
        condition_table(columns, {"region": "south"}, "x")
    with pytest.raises(VaekitError, match=r"^x: 'colour' is not a condition of this run"):
        condition_table(columns, {"colour": "red", "region": "south", "age": 3}, "x")


def test_a_column_cannot_be_a_label_and_a_condition(people_csv):
    table = read_csv(people_csv)
    with pytest.raises(VaekitError, match="cannot be both a label and a condition"):
        infer_table_schema(table, label="region", condition=["region"])


def test_image_labels_become_a_one_hot_condition(digits_run):
    run = vaekit.load(digits_run)
    assert run.model.condition_dim == 10 and run.schema.conditions[0].name == "label"
    val = run.data("val")
    assert torch.equal(val.conditions, torch.nn.functional.one_hot(val.labels, 10).float())
    assert "conditioned on the class label (10 classes)" in run.schema.describe()


# -- the model ----------------------------------------------------------------------------


def test_conditional_prior_kl_equals_torch_distributions():
    gen = torch.Generator().manual_seed(0)
    q = DiagonalGaussian(torch.randn(5, 3, generator=gen), torch.randn(5, 3, generator=gen))
    p = DiagonalGaussian(torch.randn(5, 3, generator=gen), torch.randn(5, 3, generator=gen))
    ours = q.kl_per_dim(p)
    reference = torch.distributions.kl_divergence(
        torch.distributions.Normal(q.mean, q.std), torch.distributions.Normal(p.mean, p.std)
    )
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-6)
    standard = DiagonalGaussian(torch.zeros(5, 3), torch.zeros(5, 3))
    torch.testing.assert_close(q.kl_per_dim(standard), q.kl_per_dim(), rtol=1e-5, atol=1e-6)


def test_learned_prior_log_likelihood_bounds_the_elbo(make_config, tmp_path):
    config = make_config(
        data={"condition": ["label"]}, model={"prior": "conditional"}, train={"epochs": 3}
    )
    run = train(config, tmp_path / "r")
    val = run.data("val").take(slice(0, 64))
    gen = torch.Generator().manual_seed(0)
    elbo = torch.stack([run.model.elbo(val.x, gen, val.conditions) for _ in range(20)]).mean(0)
    log_p = run.model.log_likelihood(val.x, k=200, generator=gen, condition=val.conditions)
    assert float(log_p.mean()) >= float(elbo.mean())  # E[IS estimate] >= ELBO


def test_condition_changes_the_samples_and_a_seed_fixes_them(digits_run):
    run = vaekit.load(digits_run)
    for sampler in ("prior", "gmm"):
        three = run.sample(8, seed=1, sampler=sampler, condition=3)
        assert np.array_equal(three, run.sample(8, seed=1, sampler=sampler, condition="3"))
        seven = run.sample(8, seed=1, sampler=sampler, condition=7)
        assert not np.allclose(three, seven, atol=1e-3)
    assert np.array_equal(three, run.sample(8, seed=1, condition=3))  # auto: gmm here
    # One value per example: the prior's codes do not depend on the condition.
    per_row = run.sample(3, seed=1, sampler="prior", condition=[3, 3, 7])
    all_three = run.sample(3, seed=1, sampler="prior", condition=3)
    assert np.array_equal(per_row[:2], all_three[:2])
    assert not np.allclose(per_row[2], all_three[2], atol=1e-3)


def test_the_classifier_agrees_with_the_requested_digit(digits_run):
    from vaekit.evaluation.conditional import conditional_accuracy
    from vaekit.metrics.quality import judge_for

    run = vaekit.load(digits_run)
    result = conditional_accuracy(run, judge_for(run.splits()), samples=500)
    assert result["samples"] == 500
    assert set(result["prior"]["per_class"]) == {str(i) for i in range(10)}
    # 40 epochs on digits; a sampler that ignored the condition would score about 0.1
    assert result["prior"]["accuracy"] >= 0.9 and result["gmm"]["accuracy"] >= 0.9


def test_restyle_keeps_the_code_and_changes_the_label(digits_run):
    run = vaekit.load(digits_run)
    val = run.data("val").take(slice(0, 6))
    same = run.restyle(val, val.conditions, model_space=True)
    assert np.allclose(same, run.reconstruct(val, model_space=True), atol=1e-6)
    other = run.restyle(val, 1, model_space=True)
    assert other.shape == same.shape and not np.allclose(other, same, atol=1e-3)


# -- tables -------------------------------------------------------------------------------


def test_table_samples_carry_the_asked_condition(table_run, tmp_path):
    run = vaekit.load(table_run)
    rows = run.sample(20, seed=0, condition={"region": "south", "age": 33})
    assert list(rows.columns) == ["region", "age", "income", "owns_home"]
    assert set(rows["region"]) == {"south"} and set(rows["age"]) == {33}
    out = tmp_path / "south.csv"
    assert main(["--quiet", "sample", str(table_run), "--condition", "region=south,age=33",
                 "-n", "5", "-o", str(out)]) == 0  # fmt: skip
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["region", "age", "income", "owns_home"]
    assert set(frame["region"]) == {"south"}


def test_a_file_without_the_condition_column_is_refused(table_run, people_csv, tmp_path, capsys):
    frame = pd.read_csv(people_csv).drop(columns=["region"])
    frame.to_csv(tmp_path / "no-region.csv", index=False)
    code = main(["--quiet", "score", str(table_run), "--data", str(tmp_path / "no-region.csv"),
                 "-o", str(tmp_path / "s.csv")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "does not hold every condition column of this run ('region', 'age'); add it" in err
    assert "\n" not in err
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--condition", "west"], "--condition: this run has 2 conditions (region, age)"),
        (["--condition", "region=west,age=3"], "'west' is not one of the values seen"),
        (["--condition", "age=3"], "no value for 'region'"),
    ],
)
def test_bad_conditions_are_one_line_errors(table_run, tmp_path, capsys, argv, message):
    out = tmp_path / "s.csv"
    assert main(["--quiet", "sample", str(table_run), *argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert not out.exists()


def test_a_condition_for_an_unconditional_run_is_refused(trained_run, tmp_path, capsys):
    out = tmp_path / "s.png"
    assert main(["--quiet", "sample", str(trained_run), "--condition", "3", "-o", str(out)]) == 2
    assert "trained without a condition" in capsys.readouterr().err
    with pytest.raises(VaekitError, match="trained without a condition"):
        vaekit.load(trained_run).sample(2, condition=3)


def test_every_command_works_on_a_conditional_run(digits_run, tmp_path):
    run = str(digits_run)
    for argv in (
        ["reconstruct", run, "-o", str(tmp_path / "r.png")],
        ["encode", run, "-o", str(tmp_path / "c.npz")],
        ["decode", run, str(tmp_path / "c.npz"), "-o", str(tmp_path / "d.png")],
        ["score", run, "-o", str(tmp_path / "s.csv"), "--k", "20"],
        ["evaluate", run, "--k", "20", "--samples", "200", "--json", str(tmp_path / "e.json")],
        ["plot", run, "conditional", "-o", str(tmp_path / "p.png")],
        ["plot", run, "restyle", "-o", str(tmp_path / "q.png")],
        ["report", run, "-o", str(tmp_path / "report.html")],
    ):
        assert main(["--quiet", *argv]) == 0, argv
    with np.load(tmp_path / "c.npz") as codes:
        assert codes["conditions"].shape == (len(codes["mean"]), 10)
    result = json.loads((tmp_path / "e.json").read_text())
    assert result["conditioned_on"] == ["label"]
    assert 0 <= result["conditional"]["gmm"]["accuracy"] <= 1
    page = (tmp_path / "report.html").read_text()
    assert 'id="conditional"' in page and 'id="restyle"' in page


def test_resume_with_a_condition_is_bit_exact(make_config, tmp_path):
    config = {"data": {"condition": ["label"]}, "model": {"prior": "conditional"}}
    train(make_config(**config, train={"epochs": 3}), tmp_path / "straight")
    train(make_config(**config, train={"epochs": 2}), tmp_path / "resumed")
    resume(tmp_path / "resumed", epochs=3)
    a = load_file(str(tmp_path / "straight" / "last.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "last.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_compiled_training_with_a_condition_follows_eager(make_config, tmp_path):
    config = {"data": {"condition": ["label"]}}
    eager = train(make_config(**config, train={"epochs": 2}), tmp_path / "eager")
    compiled = train(make_config(**config, train={"epochs": 2, "compile": "on"}), tmp_path / "c")
    for a, b in zip(eager.metrics, compiled.metrics, strict=True):
        assert b["val_elbo"] == pytest.approx(a["val_elbo"], rel=1e-4)


@pytest.mark.slow
def test_two_processes_train_a_conditional_model_like_one(tmp_path):
    # 1664 training digits: 26 global batches of 64, so no rank drops a partial batch; an
    # autoencoder draws no noise, so the two trajectories must agree to rounding.
    common = [*FAST[1:], "--data", "digits", "--condition", "label", "--epochs", "2",
              "--val-fraction", "0.074013", "--seed", "2", "--model", "ae"]  # fmt: skip
    assert main(["--quiet", *common, "--out", str(tmp_path / "one")]) == 0
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "vaekit",
            "--quiet",
            *common,
            "--batch-size",
            "32",
            "--nproc",
            "2",
            "--out",
            str(tmp_path / "two"),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    one = load_file(str(tmp_path / "one" / "last.safetensors"))
    two = load_file(str(tmp_path / "two" / "last.safetensors"))
    for name in one:
        torch.testing.assert_close(one[name], two[name], atol=1e-5, rtol=1e-4)


# -- fidelity -----------------------------------------------------------------------------


def test_column_shape_scores_equal_their_definitions():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=200), rng.normal(0.3, 1.2, size=150)
    assert ks_complement(a, b) == pytest.approx(1 - ks_2samp(a, b).statistic, abs=1e-12)
    b[:5] = np.nan  # missing values are left out, as SDMetrics drops them
    assert ks_complement(a, b) == pytest.approx(1 - ks_2samp(a, b[5:]).statistic, abs=1e-12)
    x = np.array(["a", "a", "b", None], dtype=object)
    y = np.array(["a", "b", "b", "c"], dtype=object)
    # shares: a .5/.25, b .25/.5, c 0/.25, missing .25/0 -> TV = (.25+.25+.25+.25)/2
    assert tv_complement(x, y) == pytest.approx(0.5)


def test_a_table_against_itself_scores_one_and_shuffled_lower(people_csv, tmp_path):
    table = read_csv(people_csv)
    schema = infer_table_schema(table)
    assert all(v == 1.0 for v in column_shapes(table, table, schema.columns).values())
    (tmp_path / "other.csv").write_text(_people(seed=1).replace("south", "north"))
    shifted = read_csv(tmp_path / "other.csv")
    shifted.columns[shifted.names.index("income")] += 10.0
    scores = column_shapes(table, shifted, schema.columns)
    assert scores["region"] < 0.75 and scores["income"] < 0.75
    assert scores["age"] > 0.85  # another sample of the same ages


# -- the per-condition code sampler ---------------------------------------------------------


def test_code_sampler_draws_each_condition_from_its_own_codes(tmp_path):
    from vaekit.models.samplers import CodeSampler

    rng = np.random.default_rng(0)
    codes = np.concatenate([rng.normal(-5, 0.5, (200, 2)), rng.normal(5, 0.5, (200, 2))])
    conditions = np.repeat(np.eye(2, dtype=np.float32), 200, axis=0)
    sampler = CodeSampler.fit(codes, conditions, seed=0)
    sampler.save(tmp_path / "s.safetensors")
    loaded = CodeSampler.load(tmp_path / "s.safetensors", latent_dim=2, condition_dim=2)
    asked = torch.tensor([[1.0, 0.0]] * 50 + [[0.0, 1.0]] * 50)
    z = loaded.sample(100, torch.Generator().manual_seed(0), asked)
    assert (z[:50] < -2).all() and (z[50:] > 2).all()
    again = sampler.sample(100, torch.Generator().manual_seed(0), asked)
    assert torch.equal(z, again)  # the file holds the same mixtures, bit for bit
    unseen = loaded.sample(4, torch.Generator().manual_seed(0), torch.tensor([[0.5, 0.5]] * 4))
    assert unseen.shape == (4, 2)  # a value never seen: the overall mixture
    with pytest.raises(VaekitError, match=r"condition.rows must be float32 \(K, 3\)"):
        CodeSampler.load(tmp_path / "s.safetensors", latent_dim=2, condition_dim=3)


@pytest.mark.parametrize(
    ("model", "arch", "precision"),
    [
        ("vae", "conv", "fp32"),
        ("beta-vae", "mlp", "fp32"),
        ("iwae", "mlp", "fp32"),
        ("noisy-ae", "mlp", "fp32"),
        ("ae", "conv", "fp32"),
        ("vae", "mlp", "bf16"),
    ],
)
def test_every_network_model_takes_a_condition(make_config, tmp_path, model, arch, precision):
    extra = {"arch": arch, "channels": [4, 8]} if arch == "conv" else {}
    config = make_config(
        model={"model": model, **extra},
        data={"condition": ["label"]},
        train={"epochs": 1, "precision": precision},
    )
    run = train(config, tmp_path / "r")
    samples = run.sample(4, seed=0, condition=5, warn=False)
    assert samples.shape == (4, 1, 8, 8) and np.isfinite(samples).all()
    val = run.data("val").take(slice(0, 16))
    if run.model.probabilistic:
        log_p = run.model.log_likelihood(val.x, k=10, condition=val.conditions)
        assert log_p.shape == (16,) and torch.isfinite(log_p).all()
    with pytest.raises(VaekitError, match="this model is conditional"):
        run.model.encode(val.x)


def test_pca_and_a_learned_prior_without_a_condition_are_refused(make_config, tmp_path):
    with pytest.raises(VaekitError, match="pca has no conditional form"):
        train(make_config(model={"model": "pca"}, data={"condition": ["label"]}), tmp_path / "a")
    with pytest.raises(VaekitError, match="--prior conditional: needs a conditional run"):
        train(make_config(model={"prior": "conditional"}), tmp_path / "b")
    with pytest.raises(VaekitError, match="images can be conditioned on their class label only"):
        train(make_config(data={"condition": ["colour"]}), tmp_path / "c")


def test_the_explorer_decodes_with_the_chosen_condition(digits_run):
    from vaekit.views.explore import BadRequest, Explorer

    explorer = Explorer(vaekit.load(digits_run), points=50)
    control = explorer.info["conditions"][0]
    assert control["name"] == "label" and control["values"] == [str(i) for i in range(10)]
    z = explorer.parse_z("0,0,0,0")
    assert explorer.decode(z, "label=3") != explorer.decode(z, "label=8")
    assert explorer.decode(z, "3") == explorer.decode(z, "label=3")
    with pytest.raises(BadRequest, match="'12' is not one of the values seen in training"):
        explorer.decode(z, "label=12")
    with pytest.raises(BadRequest, match="this run is conditional"):
        explorer.decode(z, None)


def test_a_condition_given_stands_in_for_a_file_without_one(digits_run, tmp_path, capsys):
    run = vaekit.load(digits_run)
    images = run.data("val").x[:5].numpy()
    np.save(tmp_path / "five.npy", images)  # no labels in the file
    with pytest.raises(VaekitError, match="has no labels, and this run is conditioned"):
        run.reconstruct(str(tmp_path / "five.npy"))
    as_three = run.reconstruct(str(tmp_path / "five.npy"), condition=3, model_space=True)
    assert np.allclose(as_three, run.reconstruct(images, condition=3, model_space=True))
    out = tmp_path / "s.csv"
    argv = ["--quiet", "score", str(digits_run), "--data", str(tmp_path / "five.npy"), "-o"]
    assert main([*argv, str(out), "--condition", "3", "--k", "10"]) == 0
    assert len(pd.read_csv(out)) == 5
    assert run.sample(0, condition=3).shape == (0, 1, 8, 8)  # nothing asked, nothing made
    assert run.encode(images[:0], condition=3)[0].dtype == np.float32


def test_the_explorer_starts_for_categories_holding_commas(make_config, tmp_path):
    from vaekit.views.explore import Explorer

    rng = np.random.default_rng(0)
    city = rng.choice(["Paris, FR", "Lyon, FR"], 80)
    lines = ["city,x,y"] + [
        f'"{c}",{a:.3f},{b:.3f}' for c, a, b in zip(city, *rng.normal(size=(2, 80)), strict=True)
    ]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    config = make_config(data={"source": str(tmp_path / "t.csv"), "condition": ["city"]})
    run = train(config, tmp_path / "r")
    control = Explorer(vaekit.load(run.path), points=20).info["conditions"][0]
    assert control["values"] == ["Lyon, FR", "Paris, FR"] and control["value"] in control["values"]
    rows = run.sample(3, seed=0, condition={"city": "Paris, FR"})
    assert set(rows["city"]) == {"Paris, FR"}
