"""UniVA: unimodal valence-arousal driven contrastive learning for multimodal multi-label emotion recognition."""

from univa.training.lit_module import UniVALitModule

__all__ = ["UniVALitModule"]
__version__ = "0.1.0"
