"""Text encoder on a pretrained language model (docs/method.md §2.4, PLM path)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from transformers import AutoModel, PretrainedConfig
from transformers.utils import logging as hf_logging

from univa.custom_code import refuse_custom_code
from univa.model.pooling import AdditiveAttentionPooling


def gather_to_front(states: torch.Tensor, keep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Move the kept steps of each row to the front, in order, zero-filling the rest.

    states (B, S, H), keep (B, S) 0/1 -> (B, S, H) and the mask of the moved steps (B, S).
    One stable sort and one gather: no Python loop over the batch, no host-device sync.
    """
    keep = keep.bool()
    order = torch.sort(keep.to(torch.uint8), dim=1, descending=True, stable=True).indices
    mask = torch.gather(keep, 1, order)
    gathered = torch.gather(states, 1, order[..., None].expand(-1, -1, states.shape[-1]))
    return gathered * mask[..., None].to(gathered.dtype), mask.to(states.dtype)


# transformers' bar over the weights it reads from disk (not a download: those bars stay)
WEIGHTS_BAR = "Loading weights"


@contextmanager
def no_weights_loading_bar() -> Iterator[None]:
    """Hide transformers' "Loading weights" bar, a fraction of a second of a run's stderr;
    any other bar goes on to the hook set before, if any."""
    previous = None

    def hook(factory: Any, args: tuple, kwargs: dict) -> Any:
        if kwargs.get("desc") == WEIGHTS_BAR:
            kwargs = {**kwargs, "disable": True}
        return previous(factory, args, kwargs) if previous else factory(*args, **kwargs)

    previous = hf_logging.set_tqdm_hook(hook)
    try:
        yield
    finally:
        hf_logging.set_tqdm_hook(previous)


class PLMTextEncoder(nn.Module):
    """Dialogue through the PLM, the target utterance's tokens -> Linear -> Dropout -> pooling.

    The PLM sees the whole dialogue as context; only the target utterance's token states are
    pooled. Its pooler is frozen, as in the paper (it is never used). Given `plm_config` (the
    PLM's Hugging Face config, as an exported folder holds it), the PLM is built from it with
    untrained weights, to be replaced by the saved ones: nothing is read from `name_or_path`.
    """

    def __init__(
        self,
        name_or_path: str,
        hidden_size: int,
        fc_dropout: float,
        plm_config: PretrainedConfig | None = None,
    ) -> None:
        super().__init__()
        if plm_config is None:
            refuse_custom_code(name_or_path)
            with no_weights_loading_bar():
                plm = AutoModel.from_pretrained(name_or_path, trust_remote_code=False)
            self.plm = plm.train()  # loads in eval mode
        else:
            self.plm = AutoModel.from_config(plm_config, trust_remote_code=False)
        pooler = getattr(self.plm, "pooler", None)
        if pooler is not None:
            pooler.requires_grad_(False)
        self.projection = nn.Sequential(
            nn.Linear(self.plm.config.hidden_size, hidden_size), nn.Dropout(fc_dropout)
        )
        self.pooling = AdditiveAttentionPooling(hidden_size)

    def forward(
        self,
        ids: torch.Tensor,
        attention_mask: torch.Tensor,
        utterance_mask: torch.Tensor,
        dialogue_rows: torch.Tensor | None = None,
        row_dialogue: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """ids, attention_mask, utterance_mask (B, S) -> pooled utterance (B, H).

        With `dialogue_rows` (D,) and `row_dialogue` (B,) (rows that read the same dialogue),
        only the D distinct dialogues go through the PLM and each row reads its dialogue's
        states: the same result when nothing random happens, D/B of the PLM's cost.
        """
        shared = dialogue_rows is not None and row_dialogue is not None
        if shared:
            ids, attention_mask = ids[dialogue_rows], attention_mask[dialogue_rows]
        states = self.plm(input_ids=ids, attention_mask=attention_mask.long()).last_hidden_state
        if shared:
            states = states[row_dialogue]
        tokens, mask = gather_to_front(states, utterance_mask)
        return self.pooling(self.projection(tokens), mask)
