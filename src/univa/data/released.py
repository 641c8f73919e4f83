"""Readers of the released UniVA data layout (SPEC section 5), shared by real and synthetic data.

Each split is stored as pickled dicts of arrays, one file per modality; row i of every file of
a split is the same utterance. The pickles execute code when loaded, so they must come from a
trusted source (the authors' release or `univa.data.synthetic`).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SPLITS: tuple[str, ...] = ("train", "valid", "test")
GLOVE = "glove"  # `text_encoder` value for the released GloVe text features; others name a PLM
FEATURE_MODALITIES: tuple[str, ...] = ("text", "audio", "vision")
_FOLDERS = {"text": "T", "audio": "A", "vision": "V"}


@dataclass
class SplitArrays:
    """One split as plain arrays: features (N, L, D), masks (N, L), raw VA (N, 2), labels (N, C)."""

    features: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]
    va: dict[str, np.ndarray]
    labels: np.ndarray

    def __len__(self) -> int:
        return self.labels.shape[0]


def feature_file(data_dir: Path, name: str, split: str, modality: str) -> Path:
    """Path of one modality's pickle, e.g. `preprocess_data/final_feat/A/MOSEI_train_audio_utt_VA.pkl`."""
    stem = (
        f"{name}_{split}_text_glove300_VA"
        if modality == "text"
        else f"{name}_{split}_{modality}_utt_VA"
    )
    return Path(data_dir) / "preprocess_data" / "final_feat" / _FOLDERS[modality] / f"{stem}.pkl"


def check_dataset_dir(data_dir: Path, name: str) -> None:
    """Fail early, and say what is expected, when `data_dir` does not hold the released layout."""
    if not (Path(data_dir) / "preprocess_data").is_dir():
        raise FileNotFoundError(
            f"dataset.data_dir={data_dir} does not hold the released {name} layout: expected "
            f"{Path(data_dir) / 'preprocess_data'}/ with final_feat/{{A,V,T}}/{name}_<split>_*.pkl "
            "(the features released with the UniVA paper; see the README's 'Data layout')."
        )


def _load_pickle(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"missing feature file {path} (see the README's 'Data layout')")
    try:
        with path.open("rb") as file:
            return pickle.load(file)
    except (pickle.UnpicklingError, EOFError, ValueError, AttributeError, ImportError) as error:
        raise ValueError(
            f"cannot read {path}: {error} (truncated or not a UniVA feature pickle?)"
        ) from error


def _get(mapping: dict, key: str, path: Path) -> Any:
    try:
        return mapping[key]
    except (KeyError, TypeError):
        found = sorted(mapping) if isinstance(mapping, dict) else type(mapping).__name__
        raise KeyError(f"{path} has no key {key!r}; found {found}") from None


def read_split(
    data_dir: Path, name: str, split: str, modalities: tuple[str, ...] = FEATURE_MODALITIES
) -> SplitArrays:
    """Read the pickles of one split of dataset `name`: audio (with the labels), vision, and
    GloVe text unless `modalities` leaves it out (the PLM path reads text elsewhere)."""
    features, masks, va = {}, {}, {}
    labels = None
    for modality in modalities:
        path = feature_file(data_dir, name, split, modality)
        content = _load_pickle(path)
        table = content if modality == "text" else _get(content, split, path)
        features[modality] = np.asarray(_get(table, modality, path), dtype=np.float32)
        masks[modality] = np.asarray(_get(table, f"{modality}_utt_mask", path), dtype=np.float32)
        va[modality] = np.asarray(_get(table, f"{modality}_VA_values", path), dtype=np.float32)
        if modality == "audio":
            labels = np.asarray(_get(table, "labels_class", path), dtype=np.float32)
    arrays = SplitArrays(features=features, masks=masks, va=va, labels=labels)
    _check_rows(arrays, data_dir, name, split)
    return arrays


def _check_rows(arrays: SplitArrays, data_dir: Path, name: str, split: str) -> None:
    rows = {f"{m} features": a.shape[0] for m, a in arrays.features.items()}
    rows |= {f"{m} masks": a.shape[0] for m, a in arrays.masks.items()}
    rows |= {f"{m} VA": a.shape[0] for m, a in arrays.va.items()}
    rows["labels_class"] = len(arrays)
    if len(set(rows.values())) != 1:
        raise ValueError(
            f"{name} {split} split in {data_dir}: row counts disagree between files: {rows}"
        )
