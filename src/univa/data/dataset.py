"""Map-style dataset of un-batched dicts (SPEC section 8) and the collate that batches them."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset, default_collate

from univa.data.released import SplitArrays
from univa.data.va import VANorm, normalize_va


class EmotionDataset(Dataset):
    """Utterances of one split held as tensors; item i is a dict of row i of each tensor."""

    def __init__(self, tensors: dict[str, torch.Tensor]) -> None:
        sizes = {key: t.shape[0] for key, t in tensors.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"all tensors need the same number of rows, got {sizes}")
        self.tensors = tensors

    @classmethod
    def from_arrays(cls, arrays: SplitArrays, va_norm: VANorm = "reference") -> EmotionDataset:
        """Features with masks, labels, and each modality's VA standardised over the split."""
        tensors = {"labels": torch.from_numpy(arrays.labels)}
        for modality, features in arrays.features.items():
            tensors[modality] = torch.from_numpy(features)
            tensors[f"{modality}_mask"] = torch.from_numpy(arrays.masks[modality])
            tensors[f"va_{modality}"] = normalize_va(torch.from_numpy(arrays.va[modality]), va_norm)
        return cls(tensors)

    def __len__(self) -> int:
        return self.tensors["labels"].shape[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {key: tensor[index] for key, tensor in self.tensors.items()}


def collate_trimmed(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack items, then cut each padded sequence to the longest real length in the batch.

    Exact: padded keys get exp(-10000) = 0 attention and -1e9 pooling scores, so the columns
    dropped here never change a result; they only cost compute.
    """
    batch = default_collate(items)
    for key in [k for k in batch if k.endswith("_mask")]:
        modality = key.removesuffix("_mask")
        real_columns = batch[key].any(dim=0).nonzero()
        length = int(real_columns.max()) + 1 if len(real_columns) else 1
        batch[key] = batch[key][:, :length]
        batch[modality] = batch[modality][:, :length]
    return batch
