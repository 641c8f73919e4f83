"""`FolderDataModule`: any dataset in the generic format (`dataset=folder dataset.data_dir=PATH`).

The label set, the modalities and their widths come from the folder's manifest; the feature
arrays stay memory-mapped (the split's tensors share the mapped pages, no copy). Raw text goes
through a PLM with the benchmarks' dialogue-context tokenisation, or alone without dialogues.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from univa.constants import MODALITIES, SPLITS, is_glove, mask_key, va_key
from univa.data.datamodule import UniVADataModule
from univa.data.dataset import EmotionDataset
from univa.data.generic.check import training_problems, validate_dataset
from univa.data.generic.format import FolderSplit, read_folder_split, read_manifest
from univa.data.tokenization import SplitText, Utterance, load_tokenizer, plm_inputs
from univa.data.va import normalize_va
from univa.errors import InputError


class UnusedTextWarning(UserWarning):
    """A dataset's raw text that the run does not read (text=glove without text features)."""


def split_text(split: FolderSplit) -> SplitText:
    """The split's raw text as the PLM path reads it: each utterance with its dialogue in turn
    order (an utterance without a dialogue is a dialogue of its own)."""
    turns: dict[str, list[tuple[int, str]]] = {}
    for utt_id, dialogue_id, turn in zip(
        split.utt_ids, split.dialogue_ids, split.turns, strict=True
    ):
        turns.setdefault(dialogue_id, []).append((turn, utt_id))
    dialogues = {d: [u for _, u in sorted(entries)] for d, entries in turns.items()}
    position = {u: i for order in dialogues.values() for i, u in enumerate(order)}
    utterances = [
        Utterance(u, d, position[u]) for u, d in zip(split.utt_ids, split.dialogue_ids, strict=True)
    ]
    texts = dict(zip(split.utt_ids, split.text or [], strict=True))
    return SplitText(utterances=utterances, dialogues=dialogues, texts=texts, va=[])


def read_folder(dm: UniVADataModule) -> None:
    """Fill `dm` with the splits of the generic-format folder `dm.data_dir`, validated as a whole
    before anything is read, every problem reported in one error; the label set, the
    modalities and their widths come from its manifest."""
    if dm.datasets:
        return
    problems = validate_dataset(dm.data_dir)
    problems = problems or training_problems(dm.data_dir)
    if problems:
        raise InputError(
            f"dataset.data_dir={dm.data_dir} is not a valid univa dataset "
            f"({len(problems)} problems; `python -m univa.data.validate` lists them): "
            + "; ".join(problems)
        )
    manifest = read_manifest(dm.data_dir)
    dm.name, dm.labels = manifest["name"], list(manifest["labels"])
    dm.label_va = manifest.get("label_va", {})
    dm.feature_provenance = manifest.get("features", {})
    tokenizer = None if is_glove(dm.text_encoder) else load_tokenizer(dm.text_encoder)
    for split in SPLITS:
        dm.datasets[split] = _read_folder_split(dm, split, tokenizer)
    dm.warn_missing_va()


def _read_folder_split(dm: UniVADataModule, split: str, tokenizer) -> EmotionDataset:
    data = read_folder_split(dm.data_dir, split)
    name = f"{dm.name} {split}"
    features = [m for m in data.features if m != "text" or tokenizer is None]
    tensors = {"labels": torch.from_numpy(data.labels)}
    for modality in features:
        array = data.features[modality]
        tensors[modality] = torch.from_numpy(array)  # shares the memory map
        tensors[mask_key(modality)] = torch.from_numpy(data.masks[modality])
        dm.max_lens[modality] = max(dm.max_lens.get(modality, 0), array.shape[1])
        dm.input_dims[modality] = array.shape[2]
    unused_text = tokenizer is None and data.text is not None and "text" not in data.features
    if unused_text and split == SPLITS[0]:  # once per dataset
        warnings.warn(
            UnusedTextWarning(
                f"{dm.data_dir}: its tables' raw 'text' is not used: text=glove reads text "
                "features (text.npy), which this dataset has none of; train on the raw text "
                "with text=roberta text.encoder=<hub name or folder>"
            ),
            stacklevel=2,
        )
    if tokenizer is not None:
        if data.text is None:
            raise InputError(
                f"text.encoder={dm.text_encoder} reads raw text, but "
                f"{dm.data_dir / split / 'utterances.csv'} has no 'text' column (use "
                "text=glove with text features, or add the utterances' text)"
            )
        tensors |= plm_inputs(split_text(data), tokenizer)
    modalities = [m for m in MODALITIES if m in features or (m == "text" and tokenizer)]
    if not modalities:
        raise InputError(
            f"{dm.data_dir}: no feature modality, only raw text: read it with a PLM "
            "(text=roberta text.encoder=<hub name or folder>)"
        )
    for modality in modalities:
        if modality in data.va:
            raw = torch.from_numpy(data.va[modality])
            tensors[va_key(modality)] = normalize_va(raw, dm.va_norm, f"{name} {modality} VA")
    dm.modalities = modalities
    dm.utt_ids[split] = data.utt_ids
    dm.dialogue_ids[split] = data.dialogue_ids
    return EmotionDataset(dm.with_va_sources(tensors, modalities, name))


class FolderDataModule(UniVADataModule):
    """A dataset folder in the generic format (README "Bring your own dataset"), read by
    `read_folder`."""

    def __init__(self, data_dir: str | Path, **kwargs) -> None:
        super().__init__(data_dir, **kwargs)
        self.name = Path(data_dir).name
        self.labels = []
        self.feature_provenance: dict[str, dict[str, str]] = {}  # the manifest's `features`

    def setup(self, stage: str | None = None) -> None:
        read_folder(self)
