"""Interrupted runs: resumed from `last.ckpt` they end exactly like uninterrupted ones, and a
SIGTERM leaves a checkpoint and a message saying where to resume."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Callback
from omegaconf import open_dict
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from univa.errors import InterruptedRunError
from univa.train import train
from wandb_offline import offline_runs

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


class SigtermInTheFirstEpoch(Callback):
    """A scheduler's SIGTERM during the first epoch's second step: no epoch completed."""

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int
    ) -> None:
        if trainer.current_epoch == 0 and batch_idx == 1:
            os.kill(os.getpid(), signal.SIGTERM)


class SigtermInTheThirdEpoch(Callback):
    """A scheduler's SIGTERM at the third epoch's fourth step: `last.ckpt` holds two epochs, and
    the loggers hold steps after it that the continued run logs again."""

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int
    ) -> None:
        if trainer.current_epoch == 2 and batch_idx == 3:
            os.kill(os.getpid(), signal.SIGTERM)


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


@pytest.mark.slow
def test_a_run_continued_in_place_logs_every_epoch_once(
    compose_cfg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted in its third epoch and continued as the README says (`hydra.run.dir=<run>
    ckpt_path=last`): metrics.csv and the TensorBoard events hold every step once (the
    interrupted run's steps after last.ckpt dropped), and W&B continues the same run."""
    for name in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / "wandb_home"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_RUN_ID", raising=False)
    logged = [*RUN, "logger=many_loggers", "logger.wandb.mode=offline", "analysis.enabled=false"]
    with pytest.raises(InterruptedRunError):
        train(compose_cfg(*logged, "+callbacks.term._target_=test_resume.SigtermInTheThirdEpoch"))
    cfg = compose_cfg(*logged, "ckpt_path=last")  # the same folder
    train(cfg)

    run_dir = Path(cfg.paths.output_dir)
    with (run_dir / "csv" / "metrics.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    steps_per_epoch = int(next(row["step"] for row in rows if row["val/micro_f1"])) + 1
    every_step = list(range(4 * steps_per_epoch))
    # epoch 4: the best checkpoint's validation after training
    assert [row["epoch"] for row in rows if row["val/micro_f1"]] == ["0", "1", "2", "3", "4"]
    assert [int(row["step"]) for row in rows if row["lr-AdamW"]] == every_step
    events = EventAccumulator(str(run_dir / "tensorboard"), purge_orphaned_data=False)
    events.Reload()
    assert [event.step for event in events.Scalars("lr-AdamW")] == every_step
    validated = [event.step for event in events.Scalars("val/micro_f1")]
    assert validated == [*(steps_per_epoch * k - 1 for k in (1, 2, 3, 4)), len(every_step)]
    interrupted, continued = offline_runs(run_dir / "wandb")
    assert continued.run_id == interrupted.run_id
    assert min(continued.column("epoch")) == 2


@pytest.mark.slow
def test_sigterm_saves_the_state_and_says_where_to_resume(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "univa.train", f"paths.root_dir={tmp_path}", "dataset.size=tiny",
        "dataset.batch_size=8", "trainer.max_epochs=10000", "logger=csv",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list(tmp_path.glob("logs/train/runs/*/checkpoints/last.ckpt")):
        assert process.poll() is None and time.monotonic() < deadline, "no checkpoint written"
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    (run_dir,) = tmp_path.glob("logs/train/runs/*")
    assert "training was interrupted" in stderr
    assert f"hydra.run.dir={run_dir} ckpt_path=last" in stderr  # as the README continues it
    # saving the state named Lightning's `weights_only` option, read as an unsafe load
    assert "weights_only" not in stdout + stderr
    assert (run_dir / "checkpoints" / "on_exception.ckpt").is_file()
    assert not (run_dir / "results.json").exists()


@pytest.mark.slow
def test_sigterm_in_the_first_epoch_names_no_last_ckpt(compose_cfg) -> None:
    cfg = compose_cfg(
        *RUN[:2], "trainer.max_epochs=1", "analysis.enabled=false",
        "+callbacks.term._target_=test_resume.SigtermInTheFirstEpoch",
    )  # fmt: skip
    with pytest.raises(InterruptedRunError) as interrupted:
        train(cfg)
    checkpoints = Path(cfg.paths.output_dir) / "checkpoints"
    message = str(interrupted.value)
    assert not (checkpoints / "last.ckpt").exists()
    assert f"the state reached is in {checkpoints / 'on_exception.ckpt'}" in message
    assert "no epoch was completed, so there is no last.ckpt" in message
    assert f"ckpt_path={checkpoints / 'last.ckpt'}" not in message
