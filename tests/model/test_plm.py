"""The PLM text path: gathering the target utterance's tokens, and the encoder on a tiny PLM."""

import torch

from univa.model.plm import gather_to_front


def original_gather(states: torch.Tensor, keep: torch.Tensor, attention: torch.Tensor):
    """The original model's per-row loop over the batch."""
    feats, masks = torch.zeros_like(states), torch.zeros_like(attention)
    for i in range(states.shape[0]):
        kept = keep[i].bool()
        feats[i, : int(kept.sum())] = states[i][kept]
        masks[i, : int(kept.sum())] = attention[i][kept]
    return feats, masks


def test_gather_matches_the_original_loop() -> None:
    torch.manual_seed(0)
    states = torch.randn(4, 9, 5)
    keep = torch.tensor(
        [
            [0, 1, 1, 1, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 1, 1, 0, 0],
            [0, 0, 0, 0, 0, 0, 0, 0, 0],  # an utterance cut to zero tokens
            [1, 1, 1, 1, 1, 1, 1, 1, 1],
        ]
    )
    attention = torch.ones(4, 9)
    gathered, mask = gather_to_front(states, keep)
    expected, expected_mask = original_gather(states, keep, attention)
    torch.testing.assert_close(gathered, expected)
    torch.testing.assert_close(mask, expected_mask)


def test_gather_passes_gradients_to_the_kept_states_only() -> None:
    states = torch.randn(2, 5, 3, requires_grad=True)
    keep = torch.tensor([[0, 1, 1, 0, 0], [1, 0, 0, 0, 1]])
    gathered, _ = gather_to_front(states, keep)
    gathered.sum().backward()
    torch.testing.assert_close(states.grad[..., 0], keep.float())


def test_loading_a_plm_shows_no_weights_loading_bar(tmp_path, capsys) -> None:
    """transformers' tqdm "Loading weights" bar is not a line of a run's output."""
    from transformers import BertConfig, BertModel

    from univa.model.plm import PLMTextEncoder

    config = BertConfig(
        vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=8, max_position_embeddings=16,
    )  # fmt: skip
    BertModel(config).save_pretrained(tmp_path)
    capsys.readouterr()
    encoder = PLMTextEncoder(str(tmp_path), hidden_size=4, fc_dropout=0.0)
    assert encoder.plm.config.hidden_size == 8
    assert "Loading weights" not in capsys.readouterr().err
