"""The unimodal valence-arousal scores of the data: where each modality's comes from
(`dataset.va_source`: the dataset's own scores, points derived from the utterance's labels, or
none) and their per-split standardisation (docs/method.md §3.5).

`labels` gives an utterance the mean of its labels' (valence, arousal) points, and an utterance
without any label `NEUTRAL_VA`, the middle of the NRC-VAD scale (the point of "neutral").
`none` leaves the modality's VA out of the batch: its contrastive loss then keeps only the
sample itself (its other view) as positive.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
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


VA_SOURCES: tuple[str, ...] = ("dataset", "labels", "none")
NEUTRAL_VA: tuple[float, float] = (0.5, 0.5)  # an utterance with no label


class NoVAWarning(UserWarning):
    """Modalities trained without VA scores: their contrastive positives are the sample alone."""


def resolve_va_sources(
    va_source: str | Mapping | None,
    modalities: list[str],
    scored: set[str],
    labels_known: bool,
) -> dict[str, str]:
    """The source of each of `modalities`, from `dataset.va_source` (one value, a mapping per
    modality, or None); `scored` are the modalities the data has scores for.

    None (the default), or a modality the mapping leaves out, takes `dataset` where the data
    has scores, else `labels` when every label has a VA point, else `none`.
    """
    if va_source is None or isinstance(va_source, str):
        given = dict.fromkeys(modalities, va_source)
    elif isinstance(va_source, Mapping):
        unknown = sorted(set(va_source) - set(modalities))
        if unknown:
            raise InputError(
                f"dataset.va_source names {unknown}, not modalities of this data {modalities}"
            )
        given = {m: va_source.get(m) for m in modalities}
    else:
        raise InputError(
            f"dataset.va_source must be one of {VA_SOURCES} or a mapping modality -> one of "
            f"them, got {va_source!r}"
        )
    sources = {}
    for modality, source in given.items():
        if source is None:
            source = "dataset" if modality in scored else "labels" if labels_known else "none"
        if source not in VA_SOURCES:
            raise InputError(
                f"dataset.va_source for {modality} must be one of {VA_SOURCES}, got {source!r}"
            )
        if source == "dataset" and modality not in scored:
            raise InputError(
                f"dataset.va_source=dataset: the data has no {modality} VA scores "
                f"({modality}_valence, {modality}_arousal); use dataset.va_source=labels or none"
            )
        sources[modality] = source
    return sources


def labels_va(
    labels: np.ndarray, names: list[str], points: Mapping[str, list[float]]
) -> np.ndarray:
    """(N, 2) VA of each row of the (N, C) 0/1 `labels`: the mean of its labels' points, or
    `NEUTRAL_VA` for a row without labels."""
    missing = [name for name in names if name not in points]
    if missing:
        raise InputError(
            f"dataset.va_source=labels needs a (valence, arousal) point for every label; none "
            f"for {missing}: add 'label_va': {{label: [valence, arousal]}} to the dataset's manifest.json"
        )
    table = np.array([points[name] for name in names], dtype=np.float64)
    counts = labels.sum(axis=1, keepdims=True)
    means = labels.astype(np.float64) @ table / np.maximum(counts, 1)
    means[counts[:, 0] == 0] = NEUTRAL_VA
    return means.astype(np.float32)


def warn_without_va(modalities: list[str], name: str) -> None:
    """The one warning of a run whose modalities `modalities` have no VA (`va_source=none`)."""
    if modalities:
        warnings.warn(
            NoVAWarning(
                f"{name}: no VA for {', '.join(modalities)} (dataset.va_source=none): their "
                "contrastive loss keeps only the sample itself as positive"
            ),
            stacklevel=3,
        )
