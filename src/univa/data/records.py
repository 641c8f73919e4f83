"""Data records of the known datasets: what tells MOSEI, M3ED and the generic synthetic data apart.

Code reads a dataset's facts from its record (labels, their VA points, which released file
holds the utterance texts and in what order) instead of checking its name, so a benchmark is
one instance of the same thing as any other dataset, and the converter writes the same facts
into a generic folder's manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from univa.constants import M3ED_LABELS, MODALITIES, MOSEI_LABELS
from univa.label_prior import EMOTION_VA

# How the released text file orders a split's utterances on the PLM path:
# `csv_rows`: the rows of a CSV with video_id, clip_id, text, mode, truely_sort (MOSEI);
# `annotation_keys`: the key order of a JSON file split -> utt_id -> {"text": ...} (M3ED).
TextOrder = Literal["csv_rows", "annotation_keys"]
# How `analysis.threshold_tuning=dataset` (the default) decides a dataset's labels when its
# record says nothing else: thresholds tuned per label on validation, since the paper's fixed
# 0.18 was chosen for six-label MOSEI and predicts nearly every label of a four-label set.
DEFAULT_THRESHOLD_TUNING = "per_label"


@dataclass(frozen=True)
class DatasetRecord:
    """One dataset's facts: display name (also the released file-name prefix), labels in
    column order with their (valence, arousal) points, language, modalities, and where the
    released layout keeps the PLM text."""

    name: str
    labels: tuple[str, ...]
    label_va: dict[str, tuple[float, float]]
    language: str = "en"
    modalities: tuple[str, ...] = MODALITIES
    text_file: str | None = None  # under data_dir; None: no released layout
    text_order: TextOrder | None = None
    text_encoder: str | None = None  # the paper's PLM for this dataset (as its roberta preset)
    # univa.report.threshold_tuning.THRESHOLD_TUNINGS or None: keep model.threshold (the benchmarks)
    threshold_tuning: str | None = DEFAULT_THRESHOLD_TUNING

    def manifest(self) -> dict:
        """The record as a generic dataset's manifest (docs/data-format.md §2), less what the writer fills."""
        return {
            "name": self.name,
            "labels": list(self.labels),
            "language": self.language,
            "label_va": {label: list(self.label_va[label]) for label in self.labels},
        } | ({"text_encoder": self.text_encoder} if self.text_encoder else {})


def _nrc_points(labels: list[str]) -> dict[str, tuple[float, float]]:
    return {label: EMOTION_VA[label.lower()] for label in labels}


MOSEI = DatasetRecord(
    name="MOSEI",
    labels=tuple(MOSEI_LABELS),
    label_va=_nrc_points(MOSEI_LABELS),
    text_file="final_multi_labels.csv",
    text_order="csv_rows",
    text_encoder="roberta-base",
    threshold_tuning=None,  # model.threshold=0.18 is the paper's value (docs/method.md §7)
)
M3ED = DatasetRecord(
    name="M3ED",
    labels=tuple(M3ED_LABELS),
    label_va=_nrc_points(M3ED_LABELS),
    language="zh",
    text_file="preprocess_data/utt_annot.json",
    text_order="annotation_keys",
    text_encoder="hfl/chinese-roberta-wwm-ext",
    threshold_tuning=None,  # model.threshold=0.18 is the paper's value (docs/method.md §7)
)
GENERIC_LABELS = ("joy", "anger", "sadness", "neutral")
# A label set the built-in table does not know, with its own points (NRC-VAD, on [0, 1]):
# the generic synthetic data carries them in its manifest, as a user's dataset would.
GENERIC = DatasetRecord(
    name="SyntheticGeneric",
    labels=GENERIC_LABELS,
    label_va={
        "joy": (0.980, 0.824),
        "anger": (0.167, 0.865),
        "sadness": (0.052, 0.288),
        "neutral": (0.5, 0.5),
    },
    modalities=("text", "audio"),
)
RELEASED: dict[str, DatasetRecord] = {record.name: record for record in (MOSEI, M3ED)}
