"""`write_dataset`: a dataset in the generic format from a table and a few arrays per split.

The folder appears complete or not at all (written into a temporary sibling, validated, then
moved into place), so a reader never meets half a dataset.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from univa.data.folder_check import validate_dataset
from univa.data.folder_format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST_FILE,
    TABLE_FILE,
    features_file,
    lengths_file,
    mask_file,
)
from univa.errors import InputError, OutputWriteError
from univa.files import building_folder, holds_something
from univa.vocabulary import SPLITS


def _cell(value: Any) -> str:
    """A table value as CSV text: numbers exactly (repr of floats), booleans as 0/1, and a
    missing value (None, NaN) as an empty cell, never the words "None" or "nan" that a PLM
    would read as the utterance's text."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _columns(split: str, data: Mapping, labels: list[str]) -> dict[str, list]:
    """The split's table as column -> values, label columns taken from `labels` when given."""
    table = data.get("table", {})
    columns = {str(name): list(table[name]) for name in table}
    if "labels" in data:
        matrix = np.asarray(data["labels"])
        if matrix.ndim != 2 or matrix.shape[1] != len(labels):
            raise InputError(
                f"write_dataset: {split} 'labels' must be (N, {len(labels)}) for the labels "
                f"{labels}, got shape {matrix.shape}"
            )
        columns |= {
            label: [int(v) if v in (0, 1) else v for v in matrix[:, i].tolist()]
            for i, label in enumerate(labels)
        }
    return columns


def _padded(split: str, modality: str, values) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, L, D) float32 features, and the lengths when `values` is a list of (L_i, D) arrays."""
    if isinstance(values, np.ndarray):
        if values.ndim != 3:
            raise InputError(
                f"write_dataset: {split} features {modality!r} must be (N, L, D) or a list of "
                f"(L_i, D) arrays, got shape {values.shape}"
            )
        return values.astype(np.float32, copy=False), None
    sequences = [np.asarray(v, dtype=np.float32) for v in values]
    if not sequences or any(s.ndim != 2 for s in sequences):
        raise InputError(
            f"write_dataset: {split} features {modality!r}: a list needs one (L_i, D) array "
            "per utterance"
        )
    widths = {s.shape[1] for s in sequences}
    if len(widths) != 1:
        raise InputError(
            f"write_dataset: {split} features {modality!r} have different widths {sorted(widths)}"
        )
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    padded = np.zeros((len(sequences), max(1, lengths.max()), widths.pop()), dtype=np.float32)
    for row, sequence in enumerate(sequences):
        padded[row, : len(sequence)] = sequence
    return padded, lengths


def _write_split(folder: Path, split: str, data: Mapping, labels: list[str]) -> dict[str, int]:
    """Write one split into `folder`; return its modalities' widths."""
    folder.mkdir()
    columns = _columns(split, data, labels)
    rows = {name: len(values) for name, values in columns.items()}
    if len(set(rows.values())) > 1:
        raise InputError(f"write_dataset: {split} table columns have different lengths {rows}")
    with (folder / TABLE_FILE).open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)  # "\r\n" rows: the csv module then quotes a bare "\r"
        writer.writerow(list(columns))
        writer.writerows(zip(*([_cell(v) for v in col] for col in columns.values()), strict=True))
    widths = {}
    lengths_given, masks_given = data.get("lengths", {}), data.get("masks", {})
    for modality, values in data.get("features", {}).items():
        features, lengths = _padded(split, modality, values)
        np.save(folder / features_file(modality), features, allow_pickle=False)
        widths[modality] = int(features.shape[2])
        if modality in masks_given:
            mask = np.asarray(masks_given[modality], dtype=np.float32)
            np.save(folder / mask_file(modality), mask, allow_pickle=False)
            continue
        if modality in lengths_given:
            lengths = np.asarray(lengths_given[modality], dtype=np.int64)
        elif lengths is None:  # a padded array without lengths: every step is real
            lengths = np.full(features.shape[0], features.shape[1], dtype=np.int64)
        np.save(folder / lengths_file(modality), lengths, allow_pickle=False)
    return widths


def write_dataset(
    out: str | Path, manifest: Mapping[str, Any], splits: Mapping[str, Mapping]
) -> Path:
    """Write a dataset folder in the generic format at `out` and return its path.

    `manifest` holds at least `name` (optional `labels`, `language`, `label_va`,
    `text_encoder`, `features`); `format`, `format_version` and the `modalities` widths are
    filled in. `splits` maps one or more of train, valid and test (training needs all three,
    labelled; new data to predict on needs none of that) to {"table": DataFrame or column ->
    values, "features": {modality: (N, L, D) array or list of N (L_i, D) arrays}, optional
    "labels" (N, C) 0/1, "lengths" {modality: (N,)}, "masks" {modality: (N, L)}}. A padded
    array given without lengths or mask counts every step as real. Refuses an existing non-empty
    `out`, and anything the validator would refuse (all its problems in one error).
    """
    out = Path(out)
    if holds_something(out):
        raise InputError(
            f"write_dataset: {out} exists and is not an empty folder; not overwriting it"
        )
    unknown = [split for split in splits if split not in SPLITS]
    if unknown or not splits:
        raise InputError(
            f"write_dataset: splits are one or more of {list(SPLITS)}; got {list(splits)}"
        )
    labels = list(manifest.get("labels", []))
    try:
        # exclusive: of two writers into one new folder, one wins and the other fails
        with building_folder(out, last=MANIFEST_FILE, exclusive=True) as tmp:  # manifest last
            widths: dict[str, int] = {}
            for split in [split for split in SPLITS if split in splits]:
                widths |= _write_split(tmp / split, split, splits[split], labels)
            given = dict(manifest.get("modalities", {}))
            complete = {
                **manifest,
                "format": FORMAT_NAME,
                "format_version": FORMAT_VERSION,
                "modalities": {**widths, **given},
            }
            (tmp / MANIFEST_FILE).write_text(json.dumps(complete, indent=2) + "\n", "utf-8")
            problems = validate_dataset(tmp)
            if problems:
                raise InputError(
                    f"write_dataset: not writing {out}: {len(problems)} problems: "
                    + "; ".join(problems)
                )
    except OutputWriteError as error:  # building_folder's, which names `out` already
        raise OutputWriteError(f"write_dataset: {error}") from error
    except OSError as error:
        raise OutputWriteError(f"write_dataset: cannot write {out}: {error}") from error
    return out
