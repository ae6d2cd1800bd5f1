"""Many processes, many machines, through PyTorch's own engine: ``torchrun`` starts the
processes and sets RANK/WORLD_SIZE/LOCAL_RANK; vaekit joins the process group (gloo on CPU,
NCCL on GPU), wraps the model in DistributedDataParallel and gives each rank its shard of every
global batch. Only rank 0 writes files. Collective checks keep every rank taking the same
decisions (stop, diverge, fail), so one rank's error stops them all instead of hanging them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Cluster:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def join(device: torch.device) -> tuple[Cluster, torch.device]:
    """Join the process group torchrun describes (a single process when there is none)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Cluster(), device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Cluster(dist.get_rank(), dist.get_world_size()), device


def leave(cluster: Cluster) -> None:
    """Leave the process group together: without the barrier a rank that finished early tore
    down its gloo connections while rank 0 was still writing, and aborted now and then."""
    if cluster.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def any_rank(cluster: Cluster, flag: bool | torch.Tensor) -> bool:
    """True on every rank when the flag is true on any rank (one small all-reduce)."""
    if not cluster.distributed:
        return bool(flag)
    value = torch.as_tensor(flag, dtype=torch.int32).reshape(1).clone()
    if dist.get_backend() == "nccl":
        value = value.cuda()
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def sum_across(cluster: Cluster, tensor: torch.Tensor) -> torch.Tensor:
    if cluster.distributed:
        tensor = tensor.clone()
        dist.all_reduce(tensor)
    return tensor


def joined_cluster() -> Cluster:
    """The process group this process is already in (a single process when none)."""
    if dist.is_available() and dist.is_initialized():
        return Cluster(dist.get_rank(), dist.get_world_size())
    return Cluster()


def gather_objects(cluster: Cluster, obj: object) -> list[object]:
    """Every rank's ``obj``, in rank order, on every rank."""
    if not cluster.distributed:
        return [obj]
    gathered: list[object] = [None] * cluster.world
    dist.all_gather_object(gathered, obj)
    return gathered
