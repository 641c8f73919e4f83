"""Helpers for multi-process training that the model and losses use without Lightning."""

from __future__ import annotations

import torch
import torch.distributed as dist


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def gather_with_local_grad(local: torch.Tensor) -> torch.Tensor:
    """Concatenate `local` (B, ...) from every rank in rank order, the global batch (R*B, ...).

    Other ranks' rows arrive detached; this rank's rows keep their graph, so a loss on the
    global batch sends gradients to the local features only (DDP then averages over ranks).
    Every rank must pass the same shape (the training sampler gives equal shards).
    """
    parts = [torch.empty_like(local) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, local.detach().contiguous())
    parts[dist.get_rank()] = local
    return torch.cat(parts)


def scale_grad(value: torch.Tensor, factor: float) -> torch.Tensor:
    """`value` unchanged, its gradient multiplied by `factor`."""
    return value * factor - value.detach() * (factor - 1)
