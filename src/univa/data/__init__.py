"""Data: readers of the released layout and of the generic dataset format, datasets, data
modules and the synthetic generator."""

from univa.data.datamodule import (
    M3EDDataModule,
    MoseiDataModule,
    UniVADataModule,
)
from univa.data.folder_check import validate_dataset
from univa.data.folder_datamodule import FolderDataModule
from univa.data.folder_format import FolderSplit, read_folder_split, read_manifest
from univa.data.folder_write import write_dataset
from univa.data.synthetic_datamodule import SyntheticDataModule

__all__ = [
    "FolderDataModule",
    "FolderSplit",
    "M3EDDataModule",
    "MoseiDataModule",
    "SyntheticDataModule",
    "UniVADataModule",
    "read_folder_split",
    "read_manifest",
    "validate_dataset",
    "write_dataset",
]
