"""The `dataset` options of the data modules, each default defined here once, checked; light (no
torch, no Lightning): they are the `dataset` configs' schemas (`univa.conf`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from univa.constants import GLOVE, VA_NORMS
from univa.errors import InputError

VANorm = Literal["reference", "per_dim", "none"]


@dataclass
class DataOptions:
    """The options every data module takes (`UniVADataModule.option_type`)."""

    data_dir: str | Path
    text_encoder: str | None = GLOVE  # null: evaluate and predict read the recorded one
    batch_size: int = 32
    va_norm: str = "reference"  # a VANorm (a literal the config schema cannot type)
    eval_batch_size: int | None = None
    num_workers: int | None = None
    pin_memory: bool | None = None
    shuffle_seed: int = 1111
    # each modality's VA: dataset | labels | none, or a mapping per modality
    # (univa.data.va; None picks per modality what the data allows)
    va_source: Any = None
    # PLM path: training batches of whole shuffled dialogues, one PLM pass per dialogue
    # (beyond the paper: dropout shared within a dialogue; see UniVADataModule)
    group_by_dialogue: bool = False

    def __post_init__(self) -> None:
        if self.va_norm not in VA_NORMS:
            raise InputError(f"dataset.va_norm must be one of {VA_NORMS}, got {self.va_norm!r}")
        if self.batch_size < 1:
            raise InputError(f"dataset.batch_size must be >= 1, got {self.batch_size}")
        self.data_dir = Path(self.data_dir)
        self.eval_batch_size = self.eval_batch_size or self.batch_size


@dataclass
class SyntheticOptions(DataOptions):
    """The synthetic data module's own options, on top of `DataOptions` (checked by the data
    module, which knows the flavours and sizes)."""

    flavor: str = "mosei"
    seed: int = 1111
    size: str = "default"
