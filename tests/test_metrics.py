"""Metrics against scikit-learn and the original code's multi-label accuracy."""

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from univa.metrics import EmotionMetrics, emotion_metrics


def original_acc(y: np.ndarray, y_pred: np.ndarray) -> float:
    """The original `get_multiLabels_acc`, percent, unrounded."""
    union = np.logical_or(y, y_pred).sum(axis=1)
    union[union == 0] = 1
    return float((np.logical_and(y, y_pred).sum(axis=1) / union).mean() * 100)


@pytest.mark.parametrize("seed", range(5))
def test_metrics_match_sklearn_and_the_original(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random((50, 6)) < 0.3).astype(int)
    y_pred = (rng.random((50, 6)) < 0.3).astype(int)
    y[:, 5] = 0  # a label with no positives scores 0 in macro-F1
    y[0], y_pred[0] = 0, 0  # an empty union counts 0
    result = emotion_metrics(torch.from_numpy(y_pred), torch.from_numpy(y))
    assert result["acc"] == pytest.approx(original_acc(y, y_pred), abs=1e-4)
    assert result["hl"] == pytest.approx(skm.hamming_loss(y, y_pred), abs=1e-6)
    assert result["micro_f1"] == pytest.approx(
        100 * skm.f1_score(y, y_pred, average="micro", zero_division=0), abs=1e-4
    )
    assert result["macro_f1"] == pytest.approx(
        100 * skm.f1_score(y, y_pred, average="macro", zero_division=0), abs=1e-4
    )


def test_empty_union_counts_zero_not_one() -> None:
    nothing = torch.zeros(3, 4, dtype=torch.long)
    assert emotion_metrics(nothing, nothing)["acc"] == 0.0
    assert emotion_metrics(nothing, nothing)["hl"] == 0.0


def test_accumulating_batches_equals_one_pass() -> None:
    rng = np.random.default_rng(0)
    y = torch.from_numpy((rng.random((40, 6)) < 0.4).astype(int))
    y_pred = torch.from_numpy((rng.random((40, 6)) < 0.4).astype(int))
    collection = EmotionMetrics(6)
    for start in range(0, 40, 7):
        collection.update(y_pred[start : start + 7], y[start : start + 7])
    computed = collection.compute()
    assert int(computed["num_samples"]) == 40
    whole = emotion_metrics(y_pred, y)
    assert 100 * float(computed["micro_f1"]) == pytest.approx(whole["micro_f1"])
    assert 100 * float(computed["acc"]) == pytest.approx(whole["acc"])


def test_shape_mismatch_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="preds and target"):
        emotion_metrics(torch.zeros(3, 4), torch.zeros(3, 5))


def test_best_constant_micro_f1_matches_brute_force() -> None:
    from itertools import product

    from univa.metrics import best_constant_micro_f1

    rng = np.random.default_rng(3)
    y = (rng.random((30, 4)) < np.array([0.6, 0.3, 0.1, 0.05])).astype(int)
    expected = max(
        skm.f1_score(y, np.tile(row, (30, 1)), average="micro", zero_division=0)
        for row in product([0, 1], repeat=4)
    )
    assert best_constant_micro_f1(torch.from_numpy(y)) == pytest.approx(100 * expected, abs=1e-4)
