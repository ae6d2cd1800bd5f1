"""The ``vaekit`` command: argument parsing only; every verb calls the library.

Errors a user can fix (bad files, options, data) print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
import textwrap

from vaekit.cli.examine import CALIBRATE, COMPARE, EVALUATE, INFO, SCORE
from vaekit.cli.options import Command
from vaekit.cli.pictures import EXPLORE, PLOT, REPORT
from vaekit.cli.train import TRAIN
from vaekit.cli.use import DATA, DECODE, ENCODE, RECONSTRUCT, SAMPLE
from vaekit.core import progress
from vaekit.core.errors import TrainingInterrupted, VaekitError
from vaekit.core.numerics import denormals_flushed
from vaekit.core.version import __version__

# In the order `vaekit --help` lists them.
COMMANDS = (
    TRAIN,
    SAMPLE,
    RECONSTRUCT,
    ENCODE,
    DECODE,
    INFO,
    PLOT,
    REPORT,
    EXPLORE,
    EVALUATE,
    SCORE,
    CALIBRATE,
    COMPARE,
    DATA,
)


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit status: 0, 2 for an error the user can fix, 130 interrupted."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    progress.QUIET = args.quiet
    try:
        with denormals_flushed():
            args.func(args)
    except TrainingInterrupted as err:
        print(f"vaekit: {err}", file=sys.stderr)
        return err.exit_code
    except VaekitError as err:
        print(f"vaekit: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vaekit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `vaekit info RUN | head`: the reader left; that is not an error
        _quiet_stdout()
        return 0
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command and its options."""
    parser = argparse.ArgumentParser(
        prog="vaekit", description="Variational autoencoders: train, sample, reconstruct, encode."
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars or log lines")
    parser.add_argument(
        "--version", action="version", version=f"vaekit {__version__}", help="print the version"
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    for command in COMMANDS:
        _add_command(verbs, command)
    return parser


def _add_command(verbs: argparse._SubParsersAction, command: Command) -> None:
    sub = verbs.add_parser(
        command.name,
        help=command.help,
        description=textwrap.fill(command.help, 79),  # the raw formatter does not wrap
        epilog="examples:\n" + "\n".join(f"  {line}" for line in command.examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if command.takes_run:
        sub.add_argument("run", metavar="RUN", help="a run folder written by `vaekit train`")
        sub.add_argument(
            "--weights",
            choices=("best", "last"),
            default="best",
            help="best-validation or last-epoch weights (default: best)",
        )
    if command.options is not None:
        command.options(sub)
    if command.func is not None:
        sub.set_defaults(func=command.func)
    if command.actions:
        actions = sub.add_subparsers(
            dest=f"{command.name}_verb",
            required=True,
            metavar="ACTION",
            help=", ".join(action.name for action in command.actions),
        )
        for action in command.actions:
            _add_command(actions, action)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so Python's exit-time flush into the closed pipe cannot raise."""
    import contextlib
    import os

    # stdout that is not a file (an embedding program's) is left as it is.
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
