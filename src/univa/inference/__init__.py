"""Using a trained model on new data: `TrainedModel` and `load_pretrained`."""

from univa.inference.pretrained import load_pretrained
from univa.inference.trained_model import TrainedModel

__all__ = ["TrainedModel", "load_pretrained"]
