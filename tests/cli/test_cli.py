import argparse
import json
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import vaekit
from vaekit.cli.main import build_parser, main

FAST = ["--epochs", "1", "--hidden", "16", "--batch-size", "256", "--no-report"]


def _error_line(capsys) -> str:
    """The one error line on stderr (progress lines before it are allowed, tracebacks not)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("vaekit: error: ")]
    assert len(errors) == 1, err
    return errors[0]


def test_train_then_every_verb(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *FAST]) == 0
    assert (
        main(
            [
                "sample",
                str(run),
                "-n",
                "8",
                "-o",
                str(tmp_path / "s.png"),
                "--npy",
                str(tmp_path / "s.npy"),
                "--seed",
                "1",
            ]
        )
        == 0
    )
    assert np.load(tmp_path / "s.npy").shape == (8, 1, 8, 8)
    with Image.open(tmp_path / "s.png") as img:
        assert img.width >= 32 and img.height >= 32
    assert main(["reconstruct", str(run), "-o", str(tmp_path / "r.png"), "-n", "16"]) == 0
    assert main(["encode", str(run), "--data", "train", "-o", str(tmp_path / "c.npz")]) == 0
    with np.load(tmp_path / "c.npz") as codes:
        assert codes["mean"].shape == (1617, 2) and codes["labels"].shape == (1617,)
    assert main(["decode", str(run), str(tmp_path / "c.npz"), "-o", str(tmp_path / "d.npy")]) == 0
    assert np.load(tmp_path / "d.npy").shape == (1617, 1, 8, 8)
    capsys.readouterr()
    assert main(["info", str(run)]) == 0
    out = capsys.readouterr().out
    assert "best" in out and "val_elbo" in out and "parameters" in out


def test_config_file_is_overridden_by_the_command_line(tmp_path):
    (tmp_path / "c.yaml").write_text(
        "model:\n  latent_dim: 3\n  hidden: [8]\ntrain:\n  epochs: 1\n"
    )
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--config",
                str(tmp_path / "c.yaml"),
                "--latent-dim",
                "4",
                "--out",
                str(run),
                "--no-report",
            ]
        )
        == 0
    )
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["latent_dim"] == 4 and config["model"]["hidden"] == [8]


def test_existing_run_folder_is_refused_without_force(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *FAST]) == 0
    before = (run / "model.safetensors").read_bytes()
    capsys.readouterr()
    assert main(["train", "--out", str(run), *FAST, "--seed", "5"]) == 2
    assert "already exists" in _error_line(capsys)
    assert (run / "model.safetensors").read_bytes() == before
    assert main(["train", "--out", str(run), *FAST, "--seed", "5", "--force"]) == 0
    assert (run / "model.safetensors").read_bytes() != before


def test_force_never_replaces_a_folder_that_is_not_a_run(tmp_path, capsys):
    (tmp_path / "precious.txt").write_text("keep me")
    assert main(["train", "--out", str(tmp_path), *FAST, "--force"]) == 2
    assert "not a vaekit run" in _error_line(capsys)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def _bad_inputs(tmp):
    np.save(tmp / "rank5.npy", np.zeros((2, 2, 2, 2, 2)))
    np.save(tmp / "nan.npy", np.array([[0.5, np.nan]] * 10))
    np.save(tmp / "wide.npy", np.linspace(-2, 2, 40).reshape(10, 4))
    (tmp / "mixed").mkdir()
    Image.new("L", (8, 8)).save(tmp / "mixed" / "a.png")
    Image.new("L", (9, 9)).save(tmp / "mixed" / "b.png")
    (tmp / "notrun").mkdir()
    return [
        (["train", "--data", str(tmp / "missing.npy")], "no such file"),
        (["train", "--data", "imagenet"], "not a built-in dataset"),
        (["train", "--data", str(tmp / "rank5.npy")], "rank5.npy: expected arrays of shape"),
        (["train", "--data", str(tmp / "mixed")], "images differ in size"),
        (["train", "--data", str(tmp / "nan.npy")], "nan.npy: contains NaN"),
        (
            ["train", "--data", str(tmp / "wide.npy"), "--likelihood", "bernoulli"],
            r"outside [0, 1]",
        ),
        (["train", "--latent-dim", "0"], "--latent-dim: must be >= 1"),
        (["train", "--config", str(tmp / "nope.yaml")], "cannot read config file"),
        (["sample", str(tmp / "notrun")], "not a vaekit run"),
        (["sample", str(tmp / "absent")], "no such run folder"),
    ]


def test_each_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    for argv, message in _bad_inputs(tmp_path):
        out = tmp_path / "out"
        code = main([*argv, "--out", str(out), *FAST] if argv[0] == "train" else argv)
        assert code == 2, argv
        line = _error_line(capsys)
        assert message in line, (argv, line)
        assert not out.exists(), argv  # bad input leaves nothing behind


def test_errors_from_the_installed_command_have_no_traceback(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "vaekit",
            "train",
            "--data",
            str(tmp_path / "missing.npy"),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1


def test_unknown_option_exits_2(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", "--no-such-option"])
    assert stop.value.code == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "gan"], "argument --model: invalid choice: 'gan'"),
        (["--model", "ae", "--k", "5"], "--k: does not apply to model 'ae' (it is for: iwae)"),
        (["--model", "pca", "--hidden", "64"], "--hidden: does not apply to model 'pca'"),
        (["--model", "vae", "--l1", "0.1"], "--l1: does not apply to model 'vae'"),
        (
            ["--model", "pca", "--latent-dim", "65"],
            "as many components as the data has dimensions (64)",
        ),
        (["--model", "denoising-ae", "--noise-level", "0"], "--noise-level: must be > 0"),
        (["--model", "vae", "--beta", "-1"], "--beta: must be > 0"),
        (["--model", "iwae", "--k", "0"], "--k: must be >= 1"),
        (["--arch", "conv", "--data", "TABLE"], "--arch conv: needs image data"),
    ],
)
def test_bad_model_options_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    np.save(tmp_path / "table.npy", np.random.default_rng(0).normal(size=(50, 3)))
    argv = [a.replace("TABLE", str(tmp_path / "table.npy")) for a in argv]
    out = tmp_path / "out"
    try:
        code = main(["train", "--out", str(out), "--epochs", "1", *argv])
    except SystemExit as stop:  # argparse's own errors (unknown choice) also exit 2
        code = stop.code
        err = capsys.readouterr().err
        assert message in err
    else:
        assert message in _error_line(capsys)
    assert code == 2 and not out.exists()


def test_config_file_option_for_another_model_is_refused(tmp_path, capsys):
    (tmp_path / "c.json").write_text('{"model": {"model": "ae", "k": 3}}')
    assert main(["train", "--config", str(tmp_path / "c.json"), "--out", str(tmp_path / "o")]) == 2
    assert "model.k: does not apply to model 'ae'" in _error_line(capsys)


def test_prior_sampling_from_an_autoencoder_warns_and_gmm_does_not(tmp_path, capsys):
    run = tmp_path / "ae"
    assert main(["train", "--model", "ae", "--out", str(run), *FAST]) == 0
    capsys.readouterr()
    assert main(["sample", str(run), "-n", "4", "-o", str(tmp_path / "p.png")]) == 0
    assert "not regularised" in capsys.readouterr().err
    assert (
        main(["sample", str(run), "-n", "4", "--sampler", "gmm", "-o", str(tmp_path / "g.png")])
        == 0
    )
    assert "not regularised" not in capsys.readouterr().err


def test_version_prints_the_version_and_exits_0(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"vaekit {vaekit.__version__}\n"


def _commands(parser, prefix=()):
    """(words, parser) for every command and sub-command, e.g. (("data", "prepare"), ...)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from _commands(sub, (*prefix, name))


COMMANDS = dict(_commands(build_parser()))


def test_every_command_is_walked():
    assert {" ".join(words) for words in COMMANDS} >= {
        "train",
        "sample",
        "reconstruct",
        "encode",
        "decode",
        "info",
        "plot",
        "report",
        "explore",
        "evaluate",
        "score",
        "compare",
        "data",
        "data prepare",
    }


def _shown(action) -> str:
    """What --help shows for an option's value (argparse's own rule), '' for flags."""
    if action.nargs == 0:
        return ""
    if action.metavar is not None:
        return str(action.metavar)
    if action.choices is not None:
        return "{" + ",".join(map(str, action.choices)) + "}"
    return action.dest.upper() if action.option_strings else action.dest


@pytest.mark.parametrize("words", list(COMMANDS), ids=" ".join)
def test_every_option_has_help_and_a_plain_metavar(words):
    parser = COMMANDS[words]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help.strip(), (words, name)
        assert not action.help.strip().startswith("(default"), (words, name)  # not only that
        assert "." not in _shown(action), (words, name, _shown(action))
    assert not re.search(r"[A-Z_]+\.[A-Z_]+", parser.format_help()), words


@pytest.mark.parametrize("words", list(COMMANDS), ids=" ".join)
def test_every_command_ends_with_two_examples_that_parse(words):
    text = COMMANDS[words].format_help().rstrip()
    assert "\nexamples:\n" in text, words
    examples = text.rsplit("\nexamples:\n", 1)[1].splitlines()
    assert len(examples) == 2, (words, examples)
    for line in examples:
        assert line.startswith("  vaekit "), (words, line)
        argv = shlex.split(line)[1:]
        args = build_parser().parse_args(argv)  # a real command: parses, no SystemExit
        assert argv[: len(words)] == list(words), line
        if words != ("data",):
            assert args.func is COMMANDS[words].get_default("func"), line


def test_commands_that_draw_nothing_do_not_import_matplotlib(trained_run):
    """matplotlib costs half a second of every command; only the ones that draw load it."""
    probe = (
        "import sys; from vaekit.cli.main import main; main(['--quiet', 'info', sys.argv[1]]); "
        "print('matplotlib' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(trained_run)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_the_plot_names_the_command_line_lists_are_the_plotters():
    from vaekit.views.plot_kinds import KINDS
    from vaekit.views.plots import PLOTTERS

    assert list(KINDS) == list(PLOTTERS)


def test_a_reader_that_leaves_early_gets_no_traceback(trained_run):
    """`vaekit info RUN | head -1`: the pipe closes before vaekit writes; exit 0, stderr clean."""
    command = [sys.executable, "-m", "vaekit", "info", str(trained_run)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # no reader: every write to stdout fails with EPIPE
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0, stderr
    assert "Traceback" not in stderr and stderr == ""
