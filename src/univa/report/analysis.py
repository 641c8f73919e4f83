"""The end-of-run analysis of the best checkpoint, written into `<run>/analysis/`.

From one pass over validation and test it writes the figures (per-label F1, the threshold
sweep on validation, each modality's pooled features in 2-D coloured by VA) as PNG, the test
predictions and per-label confusion counts as CSV, and, when `analysis.threshold_tuning` is
set, the thresholds chosen on validation (`univa.report.threshold_tuning`). CSV-only runs get all
of it; W&B and TensorBoard receive the same figures and tables (`univa.report.tracking`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import torch
from matplotlib.figure import Figure

from univa.files import write_csv
from univa.report.figures import (
    feature_projection_figure,
    per_label_f1_figure,
    save_figures,
    threshold_sweep_figure,
)
from univa.report.outputs import SplitOutputs, confusion_counts
from univa.report.results import reported_metrics
from univa.report.threshold_tuning import Decisions

CONFUSION_COLUMNS = ("tp", "fp", "fn", "tn")


@dataclass
class RunAnalysis:
    """What the analysis found: the run's `decisions` (its thresholds and validation sweep) and
    the test outputs, if tested."""

    decisions: Decisions
    test: SplitOutputs | None
    figures: dict[str, Figure] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)

    def label_names(self, row: torch.Tensor) -> str:
        """The labels a 0/1 row (C,) switches on, space-separated."""
        labels = self.decisions.thresholds.values
        return " ".join(label for label, on in zip(labels, row.tolist(), strict=True) if on)

    @cached_property
    def test_preds(self) -> torch.Tensor:
        """(N, C) 0/1 test predictions at the run's thresholds."""
        assert self.test is not None
        return self.decisions.thresholds.apply(self.test.probs)

    def predictions_rows(self) -> list[list]:
        """utt_id, true labels, predicted labels, then one probability per label."""
        assert self.test is not None
        return [
            [
                utt_id,
                self.label_names(target),
                self.label_names(pred),
                *(round(p, 6) for p in prob.tolist()),
            ]
            for utt_id, target, pred, prob in zip(
                self.test.utt_ids, self.test.targets, self.test_preds, self.test.probs, strict=True
            )
        ]

    def predictions_header(self) -> list[str]:
        labels = self.decisions.thresholds.values
        return ["utt_id", "true", "predicted", *(f"prob_{label}" for label in labels)]

    def confusion_rows(self) -> list[list]:
        """label, tp, fp, fn, tn on test at the run's thresholds."""
        assert self.test is not None
        counts = confusion_counts(self.test_preds, self.test.targets)
        labels = self.decisions.thresholds.values
        return [[label, *map(int, row)] for label, row in zip(labels, counts, strict=True)]

    def sweep_rows(self) -> list[list]:
        """threshold, micro_f1, macro_f1 on validation."""
        grid, sweep = self.decisions.grid, self.decisions.val_sweep
        return [
            [round(float(t), 4), round(float(mi), 4), round(float(ma), 4)]
            for t, mi, ma in zip(grid, sweep["micro_f1"], sweep["macro_f1"], strict=True)
        ]


def analyse_run(
    val: SplitOutputs,
    test: SplitOutputs | None,
    decisions: Decisions,
    results: dict,
    output_dir: Path,
) -> RunAnalysis:
    """Analyse the best checkpoint's outputs on validation and, if tested, on test, at the
    thresholds the run decided at (`univa.report.threshold_tuning`)."""
    analysis = RunAnalysis(decisions, test)
    tuned = decisions.thresholds.tensor() if decisions.thresholds.is_tuned else None
    per_label = {name: m["per_label_f1"] for name, m in reported_metrics(results).items()}
    analysis.figures = {
        "per_label_f1": per_label_f1_figure(per_label),
        "threshold_sweep": threshold_sweep_figure(
            decisions.grid, decisions.val_sweep, decisions.fixed, tuned
        ),
    }
    projected = test or val
    if projected.va:  # not when no modality has VA (dataset.va_source=none)
        title = "test" if test else "valid"
        analysis.figures["feature_projection"] = feature_projection_figure(projected, title)
    folder = output_dir / "analysis"
    analysis.files = save_figures(analysis.figures, folder)
    tables = {"threshold_sweep_val": (["threshold", "micro_f1", "macro_f1"], analysis.sweep_rows())}
    if test is not None:
        tables["predictions_test"] = (analysis.predictions_header(), analysis.predictions_rows())
        tables["confusion_test"] = (["label", *CONFUSION_COLUMNS], analysis.confusion_rows())
    for name, (header, rows) in tables.items():
        analysis.files[name] = folder / f"{name}.csv"
        write_csv(analysis.files[name], header, rows, replace=True)
    return analysis
