"""A run's output folder: which checkpoint it resumes from, and one run per folder.

Lightning resumes by itself whenever it can (its `OnExceptionCheckpoint` turns `ckpt_path=None`
into "the newest checkpoint around"), so a second run into a used folder silently continued the
first one. Here a run resumes only when asked (`ckpt_path=PATH`, or `ckpt_path=last` for exactly
`<output_dir>/checkpoints/last.ckpt`) or when the scheduler restarts the same job; a fresh run
into a folder holding another run's checkpoints is refused, and while a run lives it holds an
exclusive lock on its folder so that a second one started into it is refused too.

The processes of one job share its folder by design (Lightning's DDP relaunch, torchrun and
srun ranks): only the job's leader, global rank 0, takes the lock and checks for other runs.
"""

from __future__ import annotations

import fcntl
import logging
import os
import pickle
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.experimental.callback import Callback
from lightning import LightningDataModule
from omegaconf import DictConfig, OmegaConf
from torch import nn

from univa.constants import RESULTS_FILE
from univa.errors import (
    CheckpointError,
    InputFileNotFoundError,
    RunFolderInUseError,
)
from univa.training.checkpoint_io import load_error_reason
from univa.training.data_settings import DATA_SETTINGS_KEY, record
from univa.training.from_checkpoint import same_text_encoder

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
LAST = "last.ckpt"
ON_EXCEPTION = "on_exception.ckpt"
LOCK = ".univa.lock"
# what a run's leader writes besides its checkpoints: the end-of-run outputs and the loggers'
# folders (conf/logger); a sweep's folder holds its record. Not the job's log: every rank of a
# torchrun job writes to it, and a rank may do so before its leader looks.
RUN_OUTPUTS = (RESULTS_FILE, "analysis", "csv", "tensorboard", "wandb")
SWEEP_RECORD = "multirun.yaml"
# what Lightning needs to continue training, beyond the weights
TRAINING_STATE = ("state_dict", "optimizer_states", "lr_schedulers", "loops", "epoch")
# rank variables of the launchers that start one job's processes: Lightning's DDP relaunch
# (LOCAL_RANK, NODE_RANK), torchrun (RANK, LOCAL_RANK, GROUP_RANK), srun (SLURM_PROCID)
RANK_VARIABLES = ("RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "SLURM_PROCID")
# restarts of the same job by its scheduler: SLURM's requeue, torchrun's --max-restarts
RESTART_VARIABLES = ("SLURM_RESTART_COUNT", "TORCHELASTIC_RESTART_COUNT")


def _int_variable(environ: Mapping[str, str], name: str) -> int:
    try:
        return int(environ.get(name, "0"))
    except ValueError:
        return 0


def is_job_leader(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this process is its job's global rank 0: the one that owns the run folder."""
    return all(_int_variable(environ, name) == 0 for name in RANK_VARIABLES)


def restart_count(environ: Mapping[str, str] = os.environ) -> int:
    """How often the scheduler restarted this job (0 for a first start)."""
    return max(_int_variable(environ, name) for name in RESTART_VARIABLES)


def checkpoints_in(output_dir: Path) -> list[Path]:
    """The checkpoints a run left in `output_dir` (Lightning's SLURM `hpc_ckpt_*` included)."""
    found = [*(output_dir / CHECKPOINTS).glob("*.ckpt"), *output_dir.glob("hpc_ckpt_*.ckpt")]
    return sorted(path for path in found if path.is_file())


def resume_path(
    ckpt_path: str | None, output_dir: Path, environ: Mapping[str, str] = os.environ
) -> Path | None:
    """The checkpoint this run continues from: the one asked for, or None for a fresh run.

    `last` is exactly `<output_dir>/checkpoints/last.ckpt`, the end of the last completed epoch
    (never `on_exception.ckpt`, a mid-epoch state: continuing from it is not an exact resume).
    A job restarted by its scheduler continues from that file when it exists.
    """
    last = output_dir / CHECKPOINTS / LAST
    if ckpt_path is None:
        restarts = restart_count(environ)
        if restarts and last.is_file():
            log.info("restart %d of this job: resuming from %s", restarts, last)
            return last
        return None
    path = last if str(ckpt_path) == "last" else Path(ckpt_path)
    if not path.is_file():
        hint = "no epoch of a run in this folder has completed" if path == last else "not a file"
        raise InputFileNotFoundError(f"ckpt_path={ckpt_path}: {path} does not exist ({hint})")
    return path


def check_folder_is_free(output_dir: Path, resume_from: Path | None) -> None:
    """Refuse a run that would write over another run's checkpoints, or mix its logs and
    results with an earlier run's outputs (a run killed before its first checkpoint).

    A run may write into a used folder only to continue from one of its checkpoints.
    """
    own = resume_from is not None and resume_from.resolve().parent in {
        (output_dir / CHECKPOINTS).resolve(),
        output_dir.resolve(),
    }
    if own:
        return
    found = checkpoints_in(output_dir)
    if not found:
        earlier = outputs_in(output_dir)
        if earlier:
            raise RunFolderInUseError(
                f"{output_dir} holds an earlier run's outputs ({', '.join(earlier)}) and no "
                "checkpoint to continue from; write this run elsewhere with "
                "hydra.run.dir=<new folder>"
            )
        return
    names = ", ".join(path.name for path in found[:3]) + (", ..." if len(found) > 3 else "")
    raise RunFolderInUseError(
        f"{output_dir} already holds another run's checkpoints ({names}); continue that run with "
        f"hydra.run.dir={output_dir} ckpt_path=last, or write this one elsewhere with "
        "hydra.run.dir=<new folder>"
    )


@dataclass(frozen=True)
class ResumeCheckpoint:
    """A checked training checkpoint: the shapes of its weights, to compare with the model, and
    the step its run's loggers continue at (what they logged from there on is dropped)."""

    path: Path
    shapes: dict[str, tuple[int, ...]]
    data_settings: dict[str, Any] | None = None
    step: int = 0
    # `model.standardize` and the training split's statistics the run standardised with
    standardized: tuple[list[str], Any] = ([], None)

    @classmethod
    def read(cls, path: Path) -> ResumeCheckpoint:
        """Open `path` without unpickling code (memory-mapped, cheap) and check its contents."""
        if not zipfile.is_zipfile(path):  # what torch.save writes; damage shows at its end
            raise CheckpointError(
                f"cannot resume from {path}: not a readable checkpoint (not the zip archive "
                "torch saves: damaged, truncated or another kind of file)"
            )
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as error:
            what = (
                "it holds objects other than tensors and plain values, refused without running them"
                if isinstance(error, pickle.UnpicklingError)
                else "not a readable checkpoint, damaged or truncated"
            )
            raise CheckpointError(
                f"cannot resume from {path}: {what} ({load_error_reason(error)})"
            ) from error
        missing = (
            [key for key in TRAINING_STATE if key not in checkpoint]
            if isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict)
            else list(TRAINING_STATE)
        )
        if missing:
            raise CheckpointError(
                f"cannot resume from {path}: not a univa training checkpoint (no "
                f"{', '.join(missing)}); a checkpoint holding weights only is for univa.evaluate "
                "and univa.predict"
            )
        shapes = {
            key: tuple(value.shape)
            for key, value in checkpoint["state_dict"].items()
            if isinstance(value, torch.Tensor)
        }
        settings = checkpoint.get(DATA_SETTINGS_KEY)
        hparams = checkpoint.get("hyper_parameters")
        hparams = hparams if isinstance(hparams, dict) else {}
        return cls(
            path,
            shapes,
            settings if isinstance(settings, dict) else None,
            logged_step(checkpoint),
            (list(hparams.get("standardize") or []), hparams.get("feature_stats")),
        )

    def check_standardized(self, standardize: list[str], feature_stats: Any) -> None:
        """Refuse to continue with other input standardisation than the run began with: a
        forgotten `model.standardize=`, or data whose training split's statistics differ."""
        before, stats = self.standardized
        if before != list(standardize):
            raise CheckpointError(
                f"cannot resume from {self.path}: it was trained with model.standardize="
                f"{before}, now {list(standardize)}; resume with the run's own model overrides"
            )
        if stats != feature_stats:
            raise CheckpointError(
                f"cannot resume from {self.path}: the training split's feature statistics "
                f"differ from the run's ({', '.join(before)}): it was trained on other data"
            )

    def check_data(self, datamodule: LightningDataModule) -> None:
        """Refuse to continue a run on other data than it was trained on: the epochs (and the
        validation scores that pick its best checkpoint) would mix two datasets. The data
        folder may have moved; what it holds is told by the other settings."""
        now = record(datamodule)
        if self.data_settings is None or now is None:
            return
        differences = [
            f"{name}={self.data_settings[name]}, now {now[name]}"
            for name in sorted(self.data_settings.keys() & now.keys() - {"data_dir"})
            if self.data_settings[name] != now[name]
            and not (
                name == "text_encoder"
                and same_text_encoder(str(self.data_settings[name]), str(now[name]))
            )
        ]
        if differences:
            raise CheckpointError(
                f"cannot resume from {self.path}: it was trained on other data "
                f"({'; '.join(differences)}); resume with the run's own data overrides"
            )

    def check_fits(self, model: nn.Module) -> None:
        """Refuse a checkpoint of another architecture (size, layers, modalities) in one line."""
        expected = {key: tuple(value.shape) for key, value in model.state_dict().items()}
        problems = [f"{key} missing" for key in expected.keys() - self.shapes.keys()]
        problems += [f"unexpected {key}" for key in self.shapes.keys() - expected.keys()]
        problems += [
            f"{key} of shape {list(self.shapes[key])}, the model's is {list(shape)}"
            for key, shape in expected.items()
            if key in self.shapes and self.shapes[key] != shape
        ]
        if problems:
            shown = "; ".join(sorted(problems)[:3]) + ("; ..." if len(problems) > 3 else "")
            raise CheckpointError(
                f"cannot resume from {self.path}: it holds another model than the one configured "
                f"({len(problems)} differences: {shown}); resume with the run's own model "
                "overrides"
            )


def logged_step(checkpoint: dict) -> int:
    """The step Lightning logs the checkpoint's next batch at: its batches that stepped (the
    optimizer steps' count differs under gradient accumulation)."""
    loops = checkpoint["loops"] if isinstance(checkpoint["loops"], dict) else {}
    loop = loops.get("fit_loop", {}).get("epoch_loop.state_dict", {})
    return int(loop.get("_batches_that_stepped", checkpoint.get("global_step", 0)))


def _busy_error(output_dir: Path, fd: int) -> RunFolderInUseError:
    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
    return RunFolderInUseError(
        f"another run (pid {holder}) is writing into {output_dir}; wait for it to end or write "
        "this one elsewhere with hydra.run.dir=<new folder>"
    )


def outputs_in(output_dir: Path) -> list[str]:
    """Names of what an earlier run or sweep wrote in `output_dir` besides checkpoints (a run
    killed before its first checkpoint has already written its loggers' folders)."""
    return [name for name in (*RUN_OUTPUTS, SWEEP_RECORD) if (output_dir / name).exists()]


def check_folder_is_not_busy(output_dir: Path) -> None:
    """Refuse a folder that a living run holds (the lock is probed, not kept)."""
    try:
        fd = os.open(output_dir / LOCK, os.O_RDWR)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _busy_error(output_dir, fd) from None
    finally:
        os.close(fd)


@contextmanager
def _folder_lock(output_dir: Path) -> Iterator[None]:
    """Hold `<output_dir>/.univa.lock` exclusively; refuse at once if another process holds it.

    An `flock` dies with its process, so a killed run never leaves a stale lock. The file is
    removed on release, while still locked; a run that opened it just before checks, once
    locked, that it still is the file at that path.
    """
    path = output_dir / LOCK
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            error = _busy_error(output_dir, fd)
            os.close(fd)
            raise error from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # released and removed meanwhile: lock the current file
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


@contextmanager
def claim_run_folder(
    output_dir: Path, ckpt_path: str | None, environ: Mapping[str, str] = os.environ
) -> Iterator[ResumeCheckpoint | None]:
    """Own `output_dir` for this run's life and give the checked checkpoint to resume from.

    Nothing is read but the checkpoint, so every refusal comes before the data. The job's
    other processes (DDP workers, ranks) neither lock nor refuse: their leader did. Nor does a
    job restarted by its scheduler refuse the checkpoints its earlier start left.
    """
    resume_from = resume_path(ckpt_path, output_dir, environ)
    checkpoint = ResumeCheckpoint.read(resume_from) if resume_from else None
    if not is_job_leader(environ):
        yield checkpoint
        return
    output_dir.mkdir(parents=True, exist_ok=True)
    with _folder_lock(output_dir):
        if not restart_count(environ):
            check_folder_is_free(output_dir, resume_from)
        yield checkpoint


def interruption_message(output_dir: Path) -> str:
    """What an interrupted run left to continue from, naming only files that exist."""
    state, last = output_dir / CHECKPOINTS / ON_EXCEPTION, output_dir / CHECKPOINTS / LAST
    parts = ["training was interrupted (SIGTERM or Ctrl-C)"]
    if state.is_file():
        parts.append(f"the state reached is in {state}")
    if last.is_file():
        parts.append(
            "continue the run from its last completed epoch with "
            f"hydra.run.dir={output_dir} ckpt_path=last"
        )
    elif state.is_file():
        parts.append(
            "no epoch was completed, so there is no last.ckpt to resume from exactly: start the "
            f"run again in a new folder, or continue mid-epoch with hydra.run.dir={output_dir} "
            f"ckpt_path={state}"
        )
    else:
        parts.append("no checkpoint was written: start the run again in a new folder")
    return "; ".join(parts)


class RunFolderGuard(Callback):
    """Refuse a used or busy run folder before Hydra writes its `.hydra/` record into it.

    `train` claims the folder itself (`claim_run_folder`), but Hydra has by then replaced the
    folder's `.hydra/config.yaml` with the refused run's: this checks first, from the
    command's config, and ends the command in one line. Runs of a multirun get new folders.
    The `readers` (evaluate, predict) never write into a training run's folder either: their
    `.hydra/` record and `results.json` would replace the run's, which `aggregate` and
    `predict`'s tuned thresholds read.
    """

    def __init__(self, commands: list[str], readers: list[str] | None = None) -> None:
        self.commands = set(commands)  # the `task_name`s whose runs own their folder
        self.readers = set(readers or ())  # those that only read a trained run

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        task = config.get("task_name")
        if task not in self.commands | self.readers or not is_job_leader():
            return
        output_dir = Path(config.hydra.run.dir).absolute()
        if not output_dir.is_dir():
            return
        if task in self.readers:
            self._refuse_another_runs_folder(task, output_dir)
            return
        ckpt_path = OmegaConf.select(config, "ckpt_path", default=None, throw_on_missing=False)
        resume_from = output_dir / CHECKPOINTS / LAST if ckpt_path == "last" else ckpt_path
        try:
            check_folder_is_not_busy(output_dir)
            if not restart_count():
                check_folder_is_free(output_dir, Path(resume_from) if resume_from else None)
        except RunFolderInUseError as error:
            raise SystemExit(f"univa.{config.task_name}: error: {error}") from None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """A sweep into a folder holding an earlier sweep's runs is refused before Hydra writes
        anything: each job would replace the `.hydra/` record (the overrides `aggregate` groups
        by) of the earlier run in its subfolder before that run's checkpoints refuse it.
        `ckpt_path=last` continues each job in its own subfolder."""
        task = config.get("task_name")
        if task not in self.commands | self.readers or not is_job_leader() or restart_count():
            return
        ckpt_path = OmegaConf.select(config, "ckpt_path", default=None, throw_on_missing=False)
        sweep_dir = Path(str(config.hydra.sweep.dir)).absolute()
        if (task in self.commands and ckpt_path == "last") or not sweep_dir.is_dir():
            return
        used = sorted(
            child.name
            for child in sweep_dir.iterdir()
            if child.is_dir() and (checkpoints_in(child) or (child / LOCK).exists())
        )
        if used:
            listed = ", ".join(used[:3]) + (", ..." if len(used) > 3 else "")
            hint = " (continue its jobs with ckpt_path=last)" if task in self.commands else ""
            raise SystemExit(
                f"univa.{task}: error: {sweep_dir} already holds the runs of another sweep "
                f"({listed}){hint}; give this sweep a folder of its own with "
                "hydra.sweep.dir=<new folder>"
            )

    @staticmethod
    def _refuse_another_runs_folder(task: str, output_dir: Path) -> None:
        used = [path.name for path in checkpoints_in(output_dir)][:1]
        used += [
            name for name in (LOCK, RESULTS_FILE, SWEEP_RECORD) if (output_dir / name).exists()
        ]
        if used:
            raise SystemExit(
                f"univa.{task}: error: {output_dir} holds another run's files "
                f"({', '.join(used)}); univa.{task} would replace its .hydra/ record and "
                "results.json: write elsewhere with hydra.run.dir=<new folder>"
            )
