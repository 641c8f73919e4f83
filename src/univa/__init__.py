"""UniVA: unimodal valence-arousal driven contrastive learning for multimodal multi-label emotion recognition.

The public names load on first use (module `__getattr__`), so that `import univa` and the
command line's `--help` do not pay for Lightning and torch.
"""

from __future__ import annotations

from univa.lazy import lazy_getattr

# public name -> the module that defines it
_LAZY: dict[str, str] = {
    "UniVALitModule": "univa.training.lit_module",
    "load_pretrained": "univa.inference",
    "TrainedModel": "univa.inference",
}

__all__ = ["TrainedModel", "UniVALitModule", "load_pretrained"]
__version__ = "0.1.0"

__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
