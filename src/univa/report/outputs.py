"""What a trained model outputs on a whole split: probabilities, targets, pooled features and VA
per utterance, in the dataset's row order; and the counts and projections drawn from them.

Everything here works on whole splits held in memory (MOSEI's test split is 4.6k utterances), in
one process.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from lightning.fabric.utilities.apply_func import move_data_to_device
from torchmetrics.functional.classification import multilabel_confusion_matrix

from univa.constants import va_key
from univa.data.datamodule import UniVADataModule
from univa.model import UniVA


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
