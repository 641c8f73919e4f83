"""Lightning callbacks of univa."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

EPOCH_STRIDE = 100_003  # a prime larger than any world size: (epoch, rank) pairs never collide


class RankEpochSeed(Callback):
    """Reseed every process before each epoch's first training step from (seed, epoch, rank).

    The initial weights come from `seed` before this (and DDP broadcasts rank 0's anyway).
    Then each epoch's dropout draws depend only on the seed, the epoch and the rank: ranks do
    not repeat each other's masks, and a run resumed from an epoch's `last.ckpt` draws exactly
    what the uninterrupted run drew, whatever was consumed before (sanity checks, loader
    iterators, which a resumed run creates at other moments). Shuffling has its own seeded
    generator per epoch (the data modules' samplers).
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if batch_idx != 0:
            return
        seed = self.seed + EPOCH_STRIDE * trainer.current_epoch + trainer.global_rank
        L.seed_everything(seed % 2**32, workers=True, verbose=False)
