"""The `dataset` options of the data modules, checked, in a module that imports neither torch
nor Lightning: the config schemas (`univa.cli.schemas`) are generated from these constructors,
so the command line composes a config (`--help`, `--cfg job`) without loading either."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from univa.errors import InputError
from univa.vocabulary import GLOVE, VA_NORMS

VANorm = Literal["reference", "per_dim", "none"]


class DataOptions:
    """The options every data module takes (a base class of `UniVADataModule`)."""

    def __init__(
        self,
        data_dir: str | Path,
        text_encoder: str = GLOVE,
        batch_size: int = 32,
        va_norm: VANorm = "reference",
        eval_batch_size: int | None = None,
        num_workers: int | None = None,
        pin_memory: bool | None = None,
        shuffle_seed: int = 1111,
        va_source: Any = None,
        group_by_dialogue: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if va_norm not in VA_NORMS:
            raise InputError(f"dataset.va_norm must be one of {VA_NORMS}, got {va_norm!r}")
        if batch_size < 1:
            raise InputError(f"dataset.batch_size must be >= 1, got {batch_size}")
        self.data_dir = Path(data_dir)
        self.text_encoder = text_encoder
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.va_norm = va_norm
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.shuffle_seed = shuffle_seed
        # each modality's VA: dataset | labels | none, or a mapping per modality
        # (univa.data.va_source; None picks per modality what the data allows)
        self.va_source = va_source
        # PLM path: training batches of whole shuffled dialogues, one PLM pass per dialogue
        # (beyond the paper: dropout shared within a dialogue; see UniVADataModule)
        self.group_by_dialogue = group_by_dialogue


class SyntheticOptions(DataOptions):
    """The synthetic data module's own options, on top of `DataOptions` (checked by the data
    module, which knows the flavours and sizes)."""

    def __init__(
        self,
        data_dir: str | Path,
        flavor: str = "mosei",
        seed: int = 1111,
        size: str = "default",
        **kwargs: Any,
    ) -> None:
        super().__init__(data_dir, **kwargs)
        self.flavor, self.seed, self.size = flavor, seed, size
