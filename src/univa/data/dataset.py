"""Map-style dataset of un-batched dicts (docs/api.md §1.2) and the collate that batches them."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset, default_collate

from univa.constants import Batch


class EmotionDataset(Dataset):
    """Utterances of one split held as tensors; item i is a dict of row i of each tensor, and
    item [i, j, ...] (from a sampler of whole batches) the dict of those rows, stacked."""

    def __init__(self, tensors: dict[str, torch.Tensor]) -> None:
        sizes = {key: t.shape[0] for key, t in tensors.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"all tensors need the same number of rows, got {sizes}")
        self.tensors = tensors

    def __len__(self) -> int:
        return next(iter(self.tensors.values())).shape[0]  # `labels` absent on new data

    def __getitem__(self, index: int | list[int]) -> dict[str, torch.Tensor]:
        return {key: tensor[index] for key, tensor in self.tensors.items()}


def collate_trimmed(items: list[dict[str, torch.Tensor]]) -> Batch:
    """Stack items, then cut padding as `trim_padding` does."""
    return trim_padding(default_collate(items))


def trim_padding(batch: Batch) -> Batch:
    """Cut each modality's padded sequences to the batch's longest real one.

    `<m>_mask` marks the real steps of modality m; every `<m>` and `<m>_*` tensor (features,
    token ids, utterance mask) is cut with it. Exact: padded keys get exp(-10000) = 0 attention
    and -1e9 pooling scores, so the columns dropped here never change a result; they only
    cost compute (the PLM path no longer pads every dialogue to 512 tokens).
    """
    for mask in [k for k in batch if k.endswith("_mask") and k.count("_") == 1]:
        modality = mask.removesuffix("_mask")
        real_columns = batch[mask].any(dim=0).nonzero()
        length = int(real_columns.max()) + 1 if len(real_columns) else 1
        for key in [k for k in batch if k == modality or k.startswith(f"{modality}_")]:
            batch[key] = batch[key][:, :length]
    return batch


def share_dialogues(batch: Batch) -> Batch:
    """Trim `batch` and, on the PLM path, mark the rows that can share one PLM pass.

    Rows with identical token ids and attention mask (the utterances of one dialogue) read the
    same PLM states: `dialogue_rows` (D,) are the rows run through the PLM, one per distinct
    dialogue, and `row_dialogue` (B,) says which of those passes each row reads. Found here, on
    the host, so the network needs no host-device sync to use them. Only for batches where
    sharing changes no result, i.e. without dropout, or where shared dropout is wanted.
    """
    batch = trim_padding(batch)
    if "text_ids" not in batch:
        return batch
    rows = torch.cat([batch["text_ids"], batch["text_mask"].long()], dim=1)
    _, row_dialogue = torch.unique(rows, dim=0, return_inverse=True)
    num_rows = len(row_dialogue)
    first = torch.full((int(row_dialogue.max()) + 1,), num_rows, dtype=torch.long)
    batch["dialogue_rows"] = first.scatter_reduce(0, row_dialogue, torch.arange(num_rows), "amin")
    batch["row_dialogue"] = row_dialogue
    return batch


def collate_shared(items: list[dict[str, torch.Tensor]]) -> Batch:
    """Stack items, then trim and mark shared dialogues as `share_dialogues` does."""
    return share_dialogues(default_collate(items))
