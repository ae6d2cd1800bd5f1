"""The data schema: inferred once, recorded in the run, and the one way between the user's units
and the model's for every command and the Python API."""

from __future__ import annotations

import csv
import gzip
import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

import vaekit
from vaekit.api import train
from vaekit.cli.main import main
from vaekit.core.errors import VaekitError
from vaekit.data.table import read_csv
from vaekit.evaluation.evaluate import evaluate_run

MIXED_HEADER = ["colour", "rooms", "smoker", "income", "age", "id"]


def write_mixed_csv(path, n: int = 240, seed: int = 0) -> None:
    """Text categories, integers, yes/no, continuous money, missing ages and an identifier."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MIXED_HEADER)
        for i in range(n):
            colour = str(rng.choice(["red", "green", "blue"]))
            rooms = int(rng.integers(1, 12)) + (3 if colour == "red" else 0)
            smoker = str(rng.choice(["yes", "no"]))
            income = round(float(rng.lognormal(10, 0.5)), 2)
            age = "" if rng.random() < 0.1 else int(rng.integers(18, 90))
            writer.writerow([colour, rooms, smoker, income, age, f"person-{i:04d}"])


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    write_mixed_csv(root / "people.csv")
    config = vaekit.config.run.RunConfig.from_dict(
        {
            "model": {"latent_dim": 2, "hidden": [32]},
            "data": {"source": str(root / "people.csv")},
            "train": {"epochs": 3, "batch_size": 64, "device": "cpu"},
        }
    )
    train(config, root / "run")
    return vaekit.load(root / "run"), root


def test_column_kinds_are_inferred_and_recorded(mixed_run):
    run, _ = mixed_run
    kinds = {c.name: (c.kind, c.role, c.missing) for c in run.schema.columns}
    assert kinds == {
        "colour": ("categorical", "feature", "none"),
        "rooms": ("integer", "feature", "none"),
        "smoker": ("binary", "feature", "none"),
        "income": ("continuous", "feature", "none"),
        "age": ("integer", "feature", "indicator"),
        "id": ("id", "feature", "none"),  # 240 distinct texts in 240 rows: a key
    }
    colour = run.schema.columns[0]
    assert colour.categories == ["blue", "green", "red"]
    assert run.schema.columns[2].categories == ["no", "yes"]
    recorded = json.loads((run.path / "config.json").read_text())["data"]["schema"]
    assert recorded["kind"] == "table" and [c["name"] for c in recorded["columns"]] == MIXED_HEADER
    # model space: 3 one-hot + rooms + smoker + income + age + age's missing indicator
    assert run.model.input_shape == (8,)


def test_sampled_csv_has_the_training_header_kinds_and_categories(mixed_run, tmp_path):
    run, root = mixed_run
    out = tmp_path / "synthetic.csv"
    assert main(["sample", str(run.path), "-n", "300", "-o", str(out), "--seed", "1"]) == 0
    table = read_csv(out)
    assert table.names == MIXED_HEADER  # the key is generated: new keys, shaped alike
    keys = table.column("id").tolist()
    assert len(set(keys)) == 300 and all(k.startswith("person-") and len(k) == 11 for k in keys)
    assert not set(keys) & {f"person-{i:04d}" for i in range(240)}
    assert len(table) == 300
    assert set(table.column("colour")) <= {"blue", "green", "red"}
    assert set(table.column("smoker")) <= {"no", "yes"}
    rooms = table.column("rooms")
    assert np.array_equal(rooms, np.round(rooms)) and rooms.min() >= 1 and rooms.max() <= 14
    train_rooms = read_csv(root / "people.csv").column("rooms")
    assert rooms.min() >= train_rooms.min() and rooms.max() <= train_rooms.max()
    assert table.column("income").dtype == np.float64


def test_to_data_of_to_model_gives_the_dataframe_back(mixed_run):
    run, root = mixed_run
    frame = pd.read_csv(root / "people.csv").drop(columns=["id"])
    back = run.to_data(run.to_model(frame).x).drop(columns=["id"])  # new keys: not modelled
    assert list(back.columns) == list(frame.columns)
    for name in ("colour", "smoker"):
        assert back[name].tolist() == frame[name].tolist()  # categories exactly
    np.testing.assert_allclose(back["income"], frame["income"], rtol=1e-5)
    assert back["rooms"].tolist() == frame["rooms"].tolist()
    assert back["age"].isna().tolist() == frame["age"].isna().tolist()
    present = frame["age"].notna()
    assert back["age"][present].tolist() == frame["age"][present].astype(int).tolist()


def test_a_dataframe_a_csv_and_the_api_agree(mixed_run, tmp_path):
    run, root = mixed_run
    frame = pd.read_csv(root / "people.csv")
    shuffled = frame[list(reversed(frame.columns))]  # columns are matched by name, not position
    from_frame = run.to_model(shuffled).x
    from_file = run.to_model(root / "people.csv").x
    assert torch.equal(from_frame, from_file)
    mean, _ = run.encode(frame)
    assert mean.shape == (len(frame), 2)
    assert np.array_equal(mean, run.encode(str(root / "people.csv"))[0])


def _bad_table(root, tmp_path, name, edit):
    frame = pd.read_csv(root / "people.csv", dtype=str, keep_default_na=False)
    edit(frame)
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.pop("income"), "has no column 'income'"),
        (lambda f: f.insert(0, "shoe size", "42"), "has column 'shoe size', which the run"),
        (
            lambda f: f.__setitem__("colour", ["purple"] + f["colour"].tolist()[1:]),
            "line 2, column 'colour': 'purple' is not one of the 3 categories",
        ),
        (
            lambda f: f.__setitem__("income", [""] + f["income"].tolist()[1:]),
            "line 2, column 'income': missing value, but the column had none in training",
        ),
        (
            lambda f: f.__setitem__("rooms", ["many"] + f["rooms"].tolist()[1:]),
            "line 2, column 'rooms': 'many' is not a number",
        ),
        (
            lambda f: f.__setitem__("income", ["1e300"] + f["income"].tolist()[1:]),
            "line 2, column 'income': the value is infinite or too large for float32",
        ),
    ],
)
def test_a_file_that_does_not_fit_is_one_line_naming_file_and_column(
    mixed_run, tmp_path, capsys, edit, message
):
    run, root = mixed_run
    path = _bad_table(root, tmp_path, "bad.csv", edit)
    assert main(["encode", str(run.path), "--data", str(path), "-o", str(tmp_path / "c.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(path) in err and message in err
    assert not (tmp_path / "c.npz").exists()


def test_far_outside_the_training_range_warns_with_the_statistic(mixed_run, tmp_path, capsys):
    from vaekit.core import progress

    run, root = mixed_run
    path = _bad_table(
        root,
        tmp_path,
        "rich.csv",
        lambda f: f.__setitem__("income", ["99999999"] + f["income"].tolist()[1:]),
    )
    progress.QUIET = False
    try:
        run.to_model(path)
    finally:
        progress.QUIET = True
    err = capsys.readouterr().err
    assert "column 'income' has 1 values far outside the training range" in err
    assert "99999999" in err


def test_a_label_like_column_gets_a_hint_and_labels_make_it_a_label(tmp_path, make_config, capsys):
    from vaekit.core import progress

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"a": rng.normal(size=120), "b": rng.normal(size=120), "class": rng.integers(0, 3, 120)}
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    progress.QUIET = False
    try:
        train(
            make_config(data={"source": str(tmp_path / "t.csv")}, train={"epochs": 1}),
            tmp_path / "r1",
        )
    finally:
        progress.QUIET = True
    assert "hint: column 'class' looks like a class label" in capsys.readouterr().err
    run = train(
        make_config(
            data={"source": str(tmp_path / "t.csv"), "labels": "class"}, train={"epochs": 1}
        ),
        tmp_path / "r2",
    )
    assert run.schema.label.name == "class" and run.schema.classes == ["0", "1", "2"]
    assert run.model.input_shape == (2,)
    assert torch.equal(run.data("val").labels, run.to_model(frame).labels[run_val_rows(run)])


def run_val_rows(run) -> np.ndarray:
    """Row numbers of the validation split (the seeded split of load_splits)."""
    n = len(run.splits().train) + len(run.splits().val)
    order = np.random.default_rng(run.config.data.split_seed).permutation(n)
    return np.sort(order[: len(run.splits().val)])


def test_column_spec_overrides_kinds_from_the_command_line(tmp_path):
    write_mixed_csv(tmp_path / "p.csv", n=80)
    args = ["train", "--data", str(tmp_path / "p.csv"), "--epochs", "1", "--no-report"]
    args += ["--latent-dim", "2", "--hidden", "16", "--out", str(tmp_path / "r")]
    args += ["--column", "rooms=categorical", "--column", "colour=label"]
    assert main(args) == 0
    run = vaekit.load(tmp_path / "r")
    kinds = {c.name: (c.kind, c.role) for c in run.schema.columns}
    assert kinds["rooms"][0] == "categorical" and kinds["colour"][1] == "label"
    assert main([*args[:-2], "--column", "rooms=sideways", "--force"]) == 2


def _digits_run(tmp_path, make_config):
    return train(make_config(train={"epochs": 2}), tmp_path / "digits")


def test_every_image_encoding_gives_the_same_evaluation(tmp_path, make_config):
    """uint8 .npy, float32 [0, 1] .npy, PNG folder and IDX of the same images: the numbers of
    the built-in split; raw values through the API give the codes the CLI gives."""
    run = _digits_run(tmp_path, make_config)
    val = run.data("val")
    raw = np.rint(val.x.numpy()[:, 0] * 16).astype(np.uint8)  # the digits' own units, 0..16
    np.save(tmp_path / "u8.npy", raw)
    np.save(tmp_path / "f32.npy", (raw / np.float32(16)).astype(np.float32))
    folder = tmp_path / "png"
    for i, (image, label) in enumerate(zip(raw, val.labels.tolist(), strict=True)):
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / str(label) / f"{i:04d}.png")
    header = bytes([0, 0, 0x08, 3]) + b"".join(d.to_bytes(4, "big") for d in raw.shape)
    (tmp_path / "val-idx3-ubyte.gz").write_bytes(gzip.compress(header + raw.tobytes()))
    reference = evaluate_run(run, "val", k=20, samples=50)
    for source in ("u8.npy", "f32.npy", "png", "val-idx3-ubyte.gz"):
        data = run.data(str(tmp_path / source))
        if source == "png":  # folders list files by class: compare the same images in order
            order = np.argsort(val.labels.numpy(), kind="stable")
            assert torch.equal(data.x, val.x[order])
            assert torch.equal(data.labels, val.labels[order])
            continue
        assert torch.equal(data.x, val.x), source
        result = evaluate_run(run, str(tmp_path / source), k=20, samples=50)
        for key in ("elbo", "log_likelihood", "latent"):
            assert result[key] == reference[key], (source, key)
    # Raw digits (floats 0..16, as scikit-learn ships them) through the Python API.
    images = load_digits().images[:10]
    codes, _ = run.encode(images)
    np.save(tmp_path / "first.npy", images.astype(np.uint8))
    assert (
        main(
            [
                "encode",
                str(run.path),
                "--data",
                str(tmp_path / "first.npy"),
                "-o",
                str(tmp_path / "c.npz"),
            ]
        )
        == 0
    )
    with np.load(tmp_path / "c.npz") as cli:
        assert np.array_equal(codes, cli["mean"])


def test_binarised_float_images_are_not_divided_again(tmp_path, make_config):
    run = _digits_run(tmp_path, make_config)
    binary = (run.data("val").x.numpy() > 0.5).astype(np.float32)
    np.save(tmp_path / "b.npy", binary)
    assert np.array_equal(run.data(str(tmp_path / "b.npy")).x.numpy(), binary)
    np.save(tmp_path / "b8.npy", binary.astype(np.uint8))
    assert np.array_equal(run.data(str(tmp_path / "b8.npy")).x.numpy(), binary)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((5, 7, 7), dtype=np.uint8), "shape (1, 7, 7) but this run's model takes 1 x 8"),
        (np.full((5, 8, 8), 200, dtype=np.uint8), "outside the training files' range 0–16"),
        (np.full((5, 8, 8), 3.5, dtype=np.float32), "images must be in [0, 1] or in the training"),
    ],
)
def test_images_that_do_not_fit_are_refused(tmp_path, make_config, capsys, array, message):
    run = _digits_run(tmp_path, make_config)
    np.save(tmp_path / "bad.npy", array)
    assert main(["evaluate", str(run.path), "--data", str(tmp_path / "bad.npy"), "--k", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.npy" in err and message in err


def test_splits_are_named_for_what_they_are(trained_run, capsys):
    run = vaekit.load(trained_run)
    assert evaluate_run(run, k=2, samples=20)["data"] == "validation split"
    assert main(["evaluate", str(trained_run), "--data", "test", "--k", "2"]) == 2
    assert "digits has no test split" in capsys.readouterr().err


def test_a_run_written_before_schemas_still_loads(trained_run, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(trained_run, old)
    config = json.loads((old / "config.json").read_text())
    del config["data"]["schema"], config["data"]["columns"]
    config["format"] = 1
    config["data"]["transform"] = {"kind": "divide", "by": 16.0}
    (old / "config.json").write_text(json.dumps(config))
    run = vaekit.load(old)
    assert run.schema.kind == "image" and run.schema.divide_by == 16.0
    assert torch.equal(run.data("val").x, vaekit.load(trained_run).data("val").x)
    config["data"]["transform"] = {"kind": "warp"}
    (old / "config.json").write_text(json.dumps(config))
    with pytest.raises(VaekitError, match="older vaekit.*retrain"):
        vaekit.load(old)


def test_docs_your_data_snippet_runs(mixed_run, trained_run, monkeypatch):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "docs" / "data.md").read_text()
    snippet = next(
        block
        for block in re.findall(r"```python\n(.*?)```", readme, flags=re.S)
        if "runs/people" in block
    )
    run, root = mixed_run
    frame = pd.read_csv(root / "people.csv")
    frame.head(20).to_csv(root / "new.csv", index=False)
    monkeypatch.chdir(root)
    snippet = snippet.replace('"runs/people"', f'"{run.path}"')
    snippet = snippet.replace('"runs/digits"', f'"{trained_run}"')
    scope: dict = {}
    exec(compile(snippet, "README.md", "exec"), scope)
    assert list(scope["synthetic"].columns) == MIXED_HEADER
    assert scope["same"]["colour"].tolist() == frame["colour"].head(20).tolist()
    assert scope["mean"].shape == (20, 2) and scope["codes"].shape[0] == 1797


def test_values_outside_a_bernoulli_decoders_support_are_refused(tmp_path, make_config, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "unit.npy", rng.random((60, 8, 8)).astype(np.float32))
    config = make_config(
        data={"source": str(tmp_path / "unit.npy")},
        model={"likelihood": "bernoulli"},
        train={"epochs": 1},
    )
    run = train(config, tmp_path / "r")
    assert run.schema.divide_by == 1
    np.save(tmp_path / "wide.npy", 2 * rng.random((5, 8, 8)).astype(np.float32))
    assert main(["evaluate", str(run.path), "--data", str(tmp_path / "wide.npy")]) == 2
    err = capsys.readouterr().err.strip()
    assert "wide.npy" in err and "which this run's Bernoulli decoder needs" in err
    with pytest.raises(VaekitError, match="outside \\[0, 1\\]"):
        run.encode(2 * rng.random((5, 8, 8)))


def test_numbers_too_large_to_standardise_are_refused_before_a_run_exists(tmp_path, capsys):
    from vaekit.cli.main import main

    np.save(tmp_path / "huge.npy", np.array([[1.0], [1e300], [0.0], [0.0]]))
    args = ["--quiet", "train", "--data", str(tmp_path / "huge.npy"), "--out", str(tmp_path / "r")]
    assert main([*args, "--epochs", "1", "--val-fraction", "0.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert "column 'x0': values up to" in err and "rescale the column" in err and "\n" not in err
    assert not (tmp_path / "r").exists()


def test_builtin_digits_are_scikit_learns_load_digits():
    """vaekit reads the digits file without importing scikit-learn: the same images (0..16) and
    labels as ``load_digits``."""
    from vaekit.data.builtin import read_digits

    raw, bunch = read_digits(), load_digits()
    assert raw.values.shape == (1797, 1, 8, 8) and raw.scale == 16.0
    assert np.array_equal(raw.values[:, 0], bunch.images) and np.array_equal(
        raw.labels, bunch.target
    )
