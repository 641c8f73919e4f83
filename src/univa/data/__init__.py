"""Data: readers of the released layout and of the generic dataset format, datasets, data modules and the synthetic generator.

The data modules load on first use, so that `univa.data.options` (the options the config
schemas read) imports without torch and Lightning.
"""

from __future__ import annotations

from univa.lazy import lazy_getattr

_LAZY: dict[str, str] = {
    "M3EDDataModule": "univa.data.released.datamodule",
    "MoseiDataModule": "univa.data.released.datamodule",
    "SyntheticDataModule": "univa.data.synthetic.datamodule",
    "UniVADataModule": "univa.data.datamodule",
    "FolderDataModule": "univa.data.generic.datamodule",
    "FolderSplit": "univa.data.generic.format",
    "read_folder_split": "univa.data.generic.format",
    "read_manifest": "univa.data.generic.format",
    "validate_dataset": "univa.data.generic.check",
    "write_dataset": "univa.data.generic.write",
}

__all__ = sorted(_LAZY)

__getattr__ = lazy_getattr(__name__, _LAZY)
