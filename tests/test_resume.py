"""A run killed after 2 of 4 epochs and resumed from `last.ckpt` ends exactly like one that ran
through: the same weights after every epoch and the same test metrics."""

import json
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Callback
from omegaconf import open_dict

from univa.train import train

RUN = [
    "dataset.size=tiny",
    "dataset.batch_size=8",
    "trainer.max_epochs=4",
    "logger=csv",
    "trainer.log_every_n_steps=1",
    "callbacks.model_checkpoint.save_top_k=-1",
]


class KilledError(Exception):
    """Stands for the run being killed."""


class KillAfterEpochs(Callback):
    """Kills a run as epoch `epochs` begins: its `last.ckpt` holds the first `epochs` epochs,
    its learning-rate schedule planned for all of them."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epochs:
            raise KilledError


@pytest.mark.slow
def test_resumed_run_ends_exactly_like_an_uninterrupted_one(compose_cfg, tmp_path: Path) -> None:
    def run(name: str, *overrides: str) -> Path:
        cfg = compose_cfg(*RUN, *overrides)
        with open_dict(cfg):
            cfg.paths.output_dir = str(tmp_path / name)
        train(cfg)
        return tmp_path / name

    def weights(run_dir: Path, epoch: int) -> dict[str, torch.Tensor]:
        (path,) = (run_dir / "checkpoints").glob(f"epoch{epoch:03d}-*.ckpt")
        return torch.load(path, weights_only=True)["state_dict"]

    straight = run("straight")
    kill = ["+callbacks.kill._target_=test_resume.KillAfterEpochs", "+callbacks.kill.epochs=2"]
    with pytest.raises(KilledError):
        run("killed", *kill)
    resumed = run("resumed", f"ckpt_path={tmp_path / 'killed' / 'checkpoints' / 'last.ckpt'}")

    for epoch, other in ((0, "killed"), (1, "killed"), (2, "resumed"), (3, "resumed")):
        expected, got = weights(straight, epoch), weights(tmp_path / other, epoch)
        assert all(torch.equal(expected[key], got[key]) for key in expected), f"epoch {epoch}"
    results = [json.loads((d / "results.json").read_text())["test"] for d in (straight, resumed)]
    assert results[0] == results[1]
