"""Per-split standardisation of the unimodal valence-arousal scores (SPEC section 3)."""

from __future__ import annotations

from typing import Literal

import torch

from univa.errors import InputError

VANorm = Literal["reference", "per_dim", "none"]
VA_NORMS: tuple[str, ...] = ("reference", "per_dim", "none")


def normalize_va(values: torch.Tensor, mode: VANorm = "reference") -> torch.Tensor:
    """Standardise (N, 2) VA scores over one split.

    `reference` reproduces the original code, which standardises BOTH columns with the mean and
    the sample std of the valence column; `per_dim` uses each column's own statistics; `none`
    returns the values unchanged. The contrastive loss's distance threshold is set for the
    reference scaling, so that stays the default.
    """
    values = torch.as_tensor(values, dtype=torch.float32)
    if mode == "none":
        return values.clone()
    if mode == "reference":
        return (values - values[:, 0].mean()) / values[:, 0].std()
    if mode == "per_dim":
        return (values - values.mean(dim=0)) / values.std(dim=0)
    raise InputError(f"va_norm must be one of {VA_NORMS}, got {mode!r}")
