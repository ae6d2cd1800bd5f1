"""Where a run's training data is, from any working folder and after the run folder moves.

A run records the training source as the user typed it (``data.source``) and, beside it, what
it was: the absolute path, its size and a SHA-256 of its bytes (``data.location``). Reading the
run's own data goes through :func:`locate`: the path as typed where it is that file, else the
recorded absolute path; a file that changed since training gets a warning naming it, and one
that is gone a one-line error naming it with the fix.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from vaekit.config.run import DataConfig
from vaekit.core.errors import fail
from vaekit.core.progress import log

BUILTIN = ("digits", "mnist", "penguins", "students", "sprites")
HASHED_UP_TO = 1 << 30  # files above this (streamed) are recognised by their size alone


def record_location(config: DataConfig) -> None:
    """Fill in ``config.location`` for a source read from the user's files (built-ins have none)."""
    path = Path(config.source).expanduser()
    if config.source in BUILTIN or not path.exists():
        return
    resolved = path.resolve()
    config.location = {"path": str(resolved), **_fingerprint(str(resolved), *_stamp(resolved))}
    for key in ("labels", "factors"):  # a file beside the data (labels may be a column)
        beside = getattr(config, key)
        if beside and Path(beside).expanduser().is_file():
            config.location[key] = str(Path(beside).expanduser().resolve())


def locate(config: DataConfig) -> str:
    """The path (or built-in name) to read the run's training data from."""
    recorded = config.location.get("path") if config.location else None
    given = Path(config.source).expanduser()
    if config.source in BUILTIN or recorded is None:
        return config.source
    if given.exists() and given.resolve() == Path(recorded):
        path = given
    elif Path(recorded).exists():
        path = Path(recorded)
    else:
        raise fail(
            config.source,
            f"this run's training data is not there (recorded as {recorded}); put it back, or "
            "give the examples to use with --data FILE",
        )
    _warn_if_changed(config.location, path)
    return str(path)


def locate_beside(config: DataConfig, key: str) -> str | None:
    """What the run reads beside its own data: ``key`` "labels" (a file, or a column or .npz
    key) or "factors" (a factor table), as typed where that is a file here, else the recorded
    absolute path."""
    given = getattr(config, key)
    recorded = config.location.get(key) if config.location else None
    if recorded is None or Path(given or "").expanduser().is_file():
        return given
    return recorded


def _warn_if_changed(location: dict[str, Any], path: Path) -> None:
    now = fingerprint(path)
    changed = [key for key in ("bytes", "sha256") if key in location and location[key] != now[key]]
    if changed:
        _warn_once(
            f"warning: {path} has changed since this run was trained on it ({changed[0]} "
            "differs); its splits are not the ones the run's numbers were measured on"
        )


def fingerprint(path: Path) -> dict[str, Any]:
    """Size and SHA-256 of a file or folder (the SHA-256 left out above a size limit)."""
    resolved = Path(path).expanduser().resolve()
    return _fingerprint(str(resolved), *_stamp(resolved))


@functools.cache
def _warn_once(message: str) -> None:
    log(message)


def _stamp(path: Path) -> tuple[int, int]:
    """(modification time, size) of a file, or of a folder's files together: the cache key."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    stats = [p.stat() for p in files]
    return max((s.st_mtime_ns for s in stats), default=0), sum(s.st_size for s in stats)


@functools.cache
def _fingerprint(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    """Size and SHA-256 of a file (of a folder: of its files' names, sizes and bytes)."""
    root = Path(path)
    if size > HASHED_UP_TO:
        return {"bytes": size}
    digest = hashlib.sha256()
    for file in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(root)}\0{file.stat().st_size}\0".encode())
        with file.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return {"bytes": size, "sha256": digest.hexdigest()}
