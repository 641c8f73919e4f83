"""The `analysis` options of train.yaml, each default defined here once; light (no torch, no
Lightning): `AnalysisOptions` is the `analysis` config's schema (`univa.conf`)."""

from __future__ import annotations

from dataclasses import dataclass, field

# analysis.threshold_tuning's default: what the dataset's record calls for
# (univa.data.records: per_label for a folder dataset or the generic flavour, null for MOSEI/M3ED)
TUNING_FROM_DATASET = "dataset"


@dataclass
class ThresholdGridOptions:
    """`analysis.thresholds`: the candidate thresholds (model.threshold is always one of them)."""

    start: float = 0.01
    stop: float = 0.99
    steps: int = 99


@dataclass
class AnalysisOptions:
    """The `analysis` block of train.yaml: the end-of-run analysis of the best checkpoint.

    `threshold_tuning` chooses the decision thresholds on validation instead of the fixed
    model.threshold: null (keep it), global (one value, the best micro-F1), per_label (each
    label's best F1) or dataset (the dataset's choice: the paper's benchmarks keep the fixed
    threshold, other data tunes per label). Tuned thresholds decide the run's test metrics,
    also with `enabled=false` (which only skips figures and tables).
    """

    enabled: bool = True
    threshold_tuning: str | None = TUNING_FROM_DATASET
    thresholds: ThresholdGridOptions = field(default_factory=ThresholdGridOptions)
