"""Data: readers of the released layout, datasets, data modules and the synthetic generator.

The data modules load on first use, so that `univa.data.options` (the options the config
schemas read) imports without torch and Lightning.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "M3EDDataModule": "univa.data.datamodule",
    "MoseiDataModule": "univa.data.datamodule",
    "SyntheticDataModule": "univa.data.datamodule",
    "UniVADataModule": "univa.data.datamodule",
}

__all__ = ["M3EDDataModule", "MoseiDataModule", "SyntheticDataModule", "UniVADataModule"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
