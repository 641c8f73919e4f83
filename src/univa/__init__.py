"""UniVA: unimodal valence-arousal driven contrastive learning for multimodal multi-label emotion recognition.

The public names load on first use (module `__getattr__`), so that `import univa` and the
command line's `--help` do not pay for Lightning and torch.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> the module that defines it
_LAZY: dict[str, str] = {
    "UniVALitModule": "univa.training.lit_module",
    "load_pretrained": "univa.model.pretrained",
}

__all__ = ["UniVALitModule", "load_pretrained"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'univa' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
