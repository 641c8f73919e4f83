"""Per-split standardisation of the unimodal valence-arousal scores (docs/method.md §3.5)."""

from __future__ import annotations

import warnings

import torch

from univa.constants import VA_NORMS
from univa.data.options import VANorm
from univa.errors import InputError

_COLUMNS = ("valence", "arousal")
RELATIVE_ROUNDING = 1e-6  # a column spread no wider than this (relative) is float32 rounding


class DegenerateVAWarning(UserWarning):
    """VA scores without spread: standardised to 0 instead of 0/0 = NaN."""


def _without_spread(values: torch.Tensor, column: int, name: str) -> bool:
    """Whether a column of scores has no spread (every value equal, or one utterance, whose
    sample std is undefined), warning that it standardises to 0.

    Such a column is centred on its first value and scaled by 1, so it becomes 0: those
    utterances are VA positives of each other, where 0/0 = NaN would silently make them
    nobody's positive. Equal up to float32 rounding (a relative 1e-6), not std == 0: scores
    that differ by a rounding error have a std of that size, and dividing by it would blow
    them up to millions.
    """
    scores = values[:, column]
    spread = float(scores.max() - scores.min())
    if spread > RELATIVE_ROUNDING * max(1.0, float(scores.abs().max())):
        return False
    what = _COLUMNS[column]
    reason = (
        f"one utterance, so the sample std of its {what} is undefined"
        if len(scores) == 1
        else f"every {what} is {float(scores[0]):g} (up to float32 rounding), so it has no spread"
    )
    warnings.warn(
        DegenerateVAWarning(
            f"{name}: {reason}: the standardised {what} is 0 (equal scores are VA positives "
            "of each other), not NaN"
        ),
        stacklevel=3,
    )
    return True


def normalize_va(
    values: torch.Tensor, mode: VANorm = "reference", name: str = "VA scores"
) -> torch.Tensor:
    """Standardise (N, 2) VA scores over one split (`name` says which, for warnings).

    `reference` reproduces the original code, which standardises BOTH columns with the mean and
    the sample std of the valence column; `per_dim` uses each column's own statistics; `none`
    returns the values unchanged. The contrastive loss's distance threshold is set for the
    reference scaling, so that stays the default. A column without spread standardises to 0,
    with a `DegenerateVAWarning` (in `reference` mode the arousal is then only centred).
    """
    if mode not in VA_NORMS:
        raise InputError(f"va_norm must be one of {VA_NORMS}, got {mode!r}")
    values = torch.as_tensor(values, dtype=torch.float32)
    if mode == "none" or len(values) == 0:
        return values.clone()
    if mode == "reference":
        valence = values[:, 0]
        if _without_spread(values, 0, name):
            return values - valence[0]
        return (values - valence.mean()) / valence.std()
    flat = [column for column in range(2) if _without_spread(values, column, name)]
    mean, std = values.mean(dim=0), values.std(dim=0)
    mean[flat], std[flat] = values[0, flat], 1.0
    return (values - mean) / std
