"""Sweeps through Hydra's launcher plugins (issue 15, item 4; the `sweeps` extra): univa's
`hydra/launcher=submitit_slurm` composes with its documented keys, paired with the trainer's
devices, and a `submitit_local` sweep runs each job in a process of its own, with its own run
folder, results.json and W&B run, which `univa.aggregate` reads as any sweep."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from composing import compose_task
from univa.aggregate import CSV_FILE
from wandb_offline import offline_runs

pytest.importorskip("hydra_plugins.hydra_submitit_launcher")


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as file:
        return {row["overrides"]: row for row in csv.DictReader(file)}


@pytest.mark.parametrize(("trainer", "tasks"), [("ddp4", 4), ("gpu", 1)])
def test_the_slurm_launcher_composes_one_task_per_gpu(tmp_path: Path, trainer, tasks):
    cfg = compose_task(
        "train", tmp_path, "dataset=mosei", "text=roberta", f"trainer={trainer}",
        "hydra/launcher=submitit_slurm", "hydra.launcher.partition=gpu",
    )  # fmt: skip
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert (launcher.tasks_per_node, launcher.gpus_per_node, launcher.nodes) == (tasks, tasks, 1)
    assert (launcher.partition, launcher.timeout_min, launcher.array_parallelism) == ("gpu", 720, 8)
    assert launcher.qos is None  # the plugin's own keys are there too


def test_the_slurm_launcher_config_shows_on_the_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "univa.train", "seed=1", "dataset=mosei", "text=roberta",
         "trainer=ddp4", "hydra/launcher=submitit_slurm", "--cfg", "hydra"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "SlurmLauncher" in done.stdout and "array_parallelism: 8" in done.stdout
    assert "schema" not in done.stderr  # Hydra's schema-matching warning is not shown


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["submitit_local", "joblib"])
def test_a_launched_sweep_keeps_a_folder_per_job_and_aggregates(tmp_path: Path, launcher):
    wandb_home = str(tmp_path / "wandb_home")
    env = os.environ | {
        "OMP_NUM_THREADS": "1",
        "WANDB_SILENT": "true",
        "WANDB_CONFIG_DIR": wandb_home,
        "WANDB_CACHE_DIR": wandb_home,
        "WANDB_DATA_DIR": wandb_home,
    }
    command = [
        sys.executable, "-m", "univa.train", "-m", "seed=1,2", f"hydra/launcher={launcher}",
        f"paths.root_dir={tmp_path}", "dataset.size=tiny", "trainer.max_epochs=1",
        "dataset.batch_size=8", "analysis.enabled=false", "logger=wandb",
        "logger.wandb.mode=offline",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    (sweep,) = (tmp_path / "logs" / "train" / "multiruns").iterdir()
    jobs = sorted(p.name for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert jobs == ["0", "1"]
    for job, seed in zip(jobs, (1, 2), strict=True):
        results = json.loads((sweep / job / "results.json").read_text())
        assert results["seed"] == seed
        (run,) = offline_runs(sweep / job / "wandb")
        assert run.summary["test/micro_f1"] == pytest.approx(results["test"]["micro_f1"])
        assert not (sweep / job / ".univa.lock").exists()
    done = subprocess.run(
        [sys.executable, "-m", "univa.aggregate", f"sweep_dir={sweep}"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    (row,) = read_csv(sweep / CSV_FILE).values()
    assert row["n"] == "2" and row["seeds"] == "1 2"
