"""Which checkpoint a run resumes from, who owns a run folder, what an interrupted run says."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from univa import UniVALitModule
from univa.errors import UniVAError
from univa.training.run_folder import (
    LOCK,
    RunFolderGuard,
    claim_run_folder,
    interruption_message,
    is_job_leader,
)

SPEC = {
    "labels": ["a", "b"],
    "input_dims": {"text": 4, "audio": 3, "vision": 2},
    "max_lens": {"text": 2, "audio": 2, "vision": 2},
}


def training_checkpoint(path: Path) -> Path:
    module = UniVALitModule(
        **SPEC, hidden_size=4, num_heads=1, ffn_size=8,
        num_layers={"text": 1, "audio": 1, "vision": 1},
    )  # fmt: skip
    state = {"optimizer_states": [], "lr_schedulers": [], "loops": {}, "epoch": 1}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": module.state_dict(), **state}, path)
    return path


@pytest.fixture
def used(tmp_path: Path) -> Path:
    """A run folder holding a finished run's checkpoints."""
    folder = tmp_path / "used"
    training_checkpoint(folder / "checkpoints" / "last.ckpt")
    (folder / "checkpoints" / "epoch001-miF150.00.ckpt").write_bytes(b"best")
    return folder


@pytest.mark.parametrize(
    ("environ", "leader"),
    [
        ({}, True),
        ({"LOCAL_RANK": "1", "NODE_RANK": "0"}, False),  # Lightning's DDP relaunch
        ({"RANK": "0", "LOCAL_RANK": "0", "TORCHELASTIC_RUN_ID": "x"}, True),  # torchrun rank 0
        ({"RANK": "3", "LOCAL_RANK": "1", "TORCHELASTIC_RUN_ID": "x"}, False),
        ({"SLURM_PROCID": "0", "SLURM_JOB_ID": "7"}, True),  # a batch script
        ({"SLURM_PROCID": "2"}, False),  # an srun task
        ({"NODE_RANK": "1"}, False),  # another node of a Lightning job
    ],
)
def test_only_a_jobs_global_rank_zero_owns_its_folder(environ: dict, leader: bool) -> None:
    assert is_job_leader(environ) is leader


@pytest.mark.parametrize("environ", [{"LOCAL_RANK": "1"}, {"RANK": "1"}, {"SLURM_PROCID": "1"}])
def test_the_other_processes_of_a_job_share_its_folder(used: Path, environ: dict) -> None:
    with claim_run_folder(used, None, environ) as resume:
        assert resume is None
        assert not (used / LOCK).exists()  # the leader locks, not its workers


@pytest.mark.parametrize("variable", ["SLURM_RESTART_COUNT", "TORCHELASTIC_RESTART_COUNT"])
def test_a_restarted_job_resumes_from_its_last_ckpt_and_says_so(
    used: Path, variable: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO), claim_run_folder(used, None, {variable: "1"}) as resume:
        assert resume.path == used / "checkpoints" / "last.ckpt"
    assert f"restart 1 of this job: resuming from {resume.path}" in caplog.text


def test_a_restarted_job_without_a_completed_epoch_starts_afresh(tmp_path: Path) -> None:
    folder = tmp_path / "requeued"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / "on_exception.ckpt").write_bytes(b"mid-epoch")
    with claim_run_folder(folder, None, {"SLURM_RESTART_COUNT": "2"}) as resume:
        assert resume is None


def test_last_is_this_folders_last_ckpt_even_when_on_exception_is_newer(used: Path) -> None:
    training_checkpoint(used / "checkpoints" / "on_exception.ckpt")
    with claim_run_folder(used, "last", {}) as resume:
        assert resume.path == used / "checkpoints" / "last.ckpt"


def test_a_run_may_continue_a_folder_only_from_one_of_its_checkpoints(
    used: Path, tmp_path: Path
) -> None:
    elsewhere = training_checkpoint(tmp_path / "other" / "last.ckpt")
    refused = pytest.raises(UniVAError, match="already holds another run's checkpoints")
    with refused, claim_run_folder(used, str(elsewhere), {}):
        pass
    own = used / "checkpoints" / "last.ckpt"
    with claim_run_folder(used, str(own), {}) as resume:
        assert resume.path == own
        assert (used / LOCK).is_file()
    with claim_run_folder(tmp_path / "new", str(elsewhere), {}) as resume:
        assert resume.path == elsewhere


def test_an_interrupted_run_names_only_files_that_exist(tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    assert "no checkpoint was written" in interruption_message(tmp_path)
    (checkpoints / "on_exception.ckpt").write_bytes(b"state")
    message = interruption_message(tmp_path)
    assert "no epoch was completed, so there is no last.ckpt" in message
    assert f"ckpt_path={checkpoints / 'last.ckpt'}" not in message
    assert f"hydra.run.dir={tmp_path} ckpt_path={checkpoints / 'on_exception.ckpt'}" in message
    (checkpoints / "last.ckpt").write_bytes(b"epoch")
    message = interruption_message(tmp_path)
    # in place, as the README continues a run: a bare ckpt_path=PATH starts a new run folder
    assert f"from its last completed epoch with hydra.run.dir={tmp_path} ckpt_path=last" in message
    assert f"ckpt_path={checkpoints / 'last.ckpt'}" not in message


def test_the_guard_refuses_a_used_folder_before_hydra_writes_into_it(
    used: Path, tmp_path: Path
) -> None:
    def config(run_dir: Path, ckpt_path: str | None = None):
        hydra = {"run": {"dir": str(run_dir)}}
        return OmegaConf.create({"hydra": hydra, "task_name": "train", "ckpt_path": ckpt_path})

    guard = RunFolderGuard(commands=["train"])
    with pytest.raises(SystemExit, match=r"^univa.train: error: .* holds another run's"):
        guard.on_run_start(config(used))
    guard.on_run_start(config(used, "last"))
    guard.on_run_start(config(tmp_path / "new"))
    assert not (tmp_path / "new").exists()
    RunFolderGuard(commands=["evaluate"]).on_run_start(config(used))  # not a command it guards


def test_claiming_a_folder_with_an_earlier_runs_outputs_and_no_checkpoint_is_refused(
    tmp_path: Path,
) -> None:
    """`train(cfg)` called from Python (no Hydra guard) into the folder of a run killed before
    its first checkpoint appended to that run's CSV logs."""
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "metrics.csv").write_text("epoch,step\n0,0\n")
    with (
        pytest.raises(
            UniVAError, match=r"holds an earlier run's outputs \(csv\) and no checkpoint"
        ),
        claim_run_folder(tmp_path, None, {}),
    ):
        pass
    assert (tmp_path / "csv" / "metrics.csv").read_text() == "epoch,step\n0,0\n"
