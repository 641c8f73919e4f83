"""The numbers behind the run's analysis: threshold sweeps and tuning, confusion counts, PCA."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from sklearn.metrics import multilabel_confusion_matrix

from univa.data import SyntheticDataModule
from univa.data.dataset import collate_trimmed
from univa.errors import InputError
from univa.metrics import emotion_metrics, metric_summary
from univa.model.thresholds import predict_at
from univa.report.outputs import collect_outputs, confusion_counts, project_2d
from univa.report.threshold_tuning import (
    check_threshold_tuning,
    f1_by_threshold,
    threshold_grid,
    tune_thresholds,
)
from univa.training.lit_module import UniVALitModule


@pytest.fixture(scope="module")
def scores() -> tuple[torch.Tensor, torch.Tensor]:
    """Probabilities that carry some signal about random multi-hot targets (60 x 5)."""
    generator = torch.Generator().manual_seed(0)
    targets = (torch.rand(60, 5, generator=generator) < 0.3).long()
    probs = (0.25 * targets + 0.5 * torch.rand(60, 5, generator=generator)).clamp(0, 1)
    return probs, targets


def test_grid_holds_the_fixed_threshold_and_is_sorted() -> None:
    grid = threshold_grid(0.05, 0.95, 10, include=0.18)
    assert (grid == 0.18).any() and len(grid) == 11
    assert torch.equal(grid, grid.sort().values)


@pytest.mark.parametrize(
    ("start", "stop", "steps"), [(0.5, 0.2, 10), (-0.1, 0.9, 10), (0.1, 0.9, 1)]
)
def test_bad_grids_name_the_option(start: float, stop: float, steps: int) -> None:
    with pytest.raises(InputError, match=r"analysis\.thresholds"):
        threshold_grid(start, stop, steps, include=0.18)


def test_sweep_equals_the_metrics_at_each_threshold(scores) -> None:
    probs, targets = scores
    grid = threshold_grid(0.1, 0.7, 7, include=0.18)
    sweep = f1_by_threshold(probs, targets, grid)
    labels = [str(c) for c in range(targets.shape[1])]
    for i, threshold in enumerate(grid):
        summary = metric_summary(predict_at(probs, threshold), targets, labels)
        assert float(sweep["micro_f1"][i]) == pytest.approx(summary["micro_f1"], abs=1e-4)
        assert float(sweep["macro_f1"][i]) == pytest.approx(summary["macro_f1"], abs=1e-4)
        per_label = torch.tensor(list(summary["per_label_f1"].values()))
        torch.testing.assert_close(sweep["per_label_f1"][i], per_label, atol=1e-4, rtol=0)


def test_global_tuning_takes_the_best_micro_f1_and_never_loses_to_the_fixed(scores) -> None:
    probs, targets = scores
    grid = threshold_grid(0.01, 0.99, 99, include=0.18)
    thresholds = tune_thresholds(f1_by_threshold(probs, targets, grid), grid, "global")
    assert thresholds.shape == (targets.shape[1],) and len(set(thresholds.tolist())) == 1
    tuned = emotion_metrics(predict_at(probs, thresholds), targets)["micro_f1"]
    every = [emotion_metrics(predict_at(probs, t), targets)["micro_f1"] for t in grid]
    assert tuned == pytest.approx(max(every))
    assert tuned >= emotion_metrics(predict_at(probs, 0.18), targets)["micro_f1"]


def test_per_label_tuning_gives_each_label_its_best_f1(scores) -> None:
    probs, targets = scores
    grid = threshold_grid(0.01, 0.99, 99, include=0.18)
    sweep = f1_by_threshold(probs, targets, grid)
    thresholds = tune_thresholds(sweep, grid, "per_label")
    labels = [str(c) for c in range(targets.shape[1])]
    tuned = metric_summary(predict_at(probs, thresholds), targets, labels)["per_label_f1"]
    fixed = metric_summary(predict_at(probs, 0.18), targets, labels)["per_label_f1"]
    best = sweep["per_label_f1"].max(dim=0).values
    for c, label in enumerate(labels):
        assert tuned[label] == pytest.approx(float(best[c]), abs=1e-4)
        assert tuned[label] >= fixed[label] - 1e-4
    assert len(set(thresholds.tolist())) > 1  # the labels do pick different values here


def test_unknown_tuning_mode_is_named() -> None:
    check_threshold_tuning(None)
    with pytest.raises(InputError, match=r"analysis.threshold_tuning=best: expected null or one"):
        check_threshold_tuning("best")


def test_confusion_counts_match_scikit_learn(scores) -> None:
    probs, targets = scores
    preds = predict_at(probs, 0.4)
    counts = confusion_counts(preds, targets)
    reference = multilabel_confusion_matrix(targets.numpy(), preds.numpy())  # [[tn, fp], [fn, tp]]
    expected = [[m[1, 1], m[0, 1], m[1, 0], m[0, 0]] for m in reference]
    assert counts.tolist() == expected
    assert (counts.sum(dim=1) == len(targets)).all()


def test_projection_finds_the_direction_of_largest_variance() -> None:
    generator = torch.Generator().manual_seed(0)
    signal = torch.randn(200, generator=generator)
    direction = torch.nn.functional.normalize(torch.randn(16, generator=generator), dim=0)
    features = 10 * signal[:, None] * direction + 0.1 * torch.randn(200, 16, generator=generator)
    xy = project_2d(features)
    assert xy.shape == (200, 2)
    assert abs(torch.corrcoef(torch.stack([xy[:, 0], signal]))[0, 1]) > 0.99
    assert xy[:, 0].var() > 100 * xy[:, 1].var()


def test_collected_outputs_follow_the_dataset_and_equal_a_forward_pass(tiny_mosei: Path) -> None:
    datamodule = SyntheticDataModule(tiny_mosei, size="tiny")
    datamodule.setup()
    dataset = datamodule.datasets["valid"]
    module = UniVALitModule(**datamodule.data_spec, hidden_size=16, num_heads=2, ffn_size=32)
    module.train()
    datamodule.eval_batch_size = 5  # several batches, trimmed to different lengths
    outputs = collect_outputs(module.model, datamodule, "valid")
    assert module.training  # left as it was found
    assert outputs.utt_ids == datamodule.utt_ids["valid"] and len(outputs.probs) == len(dataset)
    assert torch.equal(outputs.targets, dataset.tensors["labels"].long())
    module.eval()
    with torch.no_grad():
        out = module.model(collate_trimmed([dataset[i] for i in range(len(dataset))]))
    torch.testing.assert_close(outputs.probs, out["probs"], atol=1e-5, rtol=1e-4)
    for modality in module.model.config.modalities:
        assert outputs.features[modality].shape == (len(dataset), 16)
        assert torch.equal(outputs.va[modality], dataset.tensors[f"va_{modality}"].float())
