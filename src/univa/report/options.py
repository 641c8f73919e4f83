"""The `analysis` options of train.yaml, in a module that imports neither torch nor Lightning
(the config schemas of `univa.cli.schemas` are generated from them)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ThresholdGridOptions:
    """`analysis.thresholds`: the candidate thresholds (model.threshold is always one of them)."""

    start: float = 0.01
    stop: float = 0.99
    steps: int = 99


@dataclass
class AnalysisOptions:
    """The `analysis` block of train.yaml: the end-of-run analysis of the best checkpoint.

    `threshold_tuning` chooses the decision threshold on validation instead of the fixed
    model.threshold: null (keep it), global (one value, the best micro-F1) or per_label (each
    label's best F1); results.json then reports both.
    """

    enabled: bool = True
    threshold_tuning: str | None = None
    thresholds: ThresholdGridOptions = field(default_factory=ThresholdGridOptions)
