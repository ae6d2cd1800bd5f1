"""What the benchmarks' data loaders share: where fetched data is cached, file checksums, and
running ``apt-get download`` / ``dpkg-deb -x`` with one clear error when they fail."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path


def cache_dir(name: str) -> Path:
    """``$VAEKIT_DATA/benchmarks/NAME`` (default ``~/.cache/vaekit/benchmarks/NAME``); the
    benchmarks folder itself for an empty NAME."""
    root = Path(os.environ.get("VAEKIT_DATA", "~/.cache/vaekit")).expanduser()
    return root / "benchmarks" / name


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def run(cmd: list[str], cwd: Path, package: str) -> None:
    """Run one step of fetching the Debian ``package``; a missing tool or a failure raises
    RuntimeError with the command and its error output."""
    if shutil.which(cmd[0]) is None:
        raise RuntimeError(f"`{cmd[0]}` not found: fetching {package} needs apt and dpkg")
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        hint = " (try `apt-get update` first)" if cmd[:2] == ["apt-get", "download"] else ""
        raise RuntimeError(
            f"`{' '.join(cmd)}` failed with exit {done.returncode}{hint}:\n{done.stderr.strip()}"
        )
