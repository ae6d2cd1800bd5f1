"""A run's safetensors files: written with a checksum of their tensors, read back only whole.

A flipped bit in a weight loads as a slightly different, perfectly finite model; only a
checksum written beside the tensors tells the two apart. Every file vaekit writes carries one in
its metadata; files without one (earlier versions, hand-made files) are read without the check.
Reading refuses, in one line naming the file and tensor, anything a command could not use: an
unreadable file, a damaged one, and NaN or infinite values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors.torch import safe_open, save_file

from vaekit.core.errors import fail
from vaekit.core.files import atomic_write

CHECKSUM = "vaekit.sha256"  # metadata key: sha256 over every tensor's name, dtype, shape, bytes


def checksum(tensors: Mapping[str, torch.Tensor]) -> str:
    """A digest of the tensors' names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        header = [name, str(tensor.dtype), list(tensor.shape)]
        digest.update(json.dumps(header).encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def write_tensors(
    path: Path, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None = None
) -> None:
    """Atomically write ``tensors`` (moved to CPU, contiguous) with ``metadata`` and a checksum."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    metadata = {**(metadata or {}), CHECKSUM: checksum(tensors)}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def read_tensors(path: Path, what: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata of a safetensors file, refused (VaekitError naming ``path``)
    when it is missing, unreadable, fails its checksum, or holds NaN or infinite values.
    ``what`` names the file's job in messages ("weights", "checkpoint")."""
    path = Path(path)
    if not path.is_file():
        raise fail(path, f"{what} file not found")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except Exception as err:  # noqa: BLE001 - any way the file is unreadable is one line
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise fail(path, f"not a readable {what} file ({reason})") from None
    stored = metadata.get(CHECKSUM)
    if stored is not None and stored != checksum(tensors):
        raise fail(path, f"the {what} file is damaged: its tensors do not match its checksum")
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise fail(path, f"tensor {name} holds NaN or infinite values")
    return tensors, metadata


def check_tensors(
    path: Path, tensors: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor], what: str
) -> None:
    """Refuse ``tensors`` unless they have exactly ``expected``'s names, shapes and dtypes."""
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        parts = ([f"missing {', '.join(missing[:3])}"] if missing else []) + (
            [f"unexpected {', '.join(extra[:3])}"] if extra else []
        )
        raise fail(path, f"tensors do not match {what}: {'; '.join(parts)}")
    for name, tensor in tensors.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise fail(
                path,
                f"tensor {name} has shape {tuple(tensor.shape)}, {what} needs "
                f"{tuple(expected[name].shape)}",
            )
        if tensor.dtype != expected[name].dtype:
            raise fail(
                path, f"tensor {name} has dtype {tensor.dtype}, {what} needs {expected[name].dtype}"
            )
