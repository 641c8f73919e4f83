"""univa's Lightning callbacks on their own."""

from types import SimpleNamespace

import pytest
import torch

from univa.errors import NonFiniteLossError
from univa.training.callbacks import NonFiniteLossGuard, RankEpochSeed


def fake_trainer(epoch: int = 1, step: int = 5, rank: int = 0) -> SimpleNamespace:
    checkpoint = SimpleNamespace(last_model_path="run/checkpoints/last.ckpt")
    return SimpleNamespace(
        current_epoch=epoch, global_step=step, global_rank=rank, checkpoint_callback=checkpoint
    )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_guard_stops_on_a_non_finite_loss_naming_the_last_good_checkpoint(value: float) -> None:
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, step 5.*run/checkpoints/last.ckpt"):
        NonFiniteLossGuard().on_before_backward(fake_trainer(), None, torch.tensor(value))


def test_guard_lets_finite_losses_through() -> None:
    NonFiniteLossGuard().on_before_backward(fake_trainer(), None, torch.tensor(3.5))


def test_epoch_seed_depends_on_epoch_and_rank_only() -> None:
    def draws(epoch: int, rank: int) -> torch.Tensor:
        torch.rand(7)  # whatever was drawn before does not matter
        RankEpochSeed(11).on_train_batch_start(fake_trainer(epoch=epoch, rank=rank), None, None, 0)
        return torch.rand(3)

    assert torch.equal(draws(2, 0), draws(2, 0))
    assert not torch.equal(draws(2, 0), draws(3, 0))
    assert not torch.equal(draws(2, 0), draws(2, 1))
