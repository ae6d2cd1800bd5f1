"""The ``vaekit`` command."""

from vaekit.cli.main import main

__all__ = ["main"]
