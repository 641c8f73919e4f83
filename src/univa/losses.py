"""UniVA's losses (docs/method.md §3): KL classification, label-correlation prior, VA-driven SupCon.

Everything here is loop-free and works on whole batches, so a training step makes no
host-device synchronisation beyond what the caller logs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from univa.constants import Batch, va_key
from univa.distributed import gather_with_local_grad, scale_grad, world_size
from univa.errors import InputError
from univa.model import UniVAOutput
from univa.model.config import LOSS_MODES, LossConfig

KL_SCALE = 1000.0  # the original multiplies the mean KL divergence by 1000


def kl_classification_loss(log_probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """1000 * KL(softmax(y) || p), averaged over all B*C entries.

    That is the original's `KLDivLoss(reduction="mean")`, spelt out because PyTorch plans to
    make "mean" behave like "batchmean".
    """
    target = F.softmax(labels.to(log_probs.dtype), dim=-1)
    return KL_SCALE * F.kl_div(log_probs, target, reduction="sum") / log_probs.numel()


def bce_classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on the logits (the BCE option of the paper's code)."""
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


def label_prior_term(scores: torch.Tensor, similarity: torch.Tensor) -> torch.Tensor:
    """sum_{c,c'} M_cc' * ||s[:, c] - s[:, c']||_2 / B, the norm running over the batch.

    Labels the prior deems similar are pushed towards similar scores across the batch.
    """
    diff = scores.unsqueeze(2) - scores.unsqueeze(1)  # (B, C, C)
    return (torch.linalg.vector_norm(diff, dim=0) * similarity).sum() / scores.shape[0]


def va_positive_mask(va: torch.Tensor, delta: float) -> torch.Tensor:
    """(B, B) bool: j is a VA positive of i when their VA points are closer than `delta`."""
    return torch.cdist(va.float(), va.float()) < delta


def va_supcon_loss(
    features: torch.Tensor,
    va: torch.Tensor | None,
    threshold: float,
    temperature: float,
) -> torch.Tensor:
    """VA-driven supervised contrastive loss of one modality (docs/method.md §3.3), loop-free.

    Two identical views of the batch: anchors are the B rows of view 1, the contrast set is all
    2B rows but the anchor itself. Positives of anchor i: its copy in view 2, and every j != i
    (in both views) whose VA lies within `threshold` of i's. With `va=None` the only positive is
    the anchor's own copy (the "without VA positives" ablation).

    Args:
        features: (B, H) pooled features, not normalised.
        va: (B, 2) standardised (valence, arousal) of the same modality, or None.
        threshold: the VA distance delta (`model.delta`) under which two utterances are
            positives; not the decision threshold. docs/api.md §1.1 pins the name.
        temperature: tau, dividing the dot products.
    """
    batch = features.shape[0]
    eye = torch.eye(batch, dtype=torch.bool, device=features.device)
    similar = eye if va is None else va_positive_mask(va, threshold) | eye
    # Columns [0, B) are view 1, [B, 2B) view 2 (the same features).
    positives = torch.cat([similar & ~eye, similar], dim=1)  # (B, 2B)
    contrast = torch.cat([~eye, torch.ones_like(eye)], dim=1)  # excludes the anchor itself

    logits = (features @ features.T) / temperature  # (B, B); both views share these
    logits = torch.cat([logits, logits], dim=1).masked_fill(~contrast, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    pos_log_prob = log_prob.masked_fill(~positives, 0.0).sum(dim=1)
    return -(pos_log_prob / positives.sum(dim=1)).mean()


def contrastive_loss(
    features: torch.Tensor, va: torch.Tensor | None, config: LossConfig
) -> torch.Tensor:
    """`va_supcon_loss` of one modality, over the global batch when `gather_negatives` is on.

    Gathered, every rank computes the same global loss with gradients only on its own rows;
    DDP averages gradients over the R ranks, so they are scaled by R to equal the gradient of
    the global loss, exactly what one process would get on the concatenated batch.
    """
    replicas = world_size()
    if not config.gather_negatives or replicas == 1:
        return va_supcon_loss(features, va, config.delta, config.temperature)
    features = gather_with_local_grad(features)
    va = None if va is None else gather_with_local_grad(va)
    return scale_grad(va_supcon_loss(features, va, config.delta, config.temperature), replicas)


def classification_loss(
    out: UniVAOutput, labels: torch.Tensor, loss_mode: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """The classification loss of `loss_mode` ("kl" or "bce", the network's `model.loss_mode`)
    and the scores the label prior compares: log-probabilities for KL, probabilities for BCE."""
    if loss_mode == "kl":
        return kl_classification_loss(out["log_probs"], labels), out["log_probs"]
    if loss_mode == "bce":
        return bce_classification_loss(out["logits"], labels), out["probs"]
    raise InputError(f"model.loss_mode must be one of {LOSS_MODES}, got {loss_mode!r}")


def univa_losses(
    out: UniVAOutput,
    batch: Batch,
    config: LossConfig,
    label_similarity: torch.Tensor | None = None,
    *,
    loss_mode: str,
) -> dict[str, torch.Tensor]:
    """`cls`, `prior` (with the label prior), `con`, `con_<modality>` and `total` for one batch.

    `out` is the network's output and `loss_mode` the mode it was built for (its config's
    `loss_mode`). `cls` is the original code's classification loss, the prior term included
    (docs/api.md §1); `prior` shows that term alone. Without the contrastive loss `cls` is the total.
    """
    classification, scores = classification_loss(out, batch["labels"], loss_mode)
    losses = {}
    if label_similarity is not None:
        losses["prior"] = label_prior_term(scores, label_similarity)
        classification = classification + losses["prior"]
    losses["cls"] = classification
    if not config.contrastive:
        losses["total"] = classification
        return losses
    features = out["features"]
    for modality, pooled in features.items():
        # a modality without VA (dataset.va_source=none) has none in the batch
        va = batch.get(va_key(modality)) if config.va_positives else None
        losses[f"con_{modality}"] = contrastive_loss(pooled, va, config)
    losses["con"] = sum(config.contrastive_weights[m] * losses[f"con_{m}"] for m in features) / len(
        features
    )
    losses["total"] = (1 - config.alpha) * classification + config.alpha * losses["con"]
    return losses
