"""The assembled network: output contract of SPEC section 8, modes and the prior parameter."""

import pytest
import torch

from univa.label_prior import label_similarity
from univa.model import UniVA, UniVAConfig

LABELS = ["happy", "sad", "anger", "surprise", "disgust", "fear"]
DIMS = {"text": 300, "audio": 74, "vision": 35}
LENS = {"text": 9, "audio": 11, "vision": 13}


def tiny_config(**overrides) -> UniVAConfig:
    options = dict(
        labels=LABELS,
        input_dims=DIMS,
        max_lens=LENS,
        hidden_size=16,
        num_heads=2,
        ffn_size=32,
        num_layers={"text": 1, "audio": 2, "vision": 1},
    )
    return UniVAConfig(**(options | overrides))


def tiny_batch(batch: int = 5) -> dict[str, torch.Tensor]:
    out = {"labels": torch.randint(0, 2, (batch, len(LABELS))).float()}
    for modality, dim in DIMS.items():
        lengths = torch.randint(1, LENS[modality] + 1, (batch,))
        out[modality] = torch.randn(batch, LENS[modality], dim)
        out[f"{modality}_mask"] = (torch.arange(LENS[modality]) < lengths[:, None]).float()
        out[f"va_{modality}"] = torch.randn(batch, 2)
    return out


def test_kl_mode_outputs() -> None:
    model = UniVA(tiny_config()).eval()
    out = model(tiny_batch())
    assert out["logits"].shape == (5, 6)
    torch.testing.assert_close(out["probs"].sum(-1), torch.ones(5))
    torch.testing.assert_close(out["log_probs"].exp(), out["probs"])
    assert torch.equal(out["preds"], (out["probs"] > 0.18).long())
    assert set(out["features"]) == {"text", "audio", "vision"}
    assert all(f.shape == (5, 16) for f in out["features"].values())


def test_bce_mode_uses_sigmoid_scores() -> None:
    model = UniVA(tiny_config(loss_mode="bce", threshold=0.5)).eval()
    out = model(tiny_batch())
    assert "log_probs" not in out
    torch.testing.assert_close(out["probs"], torch.sigmoid(out["logits"]))
    assert torch.equal(out["preds"], (out["probs"] > 0.5).long())


def test_label_prior_is_a_trainable_parameter_initialised_to_the_matrix() -> None:
    model = UniVA(tiny_config(label_prior=True))
    assert model.label_similarity.requires_grad
    torch.testing.assert_close(model.label_similarity.detach(), label_similarity(LABELS))
    assert not hasattr(UniVA(tiny_config()), "label_similarity")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"modalities": ["text", "smell"]}, "model.modalities"),
        ({"loss_mode": "focal"}, "model.loss_mode"),
        ({"num_heads": 3}, "model.num_heads"),
        ({"threshold": 1.5}, "model.threshold"),
    ],
)
def test_invalid_options_are_named(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tiny_config(**overrides)
