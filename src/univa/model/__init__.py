"""The UniVA network as plain PyTorch: encoders, pooling, fusion and classifier.

The names load on first use, so that `univa.model.config` (the typed options the config
schemas read) imports without torch.
"""

from __future__ import annotations

from univa.lazy import lazy_getattr

_LAZY: dict[str, str] = {
    "UniVA": "univa.model.univa",
    "UniVAConfig": "univa.model.config",
    "UniVAOutput": "univa.model.univa",
}

__all__ = ["UniVA", "UniVAConfig", "UniVAOutput"]

__getattr__ = lazy_getattr(__name__, _LAZY)
