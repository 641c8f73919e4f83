"""Label-correlation prior of UniVA (SPEC section 3): cosine similarity of the labels' VA coordinates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from univa.errors import InputError

# (valence, arousal) of each emotion word in the NRC-VAD lexicon, as used by the paper.
EMOTION_VA: dict[str, tuple[float, float]] = {
    "happy": (1.000, 0.735),
    "sad": (0.225, 0.333),
    "anger": (0.167, 0.865),
    "surprise": (0.875, 0.875),
    "disgust": (0.052, 0.775),
    "fear": (0.073, 0.840),
    "neutral": (0.5, 0.5),
}


def label_similarity(
    labels: list[str], points: Mapping[str, Sequence[float]] | None = None
) -> torch.Tensor:
    """(C, C) cosine similarity of the labels' VA points, each coordinate min-max scaled to [-1, 1].

    `points` gives each label's (valence, arousal) (a dataset manifest's `label_va`); without
    it, or for a label it leaves out, the built-in table of emotion words applies. The scaling
    runs over the given label set, so M3ED (with neutral) and MOSEI get different matrices,
    exactly as the original `generate_label_similar_matrix.py` does.
    """
    given = dict(points or {})
    unknown = [name for name in labels if name not in given and name.lower() not in EMOTION_VA]
    if unknown:
        raise InputError(
            f"the label prior (model.label_prior) needs a (valence, arousal) point for every "
            f"label; none for {unknown} (the built-in table knows {sorted(EMOTION_VA)}): add "
            '"label_va": {label: [valence, arousal], ...} to the dataset\'s manifest.json, or '
            "set model.label_prior=false"
        )
    coordinates = [given.get(name, EMOTION_VA.get(name.lower())) for name in labels]
    points = torch.tensor([list(p) for p in coordinates], dtype=torch.float64)
    low, high = points.min(dim=0).values, points.max(dim=0).values
    scaled = (points - low) / (high - low) * 2 - 1
    unit = torch.nn.functional.normalize(scaled, dim=1)
    return (unit @ unit.T).float()
