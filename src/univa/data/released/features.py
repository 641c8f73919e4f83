"""Readers of the released UniVA data layout (docs/data-format.md §1), shared by real and synthetic data.

Each split is stored as pickled dicts of arrays, one file per modality; row i of every file of
a split is the same utterance. The pickles are read by a restricted unpickler that builds only
numpy arrays, containers, numbers and strings (`univa.data.released.safe_pickle`): a file that names
anything else is refused, so no code from a data file runs. Each is unpickled once, checked, and
then read from a cache of plain arrays (`univa.data.released.cache`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from univa.constants import MODALITIES
from univa.data.released.cache import CACHE_DIR_NAME, cached_arrays
from univa.data.released.safe_pickle import RefusedGlobalError, load_data_pickle
from univa.errors import InputError, InputFileNotFoundError, InputKeyError

_FOLDERS = {"text": "T", "audio": "A", "vision": "V"}
NON_FINITE_KEY = "non_finite_replaced"  # cached beside a modality's arrays: counts per array
REPLACED_IN = ("features", "mask", "va")  # the arrays whose non-finite values become 0


class NonFiniteFeatureWarning(UserWarning):
    """Feature values that were NaN or infinite and have been replaced with 0."""


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
        raise InputFileNotFoundError(
            f"dataset.data_dir={data_dir} does not hold the released {name} layout: expected "
            f"{Path(data_dir) / 'preprocess_data'}/ with final_feat/{{A,V,T}}/{name}_<split>_*.pkl "
            "(the features released with the UniVA paper; see the README's 'Data layout')."
        )


def _load_pickle(path: Path) -> Any:
    try:
        with path.open("rb") as file:
            return load_data_pickle(file)
    except RefusedGlobalError as error:
        raise InputError(
            f"refusing to load {path}: it references {error.name}, which is not data (a feature "
            "pickle holds only numpy arrays, dicts, lists, strings and numbers); nothing in it "
            "was run. Fetch the released file again or regenerate it"
        ) from None
    except Exception as error:  # a damaged pickle can fail in almost any way while unpickling
        raise InputError(
            f"cannot read {path}: {type(error).__name__}: {error} (truncated, or not a UniVA "
            "feature pickle? Fetch or regenerate the file)"
        ) from error


def _get(mapping: dict, key: str, path: Path) -> Any:
    try:
        return mapping[key]
    except (KeyError, TypeError, IndexError):
        found = sorted(mapping) if isinstance(mapping, dict) else type(mapping).__name__
        raise InputKeyError(f"{path} has no key {key!r}; found {found}") from None


def _float_array(value: Any, key: str, path: Path) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise InputError(f"{path}: {key!r} is not a numeric array ({error})") from None


def _read_table(path: Path, split: str, modality: str) -> dict[str, np.ndarray]:
    """The arrays of one modality's pickle, under the names `features`, `mask`, `va`
    (and `labels` for audio, the file that carries them)."""
    content = _load_pickle(path)
    table = content if modality == "text" else _get(content, split, path)
    keys = {"features": modality, "mask": f"{modality}_utt_mask", "va": f"{modality}_VA_values"}
    if modality == "audio":
        keys["labels"] = "labels_class"
    return {name: _float_array(_get(table, key, path), key, path) for name, key in keys.items()}


def _check_shapes(arrays: dict[str, np.ndarray], modality: str, path: Path) -> None:
    features, mask, va = arrays["features"], arrays["mask"], arrays["va"]
    problems = []
    if features.ndim != 3:
        problems.append(f"{modality!r} has shape {features.shape}, expected (N, L, D)")
    elif mask.shape != features.shape[:2]:
        problems.append(
            f"'{modality}_utt_mask' has shape {mask.shape}, expected {features.shape[:2]} "
            f"(N, L of {modality!r})"
        )
    if va.ndim != 2 or va.shape[1] != 2:
        problems.append(f"'{modality}_VA_values' has shape {va.shape}, expected (N, 2)")
    if "labels" in arrays and arrays["labels"].ndim != 2:
        problems.append(f"'labels_class' has shape {arrays['labels'].shape}, expected (N, C)")
    if problems:
        raise InputError(f"{path}: " + "; ".join(problems))


def _replace_non_finite(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Set NaN and +-inf to 0 in place (real MOSEI COVAREP audio holds both); return how many,
    per array of `REPLACED_IN` (the labels are checked, never replaced)."""
    counts = []
    for name in REPLACED_IN:
        bad = ~np.isfinite(arrays[name])
        arrays[name][bad] = 0.0
        counts.append(int(bad.sum()))
    return np.array(counts)


def _replacement_message(path: Path, counts: np.ndarray) -> str:
    """Which values were replaced; a VA of 0 is a point of the scale, so it is said apart."""
    parts = ", ".join(
        f"{count} in {name}" for name, count in zip(REPLACED_IN, counts, strict=True) if count
    )
    message = (
        f"{path}: replaced {int(counts.sum())} non-finite values (NaN or +-inf) with 0 ({parts})"
    )
    if counts[REPLACED_IN.index("va")]:
        message += "; a VA of 0 is a real score: those utterances count as VA (0, 0)"
    return message


SHOWN_ROWS = 3  # offending rows quoted in an error message


def _check_not_empty(arrays: dict[str, np.ndarray], split: str, path: Path) -> None:
    if arrays["features"].shape[0] == 0:
        raise InputError(f"{path}: no rows: the {split} split is empty")


def _check_labels(labels: np.ndarray, path: Path) -> None:
    """Labels are multi-hot: a 2, -1, 0.5 or NaN is a damaged file, never a label to train on
    (NaN would otherwise be set to 0 with the non-finite features, silently)."""
    bad_rows = np.flatnonzero(~np.isin(labels, (0.0, 1.0)).all(axis=1))
    if len(bad_rows):
        shown = "; ".join(f"row {row}: {labels[row].tolist()}" for row in bad_rows[:SHOWN_ROWS])
        raise InputError(
            f"{path}: 'labels_class' must hold only 0 and 1, but {len(bad_rows)} rows do not "
            f"({shown}{'; ...' if len(bad_rows) > SHOWN_ROWS else ''})"
        )


def _read_checked_table(path: Path, split: str, modality: str) -> dict[str, np.ndarray]:
    """`_read_table`, checked (shapes, rows, 0/1 labels) and made finite, with the number of
    values set to 0 under `NON_FINITE_KEY`: what the cache stores, so cached loads skip the
    checks and the scan."""
    arrays = _read_table(path, split, modality)
    _check_shapes(arrays, modality, path)
    _check_not_empty(arrays, split, path)
    if "labels" in arrays:
        _check_labels(arrays["labels"], path)
    arrays[NON_FINITE_KEY] = _replace_non_finite(arrays)
    return arrays


def read_modality(data_dir: Path, name: str, split: str, modality: str) -> dict[str, np.ndarray]:
    """One modality's checked, finite arrays, read through the array cache (see `cache`).

    Every load warns about the non-finite values the source holds, also loads from the cache.
    """
    path = feature_file(data_dir, name, split, modality)
    if not path.is_file():
        raise InputFileNotFoundError(
            f"missing feature file {path} (the {modality} features of the {split} split; "
            "see the README's 'Data layout')"
        )
    cache_dir = Path(data_dir) / CACHE_DIR_NAME
    arrays = cached_arrays(path, cache_dir, partial(_read_checked_table, path, split, modality))
    replaced = arrays.pop(NON_FINITE_KEY)
    if replaced.any():
        warnings.warn(NonFiniteFeatureWarning(_replacement_message(path, replaced)), stacklevel=2)
    return arrays


def read_split(
    data_dir: Path, name: str, split: str, modalities: tuple[str, ...] = MODALITIES
) -> SplitArrays:
    """Read the pickles of one split of dataset `name`: audio (with the labels), vision, and
    GloVe text unless `modalities` leaves it out (the PLM path reads text elsewhere)."""
    features, masks, va = {}, {}, {}
    labels = None
    for modality in modalities:
        arrays = read_modality(data_dir, name, split, modality)
        features[modality] = arrays["features"]
        masks[modality] = arrays["mask"]
        va[modality] = arrays["va"]
        labels = arrays.get("labels", labels)
    arrays = SplitArrays(features=features, masks=masks, va=va, labels=labels)
    _check_rows(arrays, data_dir, name, split)
    return arrays


def _check_rows(arrays: SplitArrays, data_dir: Path, name: str, split: str) -> None:
    rows = {f"{m} features": a.shape[0] for m, a in arrays.features.items()}
    rows |= {f"{m} masks": a.shape[0] for m, a in arrays.masks.items()}
    rows |= {f"{m} VA": a.shape[0] for m, a in arrays.va.items()}
    rows["labels_class"] = len(arrays)
    if len(set(rows.values())) != 1:
        raise InputError(
            f"{name} {split} split in {data_dir}: row counts disagree between files: {rows}"
        )
