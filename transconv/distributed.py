"""Multi-process plumbing: join a torchrun process group, wrap a model in DDP, agree across ranks.

Multi-GPU training uses `DistributedDataParallel` (d2l uses `DataParallel`). Launch one process
per GPU with torchrun:

    torchrun --standalone --nproc_per_node=NUM_GPUS -m transconv train --recipe fast --out runs/ddp

[`setup_distributed`][transconv.distributed.setup_distributed] reads torchrun's `RANK`,
`WORLD_SIZE` and `LOCAL_RANK`; each process trains on its shard of the data (`--batch-size` is
per process), gradients are averaged by DDP, and only rank 0 shows progress and writes the
checkpoint. Without `WORLD_SIZE` (or with 1) everything runs in one plain process. The CPU path
(gloo) runs the same code: `torchrun ... -m transconv train --device cpu`.

What the ranks agree on, and how:

- **A non-finite loss.** Every NaN check of [`train`][transconv.train.train] gathers each rank's
  first bad step with one `all_reduce` (max), so every rank raises the same
  [`NonFiniteLossError`][transconv.train.NonFiniteLossError] at the same check and no rank is
  left waiting in a collective.
- **Evaluation.** Each validation crop is scored by exactly one rank (an exact shard, no
  wrapped-around duplicates) and the confusion matrices are summed.
- **BatchNorm statistics.** Before evaluating, rank 0's buffers are broadcast to every rank
  ([`broadcast_buffers`][transconv.distributed.broadcast_buffers]): rank 0 writes the
  checkpoint, so the scores describe the model that is saved; DDP itself broadcasts rank 0's
  buffers at every training forward, so training is unchanged.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn

__all__ = [
    "any_rank",
    "broadcast_buffers",
    "get_rank",
    "get_world_size",
    "is_distributed",
    "setup_distributed",
    "unwrap_model",
    "wrap_ddp",
]


def unwrap_model(net: nn.Module) -> nn.Module:
    """The module inside ``torch.compile`` and ``DistributedDataParallel`` wrappers.

    Parameters
    ----------
    net : nn.Module
        A model, wrapped or not.

    Returns
    -------
    nn.Module
        The plain model, whose ``state_dict`` keys carry no wrapper prefix.

    Examples
    --------
    >>> net = nn.Conv2d(3, 2, 1)
    >>> unwrap_model(net) is net
    True
    """
    while True:
        if isinstance(net, nn.parallel.DistributedDataParallel):
            net = net.module
        elif isinstance(getattr(net, "_orig_mod", None), nn.Module):
            net = net._orig_mod
        else:
            return net


def is_distributed() -> bool:
    """True inside a process group of more than one process.

    Examples
    --------
    >>> is_distributed()
    False
    """
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    """This process's rank in the process group (0 outside one).

    Examples
    --------
    >>> get_rank()
    0
    """
    return dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    """The number of processes in the process group (1 outside one).

    Examples
    --------
    >>> get_world_size()
    1
    """
    return dist.get_world_size() if is_distributed() else 1


def any_rank(flag: bool | torch.Tensor, device: str | torch.device = "cpu") -> bool:
    """True on every rank if ``flag`` is true on any rank (an ``all_reduce`` with max).

    Parameters
    ----------
    flag : bool or Tensor
        This rank's answer.
    device : str or torch.device, default "cpu"
        Where the collective runs (the model's device: NCCL needs CUDA tensors).

    Returns
    -------
    bool
        The same value on every rank; ``bool(flag)`` in a single process.

    Examples
    --------
    >>> any_rank(True), any_rank(torch.tensor(False))
    (True, False)
    """
    value = torch.as_tensor(flag, device=device).to(torch.int32).reshape(1)
    if is_distributed():
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def broadcast_buffers(net: nn.Module, src: int = 0) -> None:
    """Copy rank ``src``'s buffers (BatchNorm running statistics) to every rank, in place.

    Parameters
    ----------
    net : nn.Module
        The model (wrappers allowed); a no-op outside a process group.
    src : int, default 0
        The rank whose buffers win.

    Examples
    --------
    >>> net = nn.BatchNorm2d(3)
    >>> broadcast_buffers(net)  # one process: nothing to do
    >>> net.running_mean.tolist()
    [0.0, 0.0, 0.0]
    """
    if not is_distributed():
        return
    for buffer in unwrap_model(net).buffers():
        dist.broadcast(buffer.data, src)


def setup_distributed(device_type: str = "cuda") -> tuple[int, int, int]:
    """Join the process group when launched by torchrun with ``WORLD_SIZE > 1``.

    Parameters
    ----------
    device_type : {"cuda", "cpu"}, default "cuda"
        ``"cuda"`` uses NCCL and selects GPU ``LOCAL_RANK``; ``"cpu"`` uses gloo.

    Returns
    -------
    tuple of int
        ``(rank, world_size, local_rank)``; ``(0, 1, 0)`` in a plain single process
        (``WORLD_SIZE`` unset or 1).

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

    Parameters
    ----------
    net : nn.Module
        The model, already on ``device``.
    device : str or torch.device
        Its device; a CUDA device becomes DDP's single ``device_ids`` entry.

    Returns
    -------
    nn.Module
        The wrapped model, or ``net`` outside a process group.

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
