"""Additive-attention pooling (docs/method.md §2.3): a learned query scores every time step."""

from __future__ import annotations

import torch
from torch import nn


class AdditiveAttentionPooling(nn.Module):
    """h = sum_t alpha_t x_t with alpha = softmax_t(w . tanh(P x_t + Q q) + b) over real steps."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.query = nn.Parameter(torch.randn(hidden_size))
        self.P = nn.Linear(hidden_size, hidden_size)
        self.Q = nn.Linear(hidden_size, hidden_size)
        self.score = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (B, L, H), mask (B, L) with 1 on real steps -> (B, H)."""
        if x.shape[1] == 1:
            return x[:, 0]
        scores = self.score(torch.tanh(self.P(x) + self.Q(self.query))).squeeze(-1)  # (B, L)
        scores = scores.masked_fill(mask == 0, -1e9)
        weights = torch.softmax(scores, dim=-1)
        return torch.einsum("bl,blh->bh", weights, x)
