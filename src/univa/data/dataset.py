"""Map-style dataset of un-batched dicts (SPEC section 8) and the collate that batches them."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset, default_collate

from univa.data.released import SplitArrays
from univa.data.va import VANorm, normalize_va
from univa.vocabulary import Batch, mask_key, va_key


class EmotionDataset(Dataset):
    """Utterances of one split held as tensors; item i is a dict of row i of each tensor."""

    def __init__(self, tensors: dict[str, torch.Tensor]) -> None:
        sizes = {key: t.shape[0] for key, t in tensors.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"all tensors need the same number of rows, got {sizes}")
        self.tensors = tensors

    def __len__(self) -> int:
        return self.tensors["labels"].shape[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {key: tensor[index] for key, tensor in self.tensors.items()}


def split_tensors(
    arrays: SplitArrays, va_norm: VANorm = "reference", split: str = "split"
) -> dict[str, torch.Tensor]:
    """Batch-dict tensors of a whole split (SPEC section 8 keys), VA standardised per split
    (`split` names it in warnings, e.g. "MOSEI train")."""
    tensors = {"labels": torch.from_numpy(arrays.labels)}
    for modality, features in arrays.features.items():
        tensors[modality] = torch.from_numpy(features)
        tensors[mask_key(modality)] = torch.from_numpy(arrays.masks[modality])
        va = torch.from_numpy(arrays.va[modality])
        tensors[va_key(modality)] = normalize_va(va, va_norm, f"{split} {modality} VA")
    return tensors


def collate_trimmed(items: list[dict[str, torch.Tensor]]) -> Batch:
    """Stack items, then cut each modality's padded sequences to the batch's longest real one.

    `<m>_mask` marks the real steps of modality m; every `<m>` and `<m>_*` tensor (features,
    token ids, utterance mask) is cut with it. Exact: padded keys get exp(-10000) = 0 attention
    and -1e9 pooling scores, so the columns dropped here never change a result; they only
    cost compute (the PLM path no longer pads every dialogue to 512 tokens).
    """
    batch = default_collate(items)
    for mask in [k for k in batch if k.endswith("_mask") and k.count("_") == 1]:
        modality = mask.removesuffix("_mask")
        real_columns = batch[mask].any(dim=0).nonzero()
        length = int(real_columns.max()) + 1 if len(real_columns) else 1
        for key in [k for k in batch if k == modality or k.startswith(f"{modality}_")]:
            batch[key] = batch[key][:, :length]
    return batch
