"""`MoseiDataModule` and `M3EDDataModule`: the benchmarks in the released layout, and its reader."""

from __future__ import annotations

import torch

from univa.constants import MODALITIES, SPLITS, is_glove, mask_key, va_key
from univa.data.datamodule import UniVADataModule
from univa.data.dataset import EmotionDataset
from univa.data.records import M3ED, MOSEI
from univa.data.released.features import SplitArrays, check_dataset_dir, read_split
from univa.data.released.text import dialogue_order, read_dialogues, read_split_text
from univa.data.tokenization import load_tokenizer, plm_inputs
from univa.data.va import VANorm, normalize_va
from univa.errors import InputError


def split_tensors(
    arrays: SplitArrays, va_norm: VANorm = "reference", split: str = "split"
) -> dict[str, torch.Tensor]:
    """Batch-dict tensors of a whole split (docs/api.md §1.2 keys), VA standardised per split
    (`split` names it in warnings, e.g. "MOSEI train")."""
    tensors = {"labels": torch.from_numpy(arrays.labels)}
    for modality, features in arrays.features.items():
        tensors[modality] = torch.from_numpy(features)
        tensors[mask_key(modality)] = torch.from_numpy(arrays.masks[modality])
        va = torch.from_numpy(arrays.va[modality])
        tensors[va_key(modality)] = normalize_va(va, va_norm, f"{split} {modality} VA")
    return tensors


def read_released(dm: UniVADataModule) -> None:
    """Fill `dm` with the three splits of its dataset (`dm.record`) in the released layout."""
    if dm.datasets:
        return
    check_dataset_dir(dm.data_dir, dm.name)
    tokenizer = None if is_glove(dm.text_encoder) else load_tokenizer(dm.text_encoder)
    for split in SPLITS:
        dm.datasets[split] = _read_split(dm, split, tokenizer)
    dm.modalities = list(MODALITIES)
    dm.warn_missing_va()


def _read_split(dm: UniVADataModule, split: str, tokenizer) -> EmotionDataset:
    modalities = MODALITIES if tokenizer is None else ("audio", "vision")
    arrays = read_split(dm.data_dir, dm.name, split, modalities)
    if arrays.labels.shape[1] != len(dm.labels):
        raise InputError(
            f"{dm.name} {split}: labels_class has {arrays.labels.shape[1]} columns, expected "
            f"{len(dm.labels)} for the labels {dm.labels}"
        )
    for modality, features in arrays.features.items():
        dm.max_lens[modality] = max(dm.max_lens.get(modality, 0), features.shape[1])
        dm.input_dims[modality] = features.shape[2]
    tensors = split_tensors(arrays, dm.va_norm, f"{dm.name} {split}")
    if tokenizer is None:
        dialogues = read_dialogues(dm.data_dir, split)
        utt_ids = dialogue_order(dialogues)
        dialogue_ids = [d for d, turns in dialogues.items() for _ in turns]
        source = "utterances in preprocess_data/videos_structure.json"
    else:
        text = read_split_text(dm.data_dir, dm.record, split)
        utt_ids = [utterance.utt_id for utterance in text.utterances]
        dialogue_ids = [utterance.dialogue_id for utterance in text.utterances]
        source = f"utterances in {dm.record.text_file}"
        tensors |= plm_inputs(text, tokenizer)
        tensors[va_key("text")] = normalize_va(
            torch.tensor(text.va), dm.va_norm, f"{dm.name} {split} text VA"
        )
    if len(utt_ids) != len(arrays):
        raise InputError(
            f"{dm.name} {split} split in {dm.data_dir}: {len(utt_ids)} {source} but "
            f"{len(arrays)} rows of features"
        )
    dm.utt_ids[split] = utt_ids
    dm.dialogue_ids[split] = dialogue_ids
    tensors = dm.with_va_sources(tensors, list(MODALITIES), f"{dm.name} {split}")
    return EmotionDataset(tensors)


class ReleasedDataModule(UniVADataModule):
    """A dataset of the UniVA release, named by the subclass's `record`."""

    def setup(self, stage: str | None = None) -> None:
        read_released(self)


class MoseiDataModule(ReleasedDataModule):
    """CMU-MOSEI in the released layout (`<data_dir>/preprocess_data/final_feat/...`)."""

    record = MOSEI


class M3EDDataModule(ReleasedDataModule):
    """M3ED in the released layout."""

    record = M3ED
