"""The decision thresholds a run reports its test metrics at, and the check that they decide.

The paper's fixed `model.threshold` (0.18) was chosen for six-label MOSEI; on a dataset with
fewer labels it switches nearly every label on. A run therefore decides at thresholds tuned on
validation when `analysis.threshold_tuning` (or, by default, the dataset's record) asks for
them, reports its headline test metrics at those, and says which in results.json. Whatever it
decides at, a run whose test predictions barely beat a constant answer ends with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from omegaconf import DictConfig

from univa.constants import metric_name
from univa.data.datamodule import UniVADataModule
from univa.errors import InputError
from univa.metrics import metric_summary
from univa.report.analysis import (
    THRESHOLD_TUNINGS,
    SplitOutputs,
    f1_by_threshold,
    predict_at,
    threshold_grid,
    tune_thresholds,
)
from univa.report.options import FIXED_THRESHOLDS, TUNING_FROM_DATASET

# test predictions are degenerate below this many micro-F1 points above the best constant
# prediction, or when one label is predicted for at least this share of the utterances
MIN_MARGIN_OVER_CONSTANT = 5.0
MAX_LABEL_SHARE = 0.95


def check_tuning_option(option: str | None) -> None:
    """`analysis.threshold_tuning` is null, `dataset` or one of `THRESHOLD_TUNINGS`."""
    if option is not None and option not in (TUNING_FROM_DATASET, *THRESHOLD_TUNINGS):
        raise InputError(
            f"analysis.threshold_tuning={option}: expected null, {TUNING_FROM_DATASET} or one "
            f"of {THRESHOLD_TUNINGS}"
        )


def tuning_mode(option: str | None, datamodule: UniVADataModule) -> str | None:
    """The tuning the run does: the option's, or the dataset's when the option says so."""
    check_tuning_option(option)
    return datamodule.threshold_tuning if option == TUNING_FROM_DATASET else option


@dataclass
class Decisions:
    """The thresholds (C,) the run decides at, the validation sweep they were chosen from, and
    `tuned`, the results.json entry of tuned thresholds (None when the fixed one decides)."""

    labels: list[str]
    fixed: float
    thresholds: torch.Tensor
    grid: torch.Tensor
    val_sweep: dict[str, torch.Tensor]
    tuned: dict | None


def threshold_record(labels: list[str], thresholds: torch.Tensor, mode: str | None) -> dict:
    """results.json's `thresholds` of a split: {"mode": fixed | global | per_label, "values":
    {label: threshold}}, `mode` None when model.threshold decided."""
    values = {label: float(t) for label, t in zip(labels, thresholds, strict=True)}
    return {"mode": mode or FIXED_THRESHOLDS, "values": values}


def decide(
    val: SplitOutputs,
    test: SplitOutputs | None,
    labels: list[str],
    fixed: float,
    options: DictConfig,
    mode: str | None,
) -> Decisions:
    """Sweep `options.thresholds` on validation and, with `mode`, tune the thresholds there and
    score validation and test at them."""
    grid = threshold_grid(**options.thresholds, include=fixed)
    sweep = f1_by_threshold(val.probs, val.targets, grid)
    thresholds = torch.full((len(labels),), fixed, dtype=torch.float64)
    tuned = None
    if mode:
        thresholds = tune_thresholds(sweep, grid, mode)
        tuned = {
            "mode": mode,
            "thresholds": {label: float(t) for label, t in zip(labels, thresholds, strict=True)},
        }
        for key, split in (("val", val), ("test", test)):
            if split is not None:
                tuned[key] = metric_summary(
                    predict_at(split.probs, thresholds), split.targets, labels
                )
    return Decisions(labels, fixed, thresholds, grid, sweep, tuned)


def degenerate_warning(
    test: dict, preds: torch.Tensor, labels: list[str], tuned: bool
) -> str | None:
    """One line when the test predictions `preds` (N, C) barely beat a constant answer (`test`:
    results.json's test entry) or predict one label almost always; None when they do not."""
    constant = test["best_constant_micro_f1"]
    share = preds.double().mean(dim=0)
    most = int(torch.argmax(share))
    found = []
    if test["micro_f1"] < constant + MIN_MARGIN_OVER_CONSTANT:
        found.append(
            f"test {metric_name('micro_f1')} {test['micro_f1']:.2f} is less than {MIN_MARGIN_OVER_CONSTANT:g} points "
            f"above the best constant prediction's {constant:.2f}"
        )
    if float(share[most]) >= MAX_LABEL_SHARE:
        found.append(f"'{labels[most]}' is predicted for {float(share[most]):.0%} of utterances")
    if not found:
        return None
    remedy = "training longer (trainer.max_epochs) or on more data"
    if not tuned:
        remedy = f"thresholds tuned on validation (analysis.threshold_tuning=per_label), {remedy}"
    return f"warning: degenerate test predictions: {'; '.join(found)}. Try {remedy}."
