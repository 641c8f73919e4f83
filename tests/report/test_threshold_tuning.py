"""Which thresholds a run decides at, and the warning for degenerate test predictions."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from univa.data import MoseiDataModule, SyntheticDataModule
from univa.data.generic.datamodule import FolderDataModule
from univa.errors import InputError
from univa.report.options import AnalysisOptions
from univa.report.threshold_tuning import degenerate_warning, tuning_mode

LABELS = ["joy", "anger", "sadness", "neutral"]


@pytest.mark.parametrize(
    ("datamodule", "expected"),
    [
        (lambda d: MoseiDataModule(d), None),  # the paper's fixed threshold (docs/method.md §7)
        (lambda d: SyntheticDataModule(d), None),  # the mosei flavour: the default run
        (lambda d: SyntheticDataModule(d, flavor="m3ed"), None),
        (lambda d: SyntheticDataModule(d, flavor="generic"), "per_label"),
        (lambda d: FolderDataModule(d), "per_label"),
    ],
    ids=["mosei", "synthetic mosei", "synthetic m3ed", "synthetic generic", "folder"],
)
def test_by_default_the_dataset_says_whether_thresholds_are_tuned(
    datamodule, expected: str | None, tmp_path: Path
) -> None:
    default = AnalysisOptions().threshold_tuning
    assert tuning_mode(default, datamodule(tmp_path)) == expected


def test_an_explicit_tuning_wins_over_the_datasets() -> None:
    generic, mosei = SyntheticDataModule("g", flavor="generic"), MoseiDataModule("m")
    assert tuning_mode(None, generic) is None
    assert tuning_mode("global", mosei) == "global"
    with pytest.raises(InputError, match=r"threshold_tuning=best: expected null, dataset or"):
        tuning_mode("best", mosei)


def predictions(share_of_joy: float, n: int = 100) -> torch.Tensor:
    preds = torch.zeros(n, len(LABELS), dtype=torch.long)
    preds[: round(share_of_joy * n), 0] = 1
    preds[torch.arange(n), 1 + torch.arange(n) % 3] = 1
    return preds


def test_predictions_close_to_the_best_constant_are_degenerate() -> None:
    test = {"micro_f1": 49.6, "best_constant_micro_f1": 45.3}
    warning = degenerate_warning(test, predictions(0.5), LABELS, tuned=False)
    assert warning is not None and "\n" not in warning
    assert "miF1 49.60 is less than 5 points above the best constant prediction's 45.30" in warning
    assert "analysis.threshold_tuning=per_label" in warning and "trainer.max_epochs" in warning
    tuned = degenerate_warning(test, predictions(0.5), LABELS, tuned=True)
    assert "threshold_tuning" not in tuned and "trainer.max_epochs" in tuned


def test_one_label_predicted_for_95_percent_of_utterances_is_degenerate() -> None:
    test = {"micro_f1": 80.0, "best_constant_micro_f1": 45.3}
    assert degenerate_warning(test, predictions(0.94), LABELS, tuned=True) is None
    warning = degenerate_warning(test, predictions(0.95), LABELS, tuned=True)
    assert "'joy' is predicted for 95% of utterances" in warning
    assert "best constant" not in warning  # 80 is far above it
