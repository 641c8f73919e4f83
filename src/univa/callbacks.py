"""Lightning callbacks of univa."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import Callback


class PerRankSeed(Callback):
    """Reseed every process with `seed + global rank` once the processes exist.

    The initial weights come from `seed` before this (and DDP broadcasts rank 0's anyway);
    from here on, dropout and data-loading workers draw different numbers on every rank
    instead of repeating the same masks on every shard of the batch.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        L.seed_everything(self.seed + trainer.global_rank, workers=True, verbose=False)
