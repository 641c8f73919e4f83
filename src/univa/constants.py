"""The constants every layer shares, each defined once: modalities, splits, the GloVe sentinel,
the benchmarks' label sets, how each test metric is displayed, and the keys of a batch.

It imports nothing from univa, so that any module may use it (the plain network included)
without pulling in another layer; tests/test_import_graph.py keeps it that way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:  # annotations only: importable without torch
    from torch import Tensor

MODALITIES: tuple[str, ...] = ("text", "audio", "vision")
SPLITS: tuple[str, ...] = ("train", "valid", "test")  # the released layout's file suffixes

RESULTS_FILE = "results.json"  # a run's metrics (docs/run-folder.md §2), read by aggregate, predict
GLOVE = "glove"  # `text_encoder` value for the released GloVe text features; others name a PLM
# how VA scores are normalised (`dataset.va_norm`)
VA_NORMS: tuple[str, ...] = ("reference", "per_dim", "none")
# a modality's optional provenance (a manifest's `features`): what computed its features
PROVENANCE_KEYS: tuple[str, ...] = (
    "extractor",
    "version",
    "feature_set",
    "level",
    "sample_rate",
    "frame_step",
    "notes",
)

# label sets of the two benchmarks, in the column order of their `labels_class` arrays
MOSEI_LABELS: list[str] = ["happy", "sad", "anger", "surprise", "disgust", "fear"]
M3ED_LABELS: list[str] = ["Happy", "Surprise", "Sad", "Disgust", "Anger", "Fear", "Neutral"]

# results.json metric key -> (display name, decimals): Acc and F1 are percentages, HL a fraction
METRIC_FORMATS: dict[str, tuple[str, int]] = {
    "acc": ("Acc", 2),
    "hl": ("HL", 3),
    "micro_f1": ("miF1", 2),
    "macro_f1": ("maF1", 2),
}


def is_glove(text_encoder: str) -> bool:
    """Whether `text_encoder` selects the released GloVe features rather than a PLM."""
    return text_encoder == GLOVE


def metric_name(key: str) -> str:
    """The display name of the metric stored under `key` (e.g. `micro_f1` -> `miF1`)."""
    return METRIC_FORMATS[key][0]


def format_metric(key: str, value: float) -> str:
    """`value` of the metric `key` with that metric's decimals, the same in every table."""
    return f"{value:.{METRIC_FORMATS[key][1]}f}"


def mask_key(modality: str) -> str:
    """The batch key of `modality`'s 0/1 mask of real steps (the PLM's attention mask for text)."""
    return f"{modality}_mask"


def va_key(modality: str) -> str:
    """The batch key of `modality`'s standardised (valence, arousal), shape (B, 2)."""
    return f"va_{modality}"


class _LabelledBatch(TypedDict):
    labels: Tensor  # (B, C) multi-hot gold labels


class Batch(_LabelledBatch, total=False):
    """What a data loader yields and the network and losses read (docs/api.md §1.2).

    Each modality the data holds as features has `<m>` (B, L, D) and `<m>_mask` (B, L); with a
    PLM text encoder, text comes as the dialogue's token ids with its attention mask and the
    mask of the target utterance's tokens instead. Every modality has its VA, `va_<m>`.
    """

    text: Tensor
    text_mask: Tensor
    audio: Tensor
    audio_mask: Tensor
    vision: Tensor
    vision_mask: Tensor
    text_ids: Tensor  # (B, S) the dialogue's token ids (PLM path)
    text_utt_mask: Tensor  # (B, S) 1 on the target utterance's tokens (PLM path)
    dialogue_rows: Tensor  # (D,) rows whose dialogue goes through the PLM, one per dialogue
    row_dialogue: Tensor  # (B,) which of those D passes each row reads (shared PLM passes)
    va_text: Tensor
    va_audio: Tensor
    va_vision: Tensor
