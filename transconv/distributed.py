"""Multi-process plumbing: join a torchrun process group, wrap a model in DDP, unwrap it.

Multi-GPU training uses `DistributedDataParallel` (d2l uses `DataParallel`). Launch one process
per GPU with torchrun:

    torchrun --standalone --nproc_per_node=NUM_GPUS -m transconv train --recipe fast --out runs/ddp

[`setup_distributed`][transconv.distributed.setup_distributed] reads torchrun's `RANK`,
`WORLD_SIZE` and `LOCAL_RANK`; each process trains on its shard of the data (`--batch-size` is
per process), gradients are averaged by DDP, the confusion matrices of the evaluation are summed
over processes, and only rank 0 shows progress and writes the checkpoint. Without `WORLD_SIZE`
(or with 1) everything runs in one plain process.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["get_rank", "is_distributed", "setup_distributed", "unwrap_model", "wrap_ddp"]


def unwrap_model(net: nn.Module) -> nn.Module:
    """The module inside ``torch.compile`` and ``DistributedDataParallel`` wrappers."""
    while True:
        if isinstance(net, nn.parallel.DistributedDataParallel):
            net = net.module
        elif isinstance(getattr(net, "_orig_mod", None), nn.Module):
            net = net._orig_mod
        else:
            return net


def is_distributed() -> bool:
    """True inside a process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    """This process's rank in the process group (0 outside one)."""
    return dist.getget_rank() if is_distributed() else 0


def setup_distributed(device_type: str = "cuda") -> tuple[int, int, int]:
    """Join the process group when launched by torchrun with ``WORLD_SIZE > 1``.

    Parameters
    ----------
    device_type : {"cuda", "cpu"}
        ``"cuda"`` uses NCCL and selects GPU ``LOCAL_RANK``; ``"cpu"`` uses gloo.

    Returns
    -------
    rank, world_size, local_rank : int
        ``(0, 1, 0)`` in a plain single process (``WORLD_SIZE`` unset or 1).

    Examples
    --------
    >>> setup_distributed("cpu") if "WORLD_SIZE" not in os.environ else (0, 1, 0)
    (0, 1, 0)
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return 0, 1, 0
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    return rank, world_size, local_rank


def wrap_ddp(net: nn.Module, device: str | torch.device) -> nn.Module:
    """``DistributedDataParallel(net)`` inside a process group of several, else ``net`` itself.

    Examples
    --------
    >>> net = nn.Conv2d(3, 2, 1)
    >>> wrap_ddp(net, "cpu") is net  # no process group: a plain module
    True
    """
    if not is_distributed():
        return net
    device = torch.device(device)
    if device.type != "cuda":
        return nn.parallel.DistributedDataParallel(net)
    index = device.index if device.index is not None else torch.cuda.current_device()
    return nn.parallel.DistributedDataParallel(net, device_ids=[index])
