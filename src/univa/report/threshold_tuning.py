"""The decision thresholds a run reports its test metrics at, tuned on validation when asked,
and the check that they decide.

The paper's fixed `model.threshold` (0.18) was chosen for six-label MOSEI; on a dataset with
fewer labels it switches nearly every label on. A run therefore decides at thresholds tuned on
validation when `analysis.threshold_tuning` (or, by default, the dataset's record) asks for
them: one global value (the best micro-F1) or one per label (each label's best F1), chosen from
a sweep of candidate thresholds. It reports its headline test metrics at those and says which
in results.json. Whatever it decides at, a run whose test predictions barely beat a constant
answer ends with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from omegaconf import DictConfig
from torchmetrics.functional.classification import multilabel_f1_score

from univa.constants import metric_name
from univa.data.datamodule import UniVADataModule
from univa.errors import InputError
from univa.metrics import metric_summary
from univa.model.thresholds import Thresholds, predict_at
from univa.report.options import TUNING_FROM_DATASET
from univa.report.outputs import SplitOutputs

ThresholdTuning = Literal["global", "per_label"]
THRESHOLD_TUNINGS: tuple[str, ...] = ("global", "per_label")
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


def threshold_grid(start: float, stop: float, steps: int, include: float) -> torch.Tensor:
    """`steps` evenly spaced thresholds plus `include` (the fixed one), sorted and unique.

    With the fixed threshold on the grid, the tuned choice can never score below it on the
    split it was chosen on.
    """
    if not 0.0 <= start < stop <= 1.0 or steps < 2:
        raise InputError(
            f"analysis.thresholds must satisfy 0 <= start < stop <= 1 and steps >= 2; got "
            f"start={start}, stop={stop}, steps={steps}"
        )
    grid = torch.linspace(start, stop, steps, dtype=torch.float64)
    return torch.unique(torch.cat([grid, torch.tensor([include], dtype=torch.float64)]))


def f1_by_threshold(
    probs: torch.Tensor, targets: torch.Tensor, thresholds: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Micro-F1 and macro-F1 (T,) and per-label F1 (T, C), in percent, at each threshold."""
    num_labels = targets.shape[1]
    per_label, micro = [], []
    for threshold in thresholds:
        preds = predict_at(probs, threshold)
        f1 = multilabel_f1_score  # zero_division=0: a label never predicted nor present scores 0
        per_label.append(f1(preds, targets, num_labels, average="none", zero_division=0))
        micro.append(f1(preds, targets, num_labels, average="micro", zero_division=0))
    per_label_f1 = torch.stack(per_label) * 100
    return {
        "micro_f1": torch.stack(micro) * 100,
        "macro_f1": per_label_f1.mean(dim=1),
        "per_label_f1": per_label_f1,
    }


def tune_thresholds(
    sweep: dict[str, torch.Tensor], thresholds: torch.Tensor, mode: ThresholdTuning
) -> torch.Tensor:
    """Per-label thresholds (C,) chosen on the swept split.

    `global`: the one value with the best micro-F1 (the paper's model-selection metric);
    `per_label`: each label's own best F1 (which maximises macro-F1). Ties go to the lowest
    threshold.
    """
    check_threshold_tuning(mode)
    if mode == "global":
        num_labels = sweep["per_label_f1"].shape[1]
        return thresholds[int(torch.argmax(sweep["micro_f1"]))].repeat(num_labels)
    return thresholds[torch.argmax(sweep["per_label_f1"], dim=0)]


def check_threshold_tuning(mode: str | None) -> None:
    """`mode` is null (keep the fixed threshold) or one of `THRESHOLD_TUNINGS`."""
    if mode is not None and mode not in THRESHOLD_TUNINGS:
        raise InputError(
            f"analysis.threshold_tuning={mode}: expected null or one of {THRESHOLD_TUNINGS}"
        )


@dataclass
class Decisions:
    """The thresholds the run decides at, the fixed one, the validation sweep they were chosen
    from, and `tuned`, the results.json entry of tuned thresholds (None when the fixed one
    decides)."""

    thresholds: Thresholds
    fixed: float
    grid: torch.Tensor
    val_sweep: dict[str, torch.Tensor]
    tuned: dict | None


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
    if not mode:
        return Decisions(Thresholds.fixed(labels, fixed), fixed, grid, sweep, None)
    chosen = dict(zip(labels, tune_thresholds(sweep, grid, mode).tolist(), strict=True))
    thresholds = Thresholds.tuned(labels, chosen, mode, "this run")
    tuned = {"mode": mode, "thresholds": dict(thresholds.values)}
    for key, split in (("val", val), ("test", test)):
        if split is not None:
            tuned[key] = metric_summary(thresholds.apply(split.probs), split.targets, labels)
    return Decisions(thresholds, fixed, grid, sweep, tuned)


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
