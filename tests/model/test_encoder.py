"""Encoder pieces against straightforward re-implementations of the original BERT-style layer."""

import math

import pytest
import torch
from torch import nn

from univa.model.encoder import SequenceEncoder, TransformerLayer
from univa.model.pooling import AdditiveAttentionPooling


def reference_layer(layer: TransformerLayer, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Separate Q/K/V, explicit softmax with -10000 on padded keys, erf GELU, post-LayerNorm."""
    batch, length, hidden = x.shape
    heads, size = layer.num_heads, hidden // layer.num_heads
    wq, wk, wv = layer.qkv.weight.chunk(3)
    bq, bk, bv = layer.qkv.bias.chunk(3)

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.view(batch, length, heads, size).permute(0, 2, 1, 3)

    q, k, v = split(x @ wq.T + bq), split(x @ wk.T + bk), split(x @ wv.T + bv)
    scores = q @ k.transpose(-1, -2) / math.sqrt(size) + (1.0 - mask)[:, None, None, :] * -10000.0
    context = (scores.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(batch, length, hidden)
    attended = layer.attn_norm(layer.attn_out(context) + x)
    gelu = lambda t: t * 0.5 * (1.0 + torch.erf(t / math.sqrt(2.0)))  # noqa: E731
    return layer.ffn_norm(layer.ffn_out(gelu(layer.ffn_in(attended))) + attended)


def test_layer_matches_reference() -> None:
    torch.manual_seed(0)
    layer = TransformerLayer(16, 4, 32, 0.1, 0.1, 1e-12).eval()
    x = torch.randn(3, 5, 16)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.float32)
    bias = ((1.0 - mask) * -10000.0)[:, None, None, :]
    torch.testing.assert_close(
        layer(x, bias), reference_layer(layer, x, mask), atol=1e-5, rtol=1e-5
    )


def test_pooling_ignores_padded_steps_and_matches_formula() -> None:
    torch.manual_seed(0)
    pool = AdditiveAttentionPooling(8)
    x = torch.randn(2, 4, 8)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.float32)
    scores = pool.score(torch.tanh(pool.P(x) + pool.Q(pool.query))).squeeze(-1)
    weights = scores.masked_fill(mask == 0, -1e9).softmax(-1)
    torch.testing.assert_close(pool(x, mask), (weights[..., None] * x).sum(1))
    changed = x.clone()
    changed[0, 2:] = 100.0  # garbage in padded steps changes nothing
    torch.testing.assert_close(pool(changed, mask)[0], pool(x, mask)[0])


def test_pooling_of_length_one_is_the_step_itself() -> None:
    x = torch.randn(3, 1, 8)
    torch.testing.assert_close(AdditiveAttentionPooling(8)(x, torch.ones(3, 1)), x[:, 0])


@pytest.fixture
def encoder() -> SequenceEncoder:
    torch.manual_seed(0)
    return SequenceEncoder(
        modality="audio",
        input_dim=7,
        max_len=10,
        num_layers=2,
        hidden_size=16,
        num_heads=4,
        ffn_size=32,
        hidden_dropout=0.1,
        attention_dropout=0.1,
        fc_dropout=0.1,
        layer_norm_eps=1e-12,
    ).eval()


def test_encoder_output_does_not_depend_on_padding(encoder: SequenceEncoder) -> None:
    x = torch.randn(2, 6, 7)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.float32)
    noisy = x.clone()
    noisy[0, 3:] = torch.randn(3, 7) * 10
    torch.testing.assert_close(encoder(noisy, mask), encoder(x, mask), atol=1e-5, rtol=1e-5)
    # trimming the padding columns of row 0 alone gives the same vector
    torch.testing.assert_close(
        encoder(x[:1, :3], mask[:1, :3]), encoder(x, mask)[:1], atol=1e-5, rtol=1e-5
    )


def test_encoder_shapes_and_dropout_only_in_training(encoder: SequenceEncoder) -> None:
    x, mask = torch.randn(4, 10, 7), torch.ones(4, 10)
    assert encoder(x, mask).shape == (4, 16)
    torch.testing.assert_close(encoder(x, mask), encoder(x, mask))
    encoder.train()
    assert not torch.allclose(encoder(x, mask), encoder(x, mask))
    assert isinstance(encoder.projection[1], nn.Dropout)
