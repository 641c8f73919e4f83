"""Where each modality's (valence, arousal) comes from (`dataset.va_source`): the dataset's own
scores, points derived from the utterance's labels, or none.

`labels` gives an utterance the mean of its labels' (valence, arousal) points, and an utterance
without any label `NEUTRAL_VA`, the middle of the NRC-VAD scale (the point of "neutral").
`none` leaves the modality's VA out of the batch: its contrastive loss then keeps only the
sample itself (its other view) as positive.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from univa.errors import InputError

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
