"""`SyntheticDataModule`: the embedded default, generated into its folder on first use.

The benchmark flavours (`mosei`, `m3ed`) are written and read in the released layout; the
`generic` flavour is written in the generic format and read like any folder dataset, so the
tests and the README's examples run both paths offline. The data module chooses the reader of
its flavour's layout (`read_released`, `read_folder`) rather than being either data module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from univa.data.datamodule import UniVADataModule
from univa.data.generic.datamodule import read_folder
from univa.data.options import SyntheticOptions
from univa.data.released.datamodule import read_released
from univa.data.synthetic.generator import (
    FLAVORS,
    FULL,
    RELEASED_FLAVORS,
    SIZE_NAMES,
    write_synthetic_dataset,
)
from univa.errors import InputError


class SyntheticDataModule(UniVADataModule):
    """A synthetic dataset of `flavor`, `size` and `seed`, generated into `data_dir` when
    absent; read by the reader of the layout its flavour is written in."""

    option_type = SyntheticOptions

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.flavor not in FLAVORS:
            raise InputError(
                f"dataset.flavor must be one of {sorted(FLAVORS)}, got {self.flavor!r}"
            )
        if self.size not in SIZE_NAMES:
            raise InputError(f"dataset.size must be one of {list(SIZE_NAMES)}, got {self.size!r}")
        self.spec = FLAVORS[self.flavor]
        if self.size == FULL and self.spec.full_utterances is None:
            raise InputError(
                f"dataset.size={FULL} exists for the flavours {list(RELEASED_FLAVORS)} (the "
                f"benchmarks' shapes), not for dataset.flavor={self.flavor}"
            )
        self.record = self.spec.record
        self.name, self.labels = self.record.name, list(self.record.labels)

    @staticmethod
    def generated_in(data_dir: str | Path, flavor: Any) -> bool:
        """Whether `data_dir` holds a complete synthetic dataset of `flavor` (its marker, written
        last): the data folder a checkpoint records is used only then, never generated into."""
        spec = FLAVORS.get(flavor) if isinstance(flavor, str) else None
        return spec is not None and (Path(data_dir) / spec.marker).exists()

    def prepare_data(self) -> None:
        if self.generated_in(self.data_dir, self.flavor):
            return
        try:
            write_synthetic_dataset(
                self.data_dir, flavor=self.flavor, seed=self.seed, size=self.size
            )
        except OSError:  # e.g. processes started by torchrun racing to generate it
            if not self.generated_in(self.data_dir, self.flavor):
                raise

    def setup(self, stage: str | None = None) -> None:
        self.prepare_data()
        (read_released if self.record.text_file is not None else read_folder)(self)
