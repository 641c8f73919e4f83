"""What a trained model does on a split: outputs per utterance, threshold sweeps, confusion counts.

The numbers behind the run's figures, W&B tables and the tuned-threshold metrics of
results.json. Everything here works on whole splits held in memory (MOSEI's test split is
4.6k utterances), in one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from lightning.fabric.utilities.apply_func import move_data_to_device
from torchmetrics.functional.classification import multilabel_confusion_matrix, multilabel_f1_score

from univa.constants import va_key
from univa.data.datamodule import UniVADataModule
from univa.errors import InputError
from univa.metrics import predict_at as predict_at  # its home before
from univa.model import UniVA
from univa.report.options import AnalysisOptions as AnalysisOptions  # its home before
from univa.report.options import ThresholdGridOptions as ThresholdGridOptions

ThresholdTuning = Literal["global", "per_label"]
THRESHOLD_TUNINGS: tuple[str, ...] = ("global", "per_label")


@dataclass
class SplitOutputs:
    """The model's view of every utterance of a split, in the dataset's row order."""

    utt_ids: list[str]
    probs: torch.Tensor  # (N, C) label probabilities
    targets: torch.Tensor  # (N, C) multi-hot gold labels
    features: dict[str, torch.Tensor]  # modality -> (N, H) pooled representation
    va: dict[str, torch.Tensor]  # modality -> (N, 2) normalised valence, arousal


@torch.no_grad()
def collect_outputs(model: UniVA, datamodule: UniVADataModule, split: str) -> SplitOutputs:
    """Run `model` (in eval mode, on its own device) over every row of `split`; results on CPU.

    Outputs stay on the device until the split is done: one copy to the host, not one per batch.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    batches = []
    try:
        for batch in datamodule.split_loader(split):
            batch = move_data_to_device(batch, device)
            out = model(batch)
            batches.append(
                {"probs": out["probs"], "targets": batch["labels"]}
                | {f"features_{m}": out["features"][m] for m in model.config.modalities}
                | {
                    f"va_{m}": batch[va_key(m)]
                    for m in model.config.modalities
                    if va_key(m) in batch
                }
            )
    finally:
        model.train(was_training)
    gathered = {key: torch.cat([b[key] for b in batches]).float().cpu() for key in batches[0]}
    return SplitOutputs(
        utt_ids=datamodule.split_utt_ids(split),
        probs=gathered["probs"],
        targets=gathered["targets"].long(),
        features={m: gathered[f"features_{m}"] for m in model.config.modalities},
        va={m: gathered[f"va_{m}"] for m in model.config.modalities if f"va_{m}" in gathered},
    )


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


def confusion_counts(preds: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(C, 4) counts per label: true positives, false positives, false negatives, true negatives."""
    matrices = multilabel_confusion_matrix(preds, targets, targets.shape[1])  # (C, 2, 2)
    (tn, fp), (fn, tp) = matrices[:, 0].T, matrices[:, 1].T
    return torch.stack([tp, fp, fn, tn], dim=1)


def project_2d(features: torch.Tensor) -> torch.Tensor:
    """The first two principal components (N, 2) of pooled features (N, H)."""
    centred = features - features.mean(dim=0)
    _, _, components = torch.pca_lowrank(centred, q=2, center=False)
    return centred @ components[:, :2]
