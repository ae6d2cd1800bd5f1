"""A damaged run folder never crashes a command.

Every file a run holds is damaged in every way a disk, a copy or a hand edit can damage it
(truncated, emptied, bit-flipped, missing, NaN/inf or mistyped tensors, a config with wrong types or
unknown keys), and every command is run on the result. Each must end in exit 0 with the same
output as on the intact run (or, where it reads the damaged file, a valid one), or in exit 2 with
one line naming the file — never a traceback, a warning, a garbage output, or a change to the
run folder's other files.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import struct
import warnings
import zlib
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from vaekit.cli.main import main
from vaekit.core import progress
from vaekit.core.errors import VaekitError

# Every test here runs subprocesses (torchrun, fresh vaekit processes).
pytestmark = pytest.mark.slow

TENSOR_FILES = (
    "model.safetensors",
    "last.safetensors",
    "checkpoint.safetensors",
    "sampler.safetensors",
)
JSON_FILES = ("config.json", "summary.json")
JSONL_FILES = ("metrics.jsonl", "evaluation.jsonl")
PICTURE_FILES = ("reconstructions.png", "samples.png", "report.html")

# Commands (argv after the run folder's place is filled) and the run files each one reads; a
# damaged file outside that set must leave the command's output exactly as on the intact run.
LOADS = {"config.json", "model.safetensors"}
COMMANDS: dict[str, tuple[list[str], set[str]]] = {
    "info": (["info", "{run}"], LOADS | {"summary.json", "metrics.jsonl"}),
    "info-json": (["info", "{run}", "--json"], LOADS | {"summary.json"}),
    "sample": (["sample", "{run}", "-n", "6", "--seed", "1", "-o", "{out}/s.png"], LOADS),
    "sample-gmm": (
        ["sample", "{run}", "-n", "6", "--seed", "1", "--sampler", "gmm", "-o", "{out}/g.png"],
        LOADS | {"sampler.safetensors"},
    ),
    "sample-npy": (["sample", "{run}", "-n", "6", "--seed", "1", "--npy", "{out}/s.npy"], LOADS),
    "sample-last": (
        ["sample", "{run}", "-n", "6", "--seed", "1", "--weights", "last", "-o", "{out}/l.png"],
        {"config.json", "last.safetensors"},
    ),
    "reconstruct": (["reconstruct", "{run}", "-n", "6", "-o", "{out}/r.png"], LOADS),
    "encode": (["encode", "{run}", "-o", "{out}/e.npz"], LOADS),
    "decode": (["decode", "{run}", "{codes}", "-o", "{out}/d.png"], LOADS),
    "evaluate": (
        [
            "evaluate",
            "{run}",
            "--k",
            "4",
            "--samples",
            "64",
            "--limit",
            "48",
            "--json",
            "{out}/e.json",
        ],
        LOADS,
    ),
    "report": (
        ["report", "{run}", "-o", "{out}/report.html"],
        LOADS | {"summary.json", "metrics.jsonl", "evaluation.jsonl", "sampler.safetensors"},
    ),
    # Resume rewrites every other file; its output is the run itself, never compared.
    "resume": (
        ["train", "--resume", "{run}", "--epochs", "3", "--no-report"],
        {"config.json", "checkpoint.safetensors"},
    ),
}
PLOT_KINDS = {
    "curves": {"metrics.jsonl"},
    "recon": set(),
    "samples": {"sampler.safetensors"},
    "latent": set(),
    "manifold": set(),
    "interpolate": set(),
    "traverse": set(),
    "kl": set(),
    "compare": {"metrics.jsonl", "summary.json"},
    "scores": set(),
}
for _kind, _reads in PLOT_KINDS.items():
    COMMANDS[f"plot-{_kind}"] = (
        ["plot", "{run}", _kind, "-o", f"{{out}}/{_kind}.png"]
        + (["--with", "{other}"] if _kind == "compare" else []),
        LOADS | _reads,
    )


# -- damage ----------------------------------------------------------------------------------


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _flip_at(fraction: float) -> Callable[[Path], None]:
    def flip(path: Path) -> None:
        data = bytearray(path.read_bytes())
        if data:
            data[int(len(data) * fraction)] ^= 0x10
        path.write_bytes(bytes(data))

    return flip


def _flip_in_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    (header_len,) = struct.unpack("<Q", data[:8])
    data[8 + header_len // 3] ^= 0x01
    path.write_bytes(bytes(data))


def _missing(path: Path) -> None:
    path.unlink()


def _garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(4096))


def _edit_tensors(change: Callable[[str, torch.Tensor], torch.Tensor | None]):
    def edit(path: Path) -> None:
        tensors = load_file(str(path))
        name = next(n for n, t in sorted(tensors.items()) if t.is_floating_point() and t.numel())
        changed = change(name, tensors[name])
        if changed is None:
            del tensors[name]
        else:
            tensors[name] = changed
        save_file(tensors, str(path))  # a well-formed file, without vaekit's metadata

    return edit


def _with_value(value: float):
    def change(_: str, t: torch.Tensor) -> torch.Tensor:
        t = t.clone()
        t.view(-1)[0] = value
        return t

    return change


def _edit_json(change: Callable[[dict], object]):
    def edit(path: Path) -> None:
        path.write_text(json.dumps(change(json.loads(path.read_text()))))

    return edit


def _set(section: str, key: str, value: object):
    def change(raw: dict) -> dict:
        raw.setdefault(section, {})[key] = value
        return raw

    return change


def _first_line_typed_wrong(path: Path) -> None:
    lines = path.read_text().splitlines()
    row = json.loads(lines[0])
    path.write_text("\n".join([json.dumps({k: "x" for k in row}), *lines[1:]]) + "\n")


COMMON = {
    "truncated": _truncate,
    "emptied": _empty,
    "missing": _missing,
    "flipped-middle": _flip_at(0.5),
    "flipped-end": _flip_at(0.97),
    "garbage": _garbage,
}
DAMAGE: dict[str, dict[str, Callable[[Path], None]]] = {}
for _name in TENSOR_FILES:
    DAMAGE[_name] = {
        **COMMON,
        "flipped-header": _flip_in_header,
        "nan": _edit_tensors(lambda n, t: _with_value(float("nan"))(n, t)),
        "inf": _edit_tensors(lambda n, t: _with_value(float("inf"))(n, t)),
        "float64": _edit_tensors(lambda n, t: t.double()),
        "float16": _edit_tensors(lambda n, t: t.half()),
        "shape": _edit_tensors(lambda n, t: torch.cat([t, t])),
        "dropped-tensor": _edit_tensors(lambda n, t: None),
        "huge": _edit_tensors(lambda n, t: t * 1e30),
    }
DAMAGE["config.json"] = {
    **COMMON,
    "empty-object": _edit_json(lambda raw: {}),
    "a-list": _edit_json(lambda raw: [raw]),
    "unknown-key": _edit_json(_set("model", "latent_dims", 3)),
    "unknown-section": _edit_json(lambda raw: {**raw, "extras": {}}),
    "latent-dim-text": _edit_json(_set("model", "latent_dim", "two")),
    "latent-dim-float": _edit_json(_set("model", "latent_dim", 2.5)),
    "latent-dim-other": _edit_json(_set("model", "latent_dim", 3)),
    "hidden-null": _edit_json(_set("model", "hidden", None)),
    "hidden-negative": _edit_json(_set("model", "hidden", [-4])),
    "model-unknown": _edit_json(_set("model", "model", "gan")),
    "likelihood-number": _edit_json(_set("model", "likelihood", 7)),
    "source-number": _edit_json(_set("data", "source", 5)),
    "schema-null": _edit_json(_set("data", "schema", None)),
    "schema-text": _edit_json(_set("data", "schema", "images")),
    "schema-shape": _edit_json(
        lambda raw: {
            **raw,
            "data": {**raw["data"], "schema": {**raw["data"]["schema"], "shape": [2]}},
        }
    ),
    "epochs-text": _edit_json(_set("train", "epochs", "many")),
    "seed-negative": _edit_json(_set("train", "seed", -1)),
    "version-object": _edit_json(lambda raw: {**raw, "vaekit_version": {}}),
    "format-future": _edit_json(lambda raw: {**raw, "format": 99}),
}
DAMAGE["summary.json"] = {
    **COMMON,
    "a-list": _edit_json(lambda raw: [raw]),
    "wrong-types": _edit_json(lambda raw: {k: "x" for k in raw}),
    "nulls": _edit_json(lambda raw: {k: None for k in raw}),
    "unknown-key": _edit_json(lambda raw: {**raw, "surprise": 1}),
}
for _name in JSONL_FILES:
    DAMAGE[_name] = {
        **COMMON,
        "wrong-types": _first_line_typed_wrong,
        "a-list-line": lambda p: p.write_text(p.read_text() + "[1, 2]\n"),
        "nan-line": lambda p: p.write_text(p.read_text() + '{"epoch": NaN}\n'),
    }
for _name in PICTURE_FILES:
    DAMAGE[_name] = {k: COMMON[k] for k in ("truncated", "emptied", "missing", "garbage")}

CASES = [(file, damage) for file, damages in DAMAGE.items() for damage in damages]
# VAEKIT_FUZZ=full runs every command on every case; by default (CI) a case runs the commands
# that read the damaged file and three of the others, a different three for each case.
FULL = os.environ.get("VAEKIT_FUZZ") == "full"


def _reads(name: str) -> set[str]:
    return LOADS if name == "explore" else COMMANDS[name][1]


def _commands_for(file: str, damage: str) -> list[str]:
    names = [*COMMANDS, "explore"]
    if FULL:
        return names
    affected = [n for n in names if file in _reads(n)]
    others = [n for n in names if n not in affected]
    start = zlib.crc32(f"{file}-{damage}".encode()) % max(1, len(others))
    return affected + [others[(start + i) % len(others)] for i in range(min(3, len(others)))]


# -- running ---------------------------------------------------------------------------------


def _run_command(argv: list[str]) -> tuple[int, str, str]:
    """vaekit's exit status, stdout and stderr, in this process. Anything raised (a traceback)
    and any Python warning fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with redirect_stdout(out), redirect_stderr(err):
            status = main(argv)
    progress.QUIET = True
    return status, out.getvalue(), err.getvalue()


def _run_explorer(run: Path) -> tuple[int, bytes, str]:
    """The explorer's model-facing API, as `vaekit explore` builds it."""
    from vaekit.runs.run import load
    from vaekit.views.explore import Explorer

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            explorer = Explorer(load(run))
            answer = explorer.info | {"image": explorer.decode(explorer.parse_z("0.5,-1"))}
    except VaekitError as err:
        return 2, b"", f"vaekit: error: {err}\n"
    return 0, json.dumps(answer).encode(), ""


def _fingerprints(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _outputs(folder: Path) -> dict[str, bytes]:
    return {file.name: file.read_bytes() for file in sorted(folder.iterdir())}


def _comparable(outputs: dict[str, bytes], run: Path) -> dict[str, bytes]:
    return {name: _timeless(data, run) for name, data in outputs.items()}


def _timeless(data: bytes, run: Path) -> bytes:
    """Output with the run's path (reports and evaluations name it) and times taken out."""
    data = data.replace(str(run).encode(), b"RUN")
    data = re.sub(rb"<footer>.*</footer>", b"", data)
    return re.sub(rb'"seconds": [0-9.]+|seconds +[0-9.]+', b"", data)


def _check_valid(outputs: dict[str, bytes]) -> None:
    for name, data in outputs.items():
        assert data, f"{name} is empty"
        if name.endswith(".png"):
            Image.open(io.BytesIO(data)).load()
        elif name.endswith((".npy", ".npz")):
            loaded = np.load(io.BytesIO(data), allow_pickle=False)
            arrays = [loaded] if isinstance(loaded, np.ndarray) else list(loaded.values())
            assert all(np.isfinite(a).all() for a in arrays if a.dtype.kind == "f"), name
        elif name.endswith(".json"):
            assert b"NaN" not in data and b"Infinity" not in data, name
            json.loads(data)


@pytest.fixture(scope="module")
def intact(tmp_path_factory) -> dict:
    """A small trained run with every file a run can hold, its codes, and every command's
    output on it."""
    base = tmp_path_factory.mktemp("intact")
    run, other = base / "run", base / "other"
    for folder, seed in ((run, "0"), (other, "1")):
        argv = ["train", "--data", "digits", "--latent-dim", "2", "--epochs", "2"]
        argv += ["--seed", seed, "--no-report", "--out", str(folder)]
        assert _run_command(argv)[0] == 0
    assert _run_command(["report", str(run)])[0] == 0  # also writes evaluation.jsonl
    codes = base / "codes.npz"
    assert _run_command(["encode", str(run), "-o", str(codes)])[0] == 0
    reference = {}
    for name in [*COMMANDS, "explore"]:
        if name == "resume":
            continue
        copy = base / "copy" / "run"
        shutil.copytree(run, copy)
        out = base / "out" / name
        out.mkdir(parents=True)
        status, stdout, _ = _execute(name, copy, out, codes, other)
        assert status == 0, name
        reference[name] = (_timeless(stdout.encode(), copy), _comparable(_outputs(out), copy))
        shutil.rmtree(copy.parent)
    return {"run": run, "other": other, "codes": codes, "reference": reference}


def _execute(name: str, run: Path, out: Path, codes: Path, other: Path) -> tuple[int, str, str]:
    if name == "explore":
        status, answer, err = _run_explorer(run)
        if status == 0:
            (out / "explore.json").write_bytes(answer)
        return status, "", err
    argv, _ = COMMANDS[name]
    fill = {"run": str(run), "out": str(out), "codes": str(codes), "other": str(other)}
    return _run_command([part.format(**fill) for part in argv])


@pytest.mark.parametrize(("file", "damage"), CASES, ids=[f"{f}-{d}" for f, d in CASES])
def test_every_command_on_a_damaged_run(file, damage, intact, tmp_path):
    problems = []
    for name in _commands_for(file, damage):
        run = tmp_path / name / "run"
        shutil.copytree(intact["run"], run)
        DAMAGE[file][damage](run / file)
        before = _fingerprints(run)
        out = tmp_path / name / "out"
        out.mkdir()
        status, stdout, stderr = _execute(name, run, out, intact["codes"], intact["other"])
        outputs = _outputs(out)
        reads = _reads(name)
        if status == 2:
            lines = [line for line in stderr.splitlines() if line.startswith("vaekit: error:")]
            if len(lines) != 1 or (file not in lines[0] and str(run) not in lines[0]):
                problems.append(f"{name}: exit 2 without one line naming {file}: {stderr!r}")
            if outputs:
                problems.append(f"{name}: exit 2 but wrote {sorted(outputs)}")
        elif status != 0:
            problems.append(f"{name}: exit {status}: {stderr!r}")
        else:
            try:
                _check_valid(outputs)
            except (AssertionError, Exception) as err:  # noqa: BLE001
                problems.append(f"{name}: invalid output {type(err).__name__}: {err}")
            reads_it = name == "resume" or file in reads
            if not reads_it and name in intact["reference"]:
                got = (_timeless(stdout.encode(), run), _comparable(outputs, run))
                if got != intact["reference"][name]:
                    where = _difference(got, intact["reference"][name])
                    problems.append(f"{name}: exit 0 but its output differs from intact: {where}")
        changed = _changed(before, _fingerprints(run) if run.exists() else {}, file, name, status)
        if changed:
            problems.append(f"{name}: changed the run's {changed}")
        if os.environ.get("VAEKIT_FUZZ_LOG"):  # a tally of outcomes, for people
            with open(os.environ["VAEKIT_FUZZ_LOG"], "a") as log:
                log.write(f"{file}\t{damage}\t{name}\t{status}\n")
    assert not problems, "\n".join(problems)


def _changed(before: dict, after: dict, damaged: str, name: str, status: int) -> list[str]:
    """Run files a command changed that it had no business changing."""
    allowed = {damaged}
    if name == "evaluate" or (name == "report" and status == 0):
        allowed.add("evaluation.jsonl")  # they record their result there
    if name == "resume" and status == 0:
        return []
    return sorted(
        k
        for k in before.keys() | after.keys()
        if before.get(k) != after.get(k) and k not in allowed
    )


def _difference(got: tuple, want: tuple) -> str:
    """Where a command's (stdout, outputs) first differ from the intact run's."""
    pairs = [("stdout", got[0], want[0])] + [
        (k, got[1].get(k, b""), want[1].get(k, b"")) for k in got[1].keys() | want[1].keys()
    ]
    for name, mine, theirs in pairs:
        if mine != theirs:
            at = next((i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b), 0)
            return (
                f"{name} at byte {at}: {mine[at - 40 : at + 40]!r} vs {theirs[at - 40 : at + 40]!r}"
            )
    return "?"
