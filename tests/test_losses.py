"""The losses against slow, obviously-correct loops written here (the paper's description) and
against the original code's own algorithm (`original_model`)."""

import math

import pytest
import torch

from original_model import va_aware_supcon_loss
from univa.errors import InputError
from univa.losses import (
    LossConfig,
    bce_classification_loss,
    kl_classification_loss,
    label_prior_term,
    univa_losses,
    va_supcon_loss,
)


def reference_supcon(
    features: torch.Tensor, va: torch.Tensor | None, delta: float, tau: float
) -> float:
    """Double loop over anchors and contrast rows, as the paper describes the loss."""
    batch = features.shape[0]
    views = torch.cat([features, features]).double()
    total = 0.0
    for i in range(batch):
        contrast = [j for j in range(2 * batch) if j != i]
        positives = [i + batch]
        for j in range(batch):
            if j != i and va is not None and torch.dist(va[i], va[j]) < delta:
                positives += [j, j + batch]
        logits = {j: float(views[i] @ views[j]) / tau for j in contrast}
        log_norm = math.log(sum(math.exp(v) for v in logits.values()))
        total += -sum(logits[p] - log_norm for p in positives) / len(positives)
    return total / batch


@pytest.mark.parametrize("use_va", [True, False])
@pytest.mark.parametrize("batch", [1, 2, 7, 16])
def test_supcon_matches_reference_loop(batch: int, use_va: bool) -> None:
    generator = torch.Generator().manual_seed(batch)
    features = torch.randn(batch, 12, generator=generator) * 0.5
    va = torch.randn(batch, 2, generator=generator) * 0.3 if use_va else None
    loss = va_supcon_loss(features, va, threshold=0.4, temperature=0.7)
    expected = reference_supcon(features, va, 0.4, 0.7)
    assert loss.item() == pytest.approx(expected, rel=1e-4)


def test_supcon_va_positives_change_the_loss() -> None:
    features = torch.randn(8, 4)
    va = torch.zeros(8, 2)  # everyone is everyone's positive
    with_va = va_supcon_loss(features, va, 0.1, 0.5)
    without = va_supcon_loss(features, None, 0.1, 0.5)
    assert not torch.isclose(with_va, without)


def test_supcon_is_finite_and_differentiable_for_large_logits() -> None:
    features = (torch.randn(6, 8) * 50).requires_grad_()
    loss = va_supcon_loss(features, torch.randn(6, 2), 0.5, 0.05)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(features.grad).all()


def test_kl_loss_is_1000_times_mean_kl_to_softmax_of_labels() -> None:
    logits = torch.randn(5, 6)
    labels = torch.randint(0, 2, (5, 6)).float()
    log_probs = torch.log_softmax(logits, dim=-1)
    target = torch.softmax(labels, dim=-1)
    expected = 1000 * (target * (target.log() - log_probs)).sum() / target.numel()
    assert kl_classification_loss(log_probs, labels).item() == pytest.approx(
        expected.item(), rel=1e-5
    )


def test_label_prior_term_matches_loop() -> None:
    scores = torch.randn(4, 3)
    similarity = torch.randn(3, 3)
    expected = (
        sum(
            similarity[c, d] * torch.sqrt(((scores[:, c] - scores[:, d]) ** 2).sum())
            for c in range(3)
            for d in range(3)
        )
        / 4
    )
    assert label_prior_term(scores, similarity).item() == pytest.approx(expected.item(), rel=1e-5)


def test_label_prior_gradient_is_finite_on_the_diagonal() -> None:
    scores = torch.randn(4, 3, requires_grad=True)
    label_prior_term(scores, torch.ones(3, 3)).backward()
    assert torch.isfinite(scores.grad).all()


def _out_and_batch(batch: int = 6, labels: int = 4, hidden: int = 5) -> tuple[dict, dict]:
    logits = torch.randn(batch, labels)
    out = {
        "logits": logits,
        "log_probs": torch.log_softmax(logits, -1),
        "features": {m: torch.randn(batch, hidden) for m in ("text", "audio", "vision")},
    }
    data = {"labels": torch.randint(0, 2, (batch, labels)).float()}
    data |= {f"va_{m}": torch.randn(batch, 2) for m in ("text", "audio", "vision")}
    return out, data


def test_total_combines_parts_with_alpha_and_modality_weights() -> None:
    out, batch = _out_and_batch()
    config = LossConfig(
        alpha=0.3,
        temperature=0.5,
        delta=0.2,
        contrastive_weights={"text": 3, "audio": 1, "vision": 1},
    )
    losses = univa_losses(out, batch, config, loss_mode="kl")
    con = (3 * losses["con_text"] + losses["con_audio"] + losses["con_vision"]) / 3
    assert losses["con"].item() == pytest.approx(con.item())
    assert losses["total"].item() == pytest.approx((0.7 * losses["cls"] + 0.3 * con).item())


def test_the_classification_loss_holds_the_label_prior_which_is_also_shown_alone() -> None:
    """docs/api.md §1: `cls` is the classification loss with the prior term."""
    out, batch = _out_and_batch()
    labels = out["log_probs"].shape[1]
    similarity = torch.rand(labels, labels)
    config = LossConfig(alpha=0.3, temperature=0.5, delta=0.2)
    losses = univa_losses(out, batch, config, similarity, loss_mode="kl")
    without = univa_losses(out, batch, config, loss_mode="kl")
    prior = label_prior_term(out["log_probs"], similarity)
    assert prior.item() != 0
    assert losses["prior"].item() == pytest.approx(prior.item())
    assert losses["cls"].item() == pytest.approx((without["cls"] + prior).item())
    expected = 0.7 * losses["cls"] + 0.3 * losses["con"]
    assert losses["total"].item() == pytest.approx(expected.item())
    assert "prior" not in without


def test_without_contrastive_the_total_is_the_classification_loss() -> None:
    out, batch = _out_and_batch()
    losses = univa_losses(out, batch, LossConfig(contrastive=False, alpha=0.4), loss_mode="kl")
    assert "con" not in losses
    assert losses["total"] is losses["cls"]


@pytest.mark.parametrize("mode", ["kl", "bce"])
def test_the_classification_loss_is_the_given_modes_whatever_the_output_holds(mode: str) -> None:
    """The mode is an argument (the network's `model.loss_mode`), not guessed from the output's
    keys: an output holding both log-probabilities and logits gets the loss it is told."""
    out, batch = _out_and_batch()
    out["probs"] = torch.sigmoid(out["logits"])
    losses = univa_losses(out, batch, LossConfig(contrastive=False), loss_mode=mode)
    labels = batch["labels"]
    if mode == "kl":
        expected = kl_classification_loss(out["log_probs"], labels)
    else:
        expected = bce_classification_loss(out["logits"], labels)
    assert losses["cls"].item() == pytest.approx(expected.item())


def test_an_unknown_loss_mode_is_named() -> None:
    out, batch = _out_and_batch()
    with pytest.raises(InputError, match=r"model\.loss_mode"):
        univa_losses(out, batch, LossConfig(), loss_mode="focal")


@pytest.mark.parametrize(
    ("option", "value"), [("temperature", 0.0), ("alpha", 1.5), ("alpha", -0.1), ("delta", -1.0)]
)
def test_invalid_loss_options_name_the_option(option: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"model.{option}"):
        LossConfig(**{option: value})


@pytest.mark.parametrize("seed", range(4))
def test_supcon_matches_the_original_formulation_within_1e4(seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(32, 64, generator=generator)
    va = torch.randn(32, 2, generator=generator) * 0.2  # many pairs under delta = 0.1
    ours = va_supcon_loss(features, va, threshold=0.1, temperature=0.4)
    theirs = va_aware_supcon_loss(torch.stack((features, features), dim=1), va, 0.1, 0.4)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-4)


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("mode", ["kl", "bce"])
def test_all_zero_labels_give_finite_losses_and_gradients(mode: str, batch: int) -> None:
    """No loss divides by a label count: an utterance without any emotion (frequent in MOSEI),
    or a whole batch of them, trains like any other. With identical VA every row is a VA
    positive of every other (what zero-spread standardisation gives)."""
    logits = torch.randn(batch, 4, requires_grad=True)
    features = {m: torch.randn(batch, 5, requires_grad=True) for m in ("text", "audio")}
    out = {"features": features}
    if mode == "kl":
        out["log_probs"] = torch.log_softmax(logits, -1)
    else:
        out |= {"logits": logits, "probs": torch.sigmoid(logits)}
    data = {"labels": torch.zeros(batch, 4)} | {f"va_{m}": torch.zeros(batch, 2) for m in features}
    config = LossConfig(contrastive_weights={"text": 1.0, "audio": 1.0})
    losses = univa_losses(out, data, config, torch.rand(4, 4), loss_mode=mode)
    assert all(torch.isfinite(value) for value in losses.values()), losses
    losses["total"].backward()
    for tensor in (logits, *features.values()):
        assert torch.isfinite(tensor.grad).all()
