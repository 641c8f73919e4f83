"""The optimiser of UniVA (docs/method.md §6.1): AdamW, linear warm-up then decay per optimizer step."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from univa.model.config import OptimizerConfig

if TYPE_CHECKING:
    import torch


def build_optimizer(
    parameters: Iterable[torch.nn.Parameter], config: OptimizerConfig, total_steps: int
) -> dict:
    """Lightning's `configure_optimizers` answer: AdamW and its schedule, stepped per step."""
    import torch  # here, not at import: the config schemas read OptimizerConfig without torch
    from transformers import get_linear_schedule_with_warmup

    # fused: the step counters stay on the device, no host sync per parameter
    optimizer = torch.optim.AdamW(
        parameters,
        lr=config.lr,
        betas=(0.9, 0.999),
        eps=config.adam_eps,
        weight_decay=config.weight_decay,
        fused=True,
    )
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(total_steps * config.warmup_ratio), total_steps
    )
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
