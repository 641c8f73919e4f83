"""The generic univa dataset format (a folder of CSV tables and `.npy` arrays): its names, and
the reader of one split.

A split is `utterances.csv` (one row per utterance: ids, optional dialogue and turn, optional
raw text, 0/1 label columns unless the data is unlabelled, optional VA scores) beside one `<modality>.npy` (N, L, D) float32
array per feature modality with its `<modality>_lengths.npy` (N,) or `<modality>_mask.npy`
(N, L). A folder holds any of the splits train, valid and test (training needs all three,
labelled); new data to predict on is often one unlabelled split. Arrays are memory-mapped (`allow_pickle=False`), so a large split is never held twice.
The reader trusts a folder that `univa.data.generic.check.validate_dataset` passed.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from univa.constants import MODALITIES, SPLITS
from univa.data.npy_file import load_npy
from univa.errors import InputError, InputFileNotFoundError
from univa.safe_json import read_json

FORMAT_NAME = "univa-dataset"
FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
TABLE_FILE = "utterances.csv"
REQUIRED_KEYS: tuple[str, ...] = ("format", "format_version", "name", "modalities")
UTT_ID, DIALOGUE_ID, TURN, TEXT = "utt_id", "dialogue_id", "turn", "text"
VA_COLUMNS: tuple[str, ...] = ("valence", "arousal")


def features_file(modality: str) -> str:
    """File name of a modality's (N, L, D) float32 features, e.g. `audio.npy`."""
    return f"{modality}.npy"


def lengths_file(modality: str) -> str:
    """File name of a modality's (N,) int real-step counts (real steps are a prefix)."""
    return f"{modality}_lengths.npy"


def mask_file(modality: str) -> str:
    """File name of a modality's (N, L) 0/1 mask of real steps (when they are not a prefix)."""
    return f"{modality}_mask.npy"


def present_splits(data_dir: str | Path) -> list[str]:
    """The splits (train, valid, test, in that order) whose folder `data_dir` holds."""
    return [split for split in SPLITS if (Path(data_dir) / split).is_dir()]


def va_columns(modality: str) -> tuple[str, str]:
    """The table's columns of a modality's own (valence, arousal) scores."""
    return (f"{modality}_valence", f"{modality}_arousal")


def load_array(path: Path) -> np.ndarray:
    """A `.npy` array memory-mapped copy-on-write: pages are read on use, never pickled, and
    torch can wrap it without a copy (a read-only map would make torch warn)."""
    return load_npy(path, mmap_mode="c")


def read_table(path: Path, header_only: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV table (UTF-8, csv module quoting); no rows with `header_only`,
    which reads the first line only."""
    with Path(path).open(newline="", encoding="utf-8-sig") as file:  # a spreadsheet's BOM
        reader = csv.reader(file)
        try:
            header = next(reader, [])
            return header, [] if header_only else list(reader)
        except csv.Error as error:  # e.g. a field past the csv module's size limit
            raise InputError(f"{path}: not a readable CSV table ({error})") from None


def manifest_text_encoder(data_dir: str | Path) -> str:
    """The PLM a dataset's manifest names (`text_encoder`), for `text=roberta` on it
    (conf/preset/folder_roberta.yaml leaves `text.encoder` null for this)."""
    encoder = read_manifest(data_dir).get("text_encoder")
    if not encoder:
        raise InputError(
            f"text=roberta on dataset=folder needs text.encoder=<hub name or local folder of a "
            f'PLM>: the manifest of {data_dir} names no text_encoder (add "text_encoder" to '
            "its manifest.json to make one the default)"
        )
    return str(encoder)


def read_manifest(data_dir: str | Path) -> dict:
    """`manifest.json` of a dataset folder, its format and version checked (a newer version is
    refused: its meaning may have changed)."""
    path = Path(data_dir) / MANIFEST_FILE
    if not path.is_file():
        hint = "see the README's 'Bring your own dataset'"
        if (Path(data_dir) / "preprocess_data").is_dir():
            hint = (
                "it holds the UniVA release's layout: train on it with dataset=mosei|m3ed, or "
                f"convert it with `python -m univa.data.convert released={data_dir} out=OUT`"
            )
        raise InputFileNotFoundError(
            f"{path} not found: dataset.data_dir must be a folder in the univa dataset format "
            f"({hint})"
        )
    manifest = read_json(path)
    if not isinstance(manifest, dict):
        raise InputError(f"{path}: must hold a JSON object, got {type(manifest).__name__}")
    version = manifest.get("format_version")
    if (
        manifest.get("format") == FORMAT_NAME
        and isinstance(version, int)
        and (version > FORMAT_VERSION)
    ):
        raise InputError(
            f"{path}: key 'format_version' is {version}, newer than the {FORMAT_VERSION} this "
            "univa reads; upgrade univa"
        )
    return manifest


@dataclass
class FolderSplit:
    """One split of a dataset folder: the table's columns and the arrays, memory-mapped.

    `features[m]` (N, L, D) float32 maps the file; `masks[m]` (N, L) float32 marks real steps;
    `va[m]` (N, 2) holds the raw scores of the modalities whose columns the table has;
    `labels` (N, C) float32 follows the manifest's label order, None when the table has no
    label columns (new data to predict on). Without dialogue columns each utterance is its own
    dialogue (`dialogue_ids` = `utt_ids`, `turns` all 0).
    """

    columns: dict[str, list[str]]
    labels: np.ndarray | None
    features: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]
    va: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.columns[UTT_ID])

    @property
    def utt_ids(self) -> list[str]:
        return list(self.columns[UTT_ID])

    @property
    def has_dialogues(self) -> bool:
        return DIALOGUE_ID in self.columns

    @property
    def dialogue_ids(self) -> list[str]:
        return list(self.columns[DIALOGUE_ID if self.has_dialogues else UTT_ID])

    @property
    def turns(self) -> list[int]:
        return [int(t) for t in self.columns[TURN]] if self.has_dialogues else [0] * len(self)

    @property
    def text(self) -> list[str] | None:
        return list(self.columns[TEXT]) if TEXT in self.columns else None


def _mask(split_dir: Path, modality: str, steps: int) -> np.ndarray:
    lengths_path = split_dir / lengths_file(modality)
    if lengths_path.is_file():
        lengths = load_npy(lengths_path)
        return (np.arange(steps)[None, :] < lengths[:, None]).astype(np.float32)
    return np.asarray(load_array(split_dir / mask_file(modality)), dtype=np.float32)


def read_folder_split(data_dir: str | Path, split: str) -> FolderSplit:
    """Read split `split` of the dataset folder `data_dir` (validate it first)."""
    if split not in SPLITS:
        raise InputError(f"split must be one of {SPLITS}, got {split!r}")
    manifest = read_manifest(data_dir)
    split_dir = Path(data_dir) / split
    header, rows = read_table(split_dir / TABLE_FILE)
    columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    names = manifest.get("labels", [])
    labels = None
    if names and names[0] in columns:  # validated: all label columns or none
        labels = np.array(
            [[float(v) for v in columns[label]] for label in names], dtype=np.float32
        ).T.reshape(len(rows), len(names))
    features, masks = {}, {}
    for modality in manifest["modalities"]:
        features[modality] = load_array(split_dir / features_file(modality))
        masks[modality] = _mask(split_dir, modality, features[modality].shape[1])
    va = {
        modality: np.array(
            [[float(x) for x in columns[c]] for c in va_columns(modality)], dtype=np.float32
        ).T.reshape(len(rows), 2)
        for modality in _va_modalities(header)
    }
    return FolderSplit(columns=columns, labels=labels, features=features, masks=masks, va=va)


def _va_modalities(header: list[str]) -> list[str]:
    """Modalities whose (valence, arousal) columns the table has."""
    return [
        name.removesuffix("_valence")
        for name in header
        if name.endswith("_valence")
        and name.removesuffix("_valence") in MODALITIES  # a `speaker_valence` is not VA data
        and va_columns(name.removesuffix("_valence"))[1] in header
    ]
