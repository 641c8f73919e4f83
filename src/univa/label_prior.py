"""Label-correlation prior of UniVA (docs/method.md §3.2): cosine similarity of the labels' VA coordinates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from univa.errors import InputError

if TYPE_CHECKING:  # torch loads with the prior, not with the VA table data commands read
    import torch

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


def label_points(
    labels: list[str], label_va: Mapping[str, Sequence[float]] | None = None
) -> dict[str, list[float]]:
    """Each label's (valence, arousal): from `label_va` (a dataset manifest's), else from the
    built-in table of emotion words (case-insensitive); labels with neither are left out."""
    given = dict(label_va or {})
    points = {}
    for label in labels:
        point = given.get(label, EMOTION_VA.get(label.lower()))
        if point is not None:
            points[label] = [float(point[0]), float(point[1])]
    return points


def label_similarity(
    labels: list[str], points: Mapping[str, Sequence[float]] | None = None
) -> torch.Tensor:
    """(C, C) cosine similarity of the labels' VA points, each coordinate min-max scaled to [-1, 1].

    `points` gives each label's (valence, arousal) (a dataset manifest's `label_va`); without
    it, or for a label it leaves out, the built-in table of emotion words applies. The scaling
    runs over the given label set, so M3ED (with neutral) and MOSEI get different matrices,
    exactly as the original `generate_label_similar_matrix.py` does.
    """
    import torch

    known = label_points(labels, points)
    unknown = [name for name in labels if name not in known]
    if unknown:
        raise InputError(
            f"the label prior (model.label_prior) needs a (valence, arousal) point for every "
            f"label; none for {unknown} (the built-in table knows {sorted(EMOTION_VA)}): add "
            '"label_va": {label: [valence, arousal], ...} to the dataset\'s manifest.json, or '
            "set model.label_prior=false"
        )
    coordinates = torch.tensor([known[name] for name in labels], dtype=torch.float64)
    low, high = coordinates.min(dim=0).values, coordinates.max(dim=0).values
    span = torch.where(high > low, high - low, 1.0)  # a coordinate all labels share scales to -1
    scaled = (coordinates - low) / span * 2 - 1
    unit = torch.nn.functional.normalize(scaled, dim=1)
    return (unit @ unit.T).float()
