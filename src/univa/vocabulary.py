"""The words every layer shares, each defined once: modalities, splits, the GloVe sentinel, the
benchmarks' label sets and how each test metric is displayed.

It imports nothing from univa, so that any module may use it (the plain network included)
without pulling in another layer; tests/test_import_graph.py keeps it that way.
"""

from __future__ import annotations

MODALITIES: tuple[str, ...] = ("text", "audio", "vision")
SPLITS: tuple[str, ...] = ("train", "valid", "test")  # the released layout's file suffixes

RESULTS_FILE = "results.json"  # a run's metrics (SPEC section 9), read by aggregate and predict
GLOVE = "glove"  # `text_encoder` value for the released GloVe text features; others name a PLM

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
