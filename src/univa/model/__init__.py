"""The UniVA network as plain PyTorch: encoders, pooling, fusion and classifier.

The names load on first use, so that `univa.model.config` (the typed options the config
schemas read) imports without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "UniVA": "univa.model.univa",
    "UniVAConfig": "univa.model.config",
    "UniVAOutput": "univa.model.univa",
}

__all__ = ["UniVA", "UniVAConfig", "UniVAOutput"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
