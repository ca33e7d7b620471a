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
import signal
import threading
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

__all__ = [
    "any_rank",
    "broadcast_buffers",
    "get_rank",
    "get_world_size",
    "is_distributed",
    "launch_env",
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


_LAUNCH_FIX = "launch with torchrun, or unset WORLD_SIZE to run one process"


def _env_int(name: str, minimum: int, default: int | None = None) -> int:
    """``int(os.environ[name])``, or a one-line error naming the variable."""
    text = os.environ.get(name, "").strip()
    if not text and default is not None:
        return default
    if not text:
        world = os.environ["WORLD_SIZE"].strip()
        raise ValueError(
            f"{name} must be set when WORLD_SIZE={world} (torchrun sets it for each process), "
            f"got none; {_LAUNCH_FIX}"
        )
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise ValueError(
            f"{name} must be an int >= {minimum} (torchrun sets it), got {text!r}; {_LAUNCH_FIX}"
        )
    return value


def launch_env() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from torchrun's variables, checked; no process group.

    Returns
    -------
    tuple of int
        ``(0, 1, 0)`` when ``WORLD_SIZE`` is unset or 1.

    Raises
    ------
    ValueError
        One line naming the variable: ``WORLD_SIZE``, ``RANK`` or ``LOCAL_RANK`` not an int,
        ``RANK`` missing or not below ``WORLD_SIZE``, ``MASTER_ADDR``/``MASTER_PORT`` missing
        or a port outside 1..65535.

    Examples
    --------
    >>> launch_env() if "WORLD_SIZE" not in os.environ else (0, 1, 0)
    (0, 1, 0)
    """
    world_size = _env_int("WORLD_SIZE", 1, default=1)
    if world_size == 1:
        return 0, 1, 0
    rank, local_rank = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0, default=0)
    if rank >= world_size:
        raise ValueError(f"RANK must be below WORLD_SIZE={world_size}, got {rank}; {_LAUNCH_FIX}")
    if not os.environ.get("MASTER_ADDR", "").strip():
        raise ValueError(
            f"MASTER_ADDR must be set when WORLD_SIZE={world_size} (the address of rank 0), got "
            f"none; {_LAUNCH_FIX}"
        )
    port = _env_int("MASTER_PORT", 1)
    if port > 65535:
        raise ValueError(f"MASTER_PORT must be a port in 1..65535, got {port}; {_LAUNCH_FIX}")
    return rank, world_size, local_rank


def setup_distributed(device_type: str = "cuda", timeout: float = 300.0) -> tuple[int, int, int]:
    """Join the process group when launched by torchrun with ``WORLD_SIZE > 1``.

    The rendezvous (every process reaching rank 0 at ``MASTER_ADDR:MASTER_PORT``) gives up after
    ``timeout`` seconds, and SIGTERM keeps its default action while it waits: a stray
    ``WORLD_SIZE`` in the environment ends in an error or on ``kill``, never in a process that
    waits forever. Collectives afterwards keep PyTorch's default timeout.

    Parameters
    ----------
    device_type : {"cuda", "cpu"}, default "cuda"
        ``"cuda"`` uses NCCL and selects GPU ``LOCAL_RANK``; ``"cpu"`` uses gloo.
    timeout : float, default 300
        Seconds to wait for the other processes.

    Returns
    -------
    tuple of int
        ``(rank, world_size, local_rank)``; ``(0, 1, 0)`` in a plain single process
        (``WORLD_SIZE`` unset or 1).

    Raises
    ------
    ValueError
        If torchrun's variables are malformed ([`launch_env`][transconv.distributed.launch_env]).
    TimeoutError
        If the other processes do not all arrive within ``timeout`` seconds.

    Examples
    --------
    >>> setup_distributed("cpu") if "WORLD_SIZE" not in os.environ else (0, 1, 0)
    (0, 1, 0)
    """
    rank, world_size, local_rank = launch_env()
    if world_size == 1 or dist.is_initialized():
        return rank, world_size, local_rank
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    main = threading.current_thread() is threading.main_thread()
    handler = signal.signal(signal.SIGTERM, signal.SIG_DFL) if main else None
    try:  # a Python SIGTERM handler cannot run while C++ waits for the other ranks
        store, _, _ = next(dist.rendezvous("env://", timeout=timedelta(seconds=timeout)))
        dist.init_process_group(
            "nccl" if device_type == "cuda" else "gloo",
            store=store,
            rank=rank,
            world_size=world_size,
        )
    except RuntimeError as err:  # torch's DistStoreError and kin: a time-out or a refusal
        where = f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}"
        raise TimeoutError(
            f"rank {rank} of WORLD_SIZE={world_size} must reach the other processes at "
            f"MASTER_ADDR:MASTER_PORT={where} within {timeout:g} s, got "
            f"{str(err).splitlines()[0][:200]}; {_LAUNCH_FIX}"
        ) from None
    finally:
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)
    store.set_timeout(timedelta(minutes=30))  # later store waits: PyTorch's default again
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
