"""UniVA: unimodal valence-arousal driven contrastive learning for multimodal multi-label emotion recognition."""

from typing import Any

from univa.training.lit_module import UniVALitModule

__all__ = ["UniVALitModule", "load_pretrained"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """`univa.load_pretrained`, imported when first used."""
    if name == "load_pretrained":
        from univa.model.pretrained import load_pretrained

        return load_pretrained
    raise AttributeError(f"module 'univa' has no attribute {name!r}")
