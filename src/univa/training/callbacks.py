"""Lightning callbacks of univa."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, Checkpoint, ModelCheckpoint, RichProgressBar
from torch import Tensor

from univa.errors import NonFiniteLossError

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


class NonFiniteLossGuard(Callback):
    """Stop a run whose loss is NaN or infinite before it corrupts the weights.

    Checked before the backward pass, so no update is made with it and no checkpoint holds its
    result: `last.ckpt` stays the last good state to resume or inspect. Costs one host read of
    the loss per step.
    """

    def on_before_backward(
        self, trainer: L.Trainer, pl_module: L.LightningModule, loss: Tensor
    ) -> None:
        if torch.isfinite(loss.detach()).all():
            return
        checkpoint = trainer.checkpoint_callback
        last = getattr(checkpoint, "last_model_path", "") or "none written yet"
        raise NonFiniteLossError(
            f"the training loss is {loss.item()} at epoch {trainer.current_epoch}, step "
            f"{trainer.global_step}; stopped before updating the weights. Last good checkpoint: "
            f"{last}. Try a lower model.lr, gradient clipping, or trainer.precision=32-true."
        )


class EpochThroughput(Callback):
    """Log `train/utterances_per_sec` and `train/epoch_seconds` at the end of each training epoch.

    Wall time from the epoch's start to its end, data loading included, over the utterances
    of all ranks (the training shards are equal). Timed once per epoch: no per-step device
    sync, unlike a per-step monitor.
    """

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()
        self._utterances = 0

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._utterances += batch["labels"].shape[0]

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        seconds = time.perf_counter() - self._start
        utterances = self._utterances * trainer.world_size
        # every rank times the same epoch: their mean, reduced once (all ranks run this hook)
        pl_module.log_dict(
            {"train/utterances_per_sec": utterances / seconds, "train/epoch_seconds": seconds},
            sync_dist=True,
        )


class SaveOnException(Checkpoint):
    """Save the state reached when a run stops on an exception (SIGTERM, Ctrl-C, a crash).

    Lightning's `OnExceptionCheckpoint` does the same but also makes every `fit` without a
    `ckpt_path` resume from the newest checkpoint it finds (a second run into a used folder
    silently continued the first). This one only saves; the run folder decides what is
    resumed (`univa.training.run_folder`). Removed after a run that ends normally, like Lightning's.
    """

    def __init__(self, dirpath: str, filename: str = "on_exception") -> None:
        self.ckpt_path = os.path.join(dirpath, f"{filename}.ckpt")

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        # the whole training state, to continue from. Lightning's `weights_only` (what to save,
        # not how `torch.load` reads it) left unset logs "`weights_only` was not set,
        # defaulting to `False`", which read as an unsafe load
        trainer.save_checkpoint(self.ckpt_path, weights_only=False)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        trainer.strategy.remove_checkpoint(self.ckpt_path)


class EpochProgressBar(RichProgressBar):
    """Lightning's rich progress bar, counting epochs from 1: "Epoch 1/1" for a one-epoch run
    (Lightning shows "Epoch 0/0"). Checkpoint names keep Lightning's 0-based epoch numbers."""

    def _get_train_description(self, current_epoch: int) -> str:
        description = f"Epoch {current_epoch + 1}"
        max_epochs = self.trainer.max_epochs
        if max_epochs is not None and max_epochs >= 0:  # -1: no limit
            description += f"/{max_epochs}"
        return f"{description:{len(self.validation_description)}}"  # no flicker from widths


class MovedRunCheckpoint(ModelCheckpoint):
    """Lightning's `ModelCheckpoint`, which follows its run folder when that was moved or copied.

    Resumed in another folder, Lightning forgets which checkpoints were best (their scores) but
    keeps `best_model_path` in the old folder: the next epoch became "best" whatever its score,
    and a finished run tested the old folder's file. When the best checkpoint is found under the
    same name in this run's checkpoint folder, the saved paths are moved there instead.
    """

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        old, new = state_dict.get("dirpath"), self.dirpath
        best = state_dict.get("best_model_path")
        if old and new and old != new and best and (Path(new) / Path(best).name).is_file():

            def moved(path: Any) -> Any:
                if isinstance(path, str) and path and Path(path).parent == Path(old):
                    return str(Path(new) / Path(path).name)
                return path

            state_dict = {key: moved(value) for key, value in state_dict.items()}
            state_dict["best_k_models"] = {
                moved(path): score for path, score in state_dict.get("best_k_models", {}).items()
            }
            state_dict["dirpath"] = new
        super().load_state_dict(state_dict)
