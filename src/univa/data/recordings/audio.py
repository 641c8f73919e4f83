"""Audio features with the `opensmile` package: a feature set's functionals per utterance (IS10,
1582 numbers: M3ED's audio features) or its frame-level descriptors as a sequence (e.g.
eGeMAPSv02, one row per 10 ms). Nothing is added to what openSMILE computes on the utterance's
samples (`docs/data-format.md §4.3`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from univa.data.recordings.recipe import LEVELS, Recipe
from univa.errors import UsageError


def smile(recipe: Recipe) -> Any:
    """The `opensmile.Smile` computing `recipe`'s audio features."""
    try:
        import opensmile
    except ImportError:
        raise UsageError(
            "univa.extract needs the opensmile package: pip install 'univa[extract]'"
        ) from None
    feature_set = opensmile.FeatureSet.__members__.get(recipe.audio_feature_set)
    if feature_set is None:
        names = ", ".join(opensmile.FeatureSet.__members__)
        raise UsageError(f"audio_feature_set={recipe.audio_feature_set}: expected one of {names}")
    level = getattr(opensmile.FeatureLevel, LEVELS[recipe.audio_level])
    return opensmile.Smile(feature_set=feature_set, feature_level=level)


def segment_samples(signal: np.ndarray, sample_rate: int, start: float, end: float) -> np.ndarray:
    """The samples of [start, end) seconds: from round(start * rate) to round(end * rate)."""
    return signal[round(start * sample_rate) : round(end * sample_rate)]


def audio_features(extractor: Any, samples: np.ndarray, sample_rate: int) -> np.ndarray | None:
    """openSMILE's (steps, width) float32 features of `samples` (one step for functionals), or
    None when the segment is too short for its analysis windows (openSMILE then gives NaN)."""
    features = extractor.process_signal(samples, sample_rate).to_numpy(dtype=np.float32)
    return features if len(features) and np.isfinite(features).all() else None
