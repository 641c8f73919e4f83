"""The UniVA network as plain PyTorch: encoders, pooling, fusion and classifier."""

from univa.model.config import UniVAConfig
from univa.model.univa import UniVA, UniVAOutput

__all__ = ["UniVA", "UniVAConfig", "UniVAOutput"]
