"""Per-modality sequence encoder (docs/method.md §2.1): projection, positions, BERT layers, pooling."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from univa.model.pooling import AdditiveAttentionPooling

PAD_SCORE = -10000.0  # additive score of padded keys, as in BERT and the original code


class TransformerLayer(nn.Module):
    """Post-LayerNorm BERT layer on fused attention (`scaled_dot_product_attention`)."""

    def __init__(
        self,
        hidden_size: int,
        num_heads: int,
        ffn_size: int,
        hidden_dropout: float,
        attention_dropout: float,
        layer_norm_eps: float,
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.qkv = nn.Linear(hidden_size, 3 * hidden_size)
        self.attn_out = nn.Linear(hidden_size, hidden_size)
        self.attn_norm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.ffn_in = nn.Linear(hidden_size, ffn_size)
        self.ffn_out = nn.Linear(ffn_size, hidden_size)
        self.ffn_norm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.dropout = nn.Dropout(hidden_dropout)

    def forward(self, x: torch.Tensor, attn_bias: torch.Tensor) -> torch.Tensor:
        """x (B, L, H); attn_bias (B, 1, 1, L) additive scores, PAD_SCORE on padded keys."""
        batch, length, hidden = x.shape
        q, k, v = (
            self.qkv(x)
            .view(batch, length, 3, self.num_heads, hidden // self.num_heads)
            .permute(2, 0, 3, 1, 4)
        )  # each (B, heads, L, head_dim)
        context = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_bias, dropout_p=self.attention_dropout if self.training else 0.0
        )
        context = context.transpose(1, 2).reshape(batch, length, hidden)
        x = self.attn_norm(x + self.dropout(self.attn_out(context)))
        return self.ffn_norm(x + self.dropout(self.ffn_out(F.gelu(self.ffn_in(x)))))


class SequenceEncoder(nn.Module):
    """x (B, L, D) -> Linear -> Dropout -> + positions -> N layers -> additive pooling -> (B, H)."""

    def __init__(
        self,
        modality: str,
        input_dim: int,
        max_len: int,
        num_layers: int,
        hidden_size: int,
        num_heads: int,
        ffn_size: int,
        hidden_dropout: float,
        attention_dropout: float,
        fc_dropout: float,
        layer_norm_eps: float,
    ) -> None:
        super().__init__()
        self.modality = modality
        self.projection = nn.Sequential(nn.Linear(input_dim, hidden_size), nn.Dropout(fc_dropout))
        self.positions = nn.Embedding(max_len, hidden_size)
        self.layers = nn.ModuleList(
            TransformerLayer(
                hidden_size, num_heads, ffn_size, hidden_dropout, attention_dropout, layer_norm_eps
            )
            for _ in range(num_layers)
        )
        self.pooling = AdditiveAttentionPooling(hidden_size)

    def extra_repr(self) -> str:
        """Names the modality in printed models and Lightning's summary."""
        return f"modality={self.modality!r}"

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (B, L, D), mask (B, L) with 1 on real steps -> pooled (B, H)."""
        hidden = self.projection(x) + self.positions.weight[: x.shape[1]]
        attn_bias = ((1.0 - mask.to(hidden.dtype)) * PAD_SCORE)[:, None, None, :]
        for layer in self.layers:
            hidden = layer(hidden, attn_bias)
        return self.pooling(hidden, mask)
