"""The label-correlation prior against the original recipe (min-max to [-1, 1], then cosine)."""

import numpy as np
import pytest
import torch
from sklearn.metrics.pairwise import cosine_similarity

from univa.constants import M3ED_LABELS, MOSEI_LABELS
from univa.label_prior import EMOTION_VA, label_similarity


@pytest.mark.parametrize("labels", [MOSEI_LABELS, M3ED_LABELS])
def test_matches_min_max_then_cosine(labels: list[str]) -> None:
    points = np.array([EMOTION_VA[name.lower()] for name in labels])
    scaled = (points - points.min(0)) / (points.max(0) - points.min(0)) * 2 - 1
    np.testing.assert_allclose(
        label_similarity(labels).numpy(), cosine_similarity(scaled), atol=1e-6
    )


def test_known_structure_of_the_mosei_matrix() -> None:
    matrix = label_similarity(MOSEI_LABELS)
    assert matrix.shape == (6, 6)
    np.testing.assert_allclose(matrix.diagonal().numpy(), 1.0, atol=1e-6)
    np.testing.assert_allclose(matrix.numpy(), matrix.T.numpy())
    happy, sad, anger, surprise = 0, 1, 2, 3
    assert matrix[happy, surprise] > 0.5 > matrix[happy, sad]
    assert matrix[anger, happy] < matrix[anger, sad] or matrix[anger, happy] < 0


def test_unknown_label_is_named() -> None:
    with pytest.raises(ValueError, match="boredom"):
        label_similarity(["happy", "boredom"])


@pytest.mark.parametrize(
    "points",
    [{"a": [0.9, 0.5], "b": [0.1, 0.5]}, {"a": [0.4, 0.5]}],  # one shared coordinate; one label
)
def test_a_coordinate_all_labels_share_gives_a_finite_prior(points: dict) -> None:
    similarity = label_similarity(list(points), points)
    assert torch.isfinite(similarity).all()
    assert torch.allclose(similarity.diagonal(), torch.ones(len(points), dtype=similarity.dtype))
