"""Refusals of NaN and infinite numbers where they would pass for results.

A NaN weight makes every probability NaN, and a NaN probability compares false with any
threshold: predictions of all 0 and a miF1 of 0.0, which look like a (bad) result rather than
a damaged file. univa refuses such weights when it loads them, naming the tensor, and never
writes a non-finite probability as a prediction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from univa.errors import InputError

SHOWN = 3  # names quoted in a message


def _shown(names: Sequence[str]) -> str:
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def refuse_non_finite_weights(tensors: Mapping[str, torch.Tensor], path: Path) -> None:
    """Raise `InputError` naming the floating-point tensors of `path` that hold NaN or inf."""
    bad = [
        name
        for name, tensor in tensors.items()
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]
    if bad:
        raise InputError(
            f"{path}: tensor {_shown(bad)} holds NaN or infinite values; the weights are damaged"
        )


def refuse_non_finite_probabilities(probs: torch.Tensor, utt_ids: Sequence[str]) -> None:
    """Raise `InputError` when a row of `probs` (N, C) is not finite, naming its utterances."""
    rows = torch.nonzero(~torch.isfinite(probs).all(dim=1)).flatten().tolist()
    if rows:
        raise InputError(
            f"the network gave NaN or infinite probabilities for {len(rows)} utterance(s) "
            f"({_shown([utt_ids[row] for row in rows])}); no prediction written"
        )
