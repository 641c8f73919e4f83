"""The optimiser of UniVA (SPEC section 6): AdamW, linear warm-up then decay per optimizer step."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from univa.errors import InputError

if TYPE_CHECKING:
    import torch


@dataclass
class OptimizerConfig:
    """The `model.lr`, `model.warmup_ratio`, `model.weight_decay` and `model.adam_eps` options;
    the defaults are the original code's, the presets set the paper's learning rates."""

    lr: float = 7e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.0
    adam_eps: float = 1e-6

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise InputError(f"model.lr must be > 0, got {self.lr}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise InputError(f"model.warmup_ratio must lie in [0, 1), got {self.warmup_ratio}")
        if self.weight_decay < 0:
            raise InputError(f"model.weight_decay must be >= 0, got {self.weight_decay}")
        if self.adam_eps <= 0:
            raise InputError(f"model.adam_eps must be > 0, got {self.adam_eps}")


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
