"""`write_dataset`: a dataset in the generic format from a table and a few arrays per split;
`dataset_writer` and `SplitWriter`: the same, one utterance at a time, for data larger than
memory.

The folder appears complete or not at all (written into a temporary sibling, validated, then
moved into place), so a reader never meets half a dataset.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.format import open_memmap

from univa.constants import SPLITS
from univa.data.generic.check import validate_dataset
from univa.data.generic.format import (
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
    out = _refuse_existing(out)
    unknown = [split for split in splits if split not in SPLITS]
    if unknown or not splits:
        raise InputError(
            f"write_dataset: splits are one or more of {list(SPLITS)}; got {list(splits)}"
        )
    with dataset_writer(out, manifest) as writer:
        for split in [split for split in SPLITS if split in splits]:
            writer.widths |= _write_split(
                writer.folder / split, split, splits[split], writer.labels
            )
    return out


def _refuse_existing(out: str | Path) -> Path:
    out = Path(out)
    if holds_something(out):
        raise InputError(
            f"write_dataset: {out} exists and is not an empty folder; not overwriting it"
        )
    return out


class SplitWriter:
    """One split written an utterance at a time, for data larger than memory.

    The table goes to `utterances.csv` row by row; each modality's (N, L, D) float32 array is
    created full-size on disk by `open_memmap` and filled row by row, its lengths kept as they
    come. The map is reopened every `REMAP_BYTES` written, so the pages already written leave
    the process instead of piling up in its resident memory.
    """

    REMAP_BYTES = 64 * 2**20

    def __init__(
        self, folder: Path, header: list[str], rows: int, shapes: Mapping[str, tuple[int, int]]
    ) -> None:
        """`shapes` maps each modality to (L, D): its longest utterance and its width."""
        folder.mkdir()
        self.folder, self.rows, self.written = folder, rows, 0
        self._header = header
        self._table = (folder / TABLE_FILE).open("w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._table)  # "\r\n" rows, as `_write_split` writes them
        self._csv.writerow(header)
        self._arrays = {
            m: open_memmap(folder / features_file(m), "w+", np.float32, (rows, max(1, steps), width))
            for m, (steps, width) in shapes.items()
        }  # fmt: skip
        self._lengths = {m: np.zeros(rows, dtype=np.int64) for m in shapes}
        self._unmapped_bytes = 0

    def add(self, cells: list, features: Mapping[str, np.ndarray]) -> None:
        """Write the next utterance: its table cells and each modality's (L_i, D) rows."""
        if self.written == self.rows or len(cells) != len(self._header):
            raise InputError(
                f"SplitWriter: {self.folder.name} is sized for {self.rows} rows of "
                f"{len(self._header)} cells; row {self.written} has {len(cells)}"
            )
        self._csv.writerow([_cell(v) for v in cells])
        for modality, array in self._arrays.items():
            rows = features[modality]
            array[self.written, : len(rows)] = rows
            self._lengths[modality][self.written] = len(rows)
            self._unmapped_bytes += rows.nbytes
        self.written += 1
        if self._unmapped_bytes > self.REMAP_BYTES:
            self._remap()

    def _remap(self) -> None:
        for modality in self._arrays:
            self._arrays[modality].flush()
            self._arrays[modality] = open_memmap(self.folder / features_file(modality), "r+")
        self._unmapped_bytes = 0

    def close(self) -> dict[str, int]:
        """Flush everything, write the lengths; return the modalities' widths."""
        self._table.close()
        if self.written != self.rows:
            raise InputError(
                f"SplitWriter: {self.folder.name} got {self.written} rows of the {self.rows} "
                "it was sized for"
            )
        widths = {}
        for modality, array in self._arrays.items():
            array.flush()
            widths[modality] = int(array.shape[2])
            lengths = self._lengths[modality]
            np.save(self.folder / lengths_file(modality), lengths, allow_pickle=False)
        self._arrays.clear()
        return widths


@dataclass
class DatasetWriter:
    """The temporary folder of a dataset being written, and its modalities' widths so far."""

    folder: Path
    labels: list[str]
    widths: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def split(
        self, split: str, header: list[str], rows: int, shapes: Mapping[str, tuple[int, int]]
    ) -> Iterator[SplitWriter]:
        """A `SplitWriter` for `split`, closed (lengths written, widths noted) on leaving."""
        if split not in SPLITS:
            raise InputError(f"SplitWriter: split is one of {list(SPLITS)}; got {split!r}")
        writer = SplitWriter(self.folder / split, header, rows, shapes)
        try:
            yield writer
        finally:
            writer._table.close()  # on an error too: the folder is then deleted
        self.widths |= writer.close()


@contextmanager
def dataset_writer(out: str | Path, manifest: Mapping[str, Any]) -> Iterator[DatasetWriter]:
    """A dataset folder written split by split, published at `out` only once complete.

    The caller writes splits into the yielded writer's temporary folder (`writer.split(...)`
    or its own files); on leaving, the manifest is completed as `write_dataset` does, the
    folder validated, then moved into place. On any error nothing appears at `out`; an
    `OSError` on the way is reported as failing to write `out`.
    """
    out = _refuse_existing(out)
    try:
        # exclusive: of two writers into one new folder, one wins and the other fails
        with building_folder(out, last=MANIFEST_FILE, exclusive=True) as tmp:  # manifest last
            writer = DatasetWriter(tmp, list(manifest.get("labels", [])))
            yield writer
            given = dict(manifest.get("modalities", {}))
            complete = {
                **manifest,
                "format": FORMAT_NAME,
                "format_version": FORMAT_VERSION,
                "modalities": {**writer.widths, **given},
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
