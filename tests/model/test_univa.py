"""The assembled network: output contract of docs/api.md §1.3, modes and the prior parameter."""

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


def test_each_encoder_reads_only_its_modalitys_features_and_mask() -> None:
    """`UniVA.encode` names what flows where: the audio encoder needs `audio` and `audio_mask`
    and nothing else of the batch, and gives the features `forward` fuses."""
    model = UniVA(tiny_config()).eval()
    batch = tiny_batch()
    features = model(batch)["features"]
    for modality in ("text", "audio", "vision"):
        own = {key: batch[key] for key in (modality, f"{modality}_mask")}
        torch.testing.assert_close(model.encode(modality, own), features[modality])


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


SUBSETS = [
    ["text", "audio", "vision"], ["text", "audio"], ["text", "vision"], ["audio", "vision"],
    ["text"], ["audio"], ["vision"],
]  # fmt: skip


@pytest.mark.parametrize("modalities", SUBSETS, ids=["+".join(m) for m in SUBSETS])
def test_every_modality_subset_trains(modalities: list[str]) -> None:
    from univa import UniVALitModule

    module = UniVALitModule(
        labels=LABELS, input_dims=DIMS, max_lens=LENS, modalities=modalities, hidden_size=16,
        num_heads=2, ffn_size=32, num_layers={"text": 1, "audio": 1, "vision": 1},
    )  # fmt: skip
    assert module.model.classifier[0].in_features == 16 * len(modalities)
    batch = tiny_batch()
    out = module.model(batch)
    assert set(out["features"]) == set(modalities)
    losses = module.compute_losses(batch, out)
    assert {f"con_{m}" for m in modalities} <= set(losses)
    losses["total"].backward()
    grads = {
        n.split(".")[1]
        for n, p in module.model.named_parameters()
        if p.grad is not None and n.startswith("encoders.")
    }
    assert grads == set(modalities)
