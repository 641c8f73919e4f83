"""Data: readers of the released layout, datasets, data modules and the synthetic generator."""

from univa.data.datamodule import (
    M3EDDataModule,
    MoseiDataModule,
    SyntheticDataModule,
    UniVADataModule,
)

__all__ = ["M3EDDataModule", "MoseiDataModule", "SyntheticDataModule", "UniVADataModule"]
