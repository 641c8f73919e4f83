"""New data to predict on: a folder in the generic format, checked against what a trained network
reads, then served one batch at a time.

The folder may hold any of the splits and no labels (label and VA columns, when present, are
ignored). Before any array is read it must offer every modality the network reads, at the
network's widths, with the text in the network's kind (GloVe vectors in `text.npy`, or raw text
for a PLM), and no utterance longer than the network's position tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, SequentialSampler

from univa.constants import mask_key
from univa.data.dataset import EmotionDataset, collate_trimmed, share_dialogues
from univa.data.generic.check import validate_dataset
from univa.data.generic.datamodule import split_text
from univa.data.generic.format import (
    MANIFEST_FILE,
    TABLE_FILE,
    TEXT,
    features_file,
    present_splits,
    read_folder_split,
    read_manifest,
    read_table,
)
from univa.data.samplers import DialogueBatchSampler
from univa.data.tokenization import plm_inputs
from univa.errors import InputError


@dataclass(frozen=True)
class NetworkInputs:
    """What a trained network reads: each feature modality's width and longest sequence (its
    position table), and whether it reads raw text through a PLM."""

    input_dims: dict[str, int]
    max_lens: dict[str, int]
    raw_text: bool


@dataclass
class InputSplit:
    """One split of the input: its rows' utterance ids and a loader of its batches, in row order."""

    name: str
    utt_ids: list[str]
    loader: DataLoader
    row_key: str  # a batch tensor with one row per utterance


def _fit_problems(folder: Path, manifest: dict, needs: NetworkInputs) -> list[str]:
    """How the folder's modalities, widths and text fail the network (empty when they fit)."""
    offered = manifest.get("modalities", {})
    problems = []
    for modality, width in needs.input_dims.items():
        if modality not in offered:
            kind = "GloVe vectors (text.npy)" if modality == "text" else "features"
            problems.append(
                f"the model reads {modality} {kind} of width {width}, which input={folder} does "
                f"not have (its {MANIFEST_FILE} lists {sorted(offered) or 'none'})"
            )
        elif offered[modality] != width:
            problems.append(
                f"{modality}: the model reads width {width}, input={folder} has width "
                f"{offered[modality]} ({features_file(modality)})"
            )
    if needs.raw_text:
        lacking = [
            split
            for split in present_splits(folder)
            if TEXT not in read_table(folder / split / TABLE_FILE, header_only=True)[0]
        ]
        if lacking:
            problems.append(
                f"text: the model reads raw text with its PLM, but {', '.join(lacking)}/"
                f"{TABLE_FILE} of input={folder} has no '{TEXT}' column"
            )
    return problems


def _longest(masks: np.ndarray) -> int:
    """The longest real sequence of a (N, L) 0/1 mask."""
    real = np.flatnonzero(masks.any(axis=0))
    return int(real.max()) + 1 if len(real) else 0


def check_input(folder: str | Path, needs: NetworkInputs) -> list[str]:
    """The splits of `folder`, once it is a valid dataset whose data the network can read."""
    folder = Path(folder)
    problems = validate_dataset(folder)
    if problems:
        raise InputError(
            f"input={folder} is not a valid univa dataset ({len(problems)} problems; "
            "`python -m univa.data.validate` lists them): " + "; ".join(problems)
        )
    problems = _fit_problems(folder, read_manifest(folder), needs)
    if problems:
        raise InputError(f"input={folder} does not fit the model: " + "; ".join(problems))
    return present_splits(folder)


def read_input_split(
    folder: str | Path, split: str, needs: NetworkInputs, tokenizer, batch_size: int
) -> InputSplit:
    """Split `split` of a folder `check_input` passed, as batches of what the network reads."""
    folder = Path(folder)
    data = read_folder_split(folder, split)
    tensors: dict[str, torch.Tensor] = {}
    for modality, limit in needs.max_lens.items():
        longest = _longest(data.masks[modality])
        if longest > limit:
            raise InputError(
                f"input={folder}: {split}/{features_file(modality)} has utterances of up to "
                f"{longest} steps; the model reads at most {limit} (the longest it was trained "
                "on): shorten or subsample them"
            )
        tensors[modality] = torch.from_numpy(data.features[modality])  # shares the memory map
        tensors[mask_key(modality)] = torch.from_numpy(data.masks[modality])
    if needs.raw_text:  # each batch holds whole dialogues, each through the PLM once
        tensors |= plm_inputs(split_text(data), tokenizer)
        sampler = DialogueBatchSampler(data.dialogue_ids, batch_size, keep_order=True)
        loader = DataLoader(
            EmotionDataset(tensors), batch_size=None, sampler=sampler, collate_fn=share_dialogues
        )
    else:
        dataset = EmotionDataset(tensors)
        loader = DataLoader(
            dataset, batch_size, sampler=SequentialSampler(dataset), collate_fn=collate_trimmed
        )
    return InputSplit(split, data.utt_ids, loader, row_key=next(iter(tensors)))


def input_rows(splits: list[InputSplit]) -> Iterator[tuple[str, list[str], dict]]:
    """(split, the batch's utterance ids, the batch), over the splits in row order."""
    for split in splits:
        start = 0
        for batch in split.loader:
            rows = batch[split.row_key].shape[0]
            yield split.name, split.utt_ids[start : start + rows], batch
            start += rows
