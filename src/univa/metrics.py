"""Multi-label emotion metrics of the paper (docs/method.md §6.4), on torchmetrics.

torchmetrics keeps the per-rank states and synchronises them under DDP, so the numbers count
every utterance once however many processes evaluate.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import MultilabelF1Score, MultilabelHammingDistance

PERCENT_METRICS = ("acc", "micro_f1", "macro_f1")


class MultilabelSampleAccuracy(Metric):
    """Mean over utterances of |y AND yhat| / |y OR yhat|; an empty union scores 0.

    This is the "Acc" of the MMER literature (a Jaccard index per sample). The original code
    counts an utterance with no true and no predicted label as 0, not 1, and so does this.
    """

    full_state_update = False
    higher_is_better = True
    is_differentiable = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state(
            "score_sum", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum"
        )
        self.add_state("num_samples", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        preds, target = preds.bool(), target.bool()
        intersection = (preds & target).sum(dim=1)
        union = (preds | target).sum(dim=1)
        self.score_sum += (intersection / union.clamp(min=1)).sum(dtype=torch.float64)
        self.num_samples += target.shape[0]

    def compute(self) -> torch.Tensor:
        return (self.score_sum / self.num_samples).float()


class NumSamples(Metric):
    """How many utterances were scored, summed over ranks: proof that each counted once."""

    full_state_update = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state("count", default=torch.tensor(0), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        self.count += target.shape[0]

    def compute(self) -> torch.Tensor:
        return self.count


class EmotionMetrics(MetricCollection):
    """Acc, Hamming loss, micro/macro F1, per-label F1 and the sample count of 0/1 predictions (B, C)."""

    def __init__(self, num_labels: int, prefix: str | None = None) -> None:
        super().__init__(
            {
                "acc": MultilabelSampleAccuracy(),
                "hl": MultilabelHammingDistance(num_labels, average="micro"),
                "micro_f1": MultilabelF1Score(num_labels, average="micro", zero_division=0),
                "macro_f1": MultilabelF1Score(num_labels, average="macro", zero_division=0),
                "per_label_f1": MultilabelF1Score(num_labels, average="none", zero_division=0),
                "num_samples": NumSamples(),
            },
            prefix=prefix,
        )


def summarize(computed: dict[str, torch.Tensor], labels: list[str], prefix: str = "") -> dict:
    """Turn `EmotionMetrics.compute()` into plain floats in the paper's units.

    Acc and F1 in percent, HL as a fraction, `num_samples` an int; `per_label_f1` becomes
    {label: percent}.
    """
    summary: dict = {}
    for key, value in computed.items():
        name = key.removeprefix(prefix)
        scale = 100.0 if name in PERCENT_METRICS or name == "per_label_f1" else 1.0
        if name == "num_samples":
            summary[name] = int(value)
        elif name == "per_label_f1":
            summary[name] = {
                label: float(f1) * scale for label, f1 in zip(labels, value, strict=True)
            }
        else:
            summary[name] = float(value) * scale
    return summary


def metric_summary(preds: torch.Tensor, target: torch.Tensor, labels: list[str]) -> dict:
    """The full `summarize` dict (as in results.json) of 0/1 predictions against targets (B, C)."""
    if preds.shape != target.shape or preds.dim() != 2:
        raise ValueError(
            f"preds and target must both be (B, C); got {tuple(preds.shape)} and {tuple(target.shape)}"
        )
    metrics = EmotionMetrics(target.shape[1]).to(preds.device)
    return summarize(metrics(preds.long(), target.long()), labels)


def emotion_metrics(preds: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """`acc`, `hl`, `micro_f1`, `macro_f1` of 0/1 predictions against multi-hot targets (B, C)."""
    labels = [str(c) for c in range(target.shape[-1])]
    summary = metric_summary(preds, target, labels)
    return {key: summary[key] for key in ("acc", "hl", "micro_f1", "macro_f1")}


def best_constant_micro_f1(target: torch.Tensor) -> float:
    """Micro-F1 (percent) of the best prediction that ignores the input: one fixed label set.

    Tries all 2^C label sets, so a model's micro-F1 can be read against the trivial baseline of
    the same split (a model that only learnt label frequencies lands here).
    """
    target = target.long()
    num_labels = target.shape[1]
    codes = torch.arange(1, 2**num_labels)
    candidates = (codes[:, None] >> torch.arange(num_labels)) & 1  # (2^C - 1, C)
    true_positives = candidates @ target.sum(dim=0)  # per candidate
    predicted = candidates.sum(dim=1) * target.shape[0]
    f1 = 2 * true_positives / (predicted + target.sum())
    return float(f1.max()) * 100.0
