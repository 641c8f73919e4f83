"""Hostile and faulty run folders: a used folder, a busy folder, bad resume checkpoints.

Each case ends in one clear error before any data is read (the dataset points at a missing
folder, so reading it would fail otherwise), with the files already there left as they were.
"""

from __future__ import annotations

import json
import multiprocessing
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
from omegaconf import OmegaConf, open_dict

from command_line import run_in_process
from univa import UniVALitModule
from univa.errors import UniVAError
from univa.train import train
from univa.training.run_folder import LOCK, ResumeCheckpoint, RunFolderGuard, claim_run_folder

NO_DATA = ["dataset=mosei", "dataset.data_dir={tmp}/no_data"]
SPEC = {
    "labels": ["a", "b", "c"],
    "input_dims": {"text": 6, "audio": 5, "vision": 4},
    "max_lens": {"text": 3, "audio": 3, "vision": 3},
}
TINY_MODEL = {"num_heads": 2, "ffn_size": 16, "num_layers": {"text": 1, "audio": 1, "vision": 1}}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def used_folder(folder: Path) -> dict[str, bytes]:
    """A folder holding a finished run's checkpoints and results."""
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / "last.ckpt").write_bytes(b"the first run's last epoch")
    (folder / "checkpoints" / "epoch003-miF150.00.ckpt").write_bytes(b"the first run's best")
    (folder / "results.json").write_text('{"seed": 1}')
    (folder / ".hydra").mkdir()
    (folder / ".hydra" / "config.yaml").write_text("seed: 1\n")
    return snapshot(folder)


def training_checkpoint(path: Path, hidden_size: int) -> Path:
    """A checkpoint with Lightning's training state around a tiny univa network."""
    module = UniVALitModule(**SPEC, hidden_size=hidden_size, **TINY_MODEL)
    state = {"optimizer_states": [], "lr_schedulers": [], "loops": {}, "epoch": 1}
    torch.save({"state_dict": module.state_dict(), **state}, path)
    return path


def train_into(compose_cfg, tmp_path: Path, output_dir: Path, *overrides: str) -> None:
    cfg = compose_cfg(*(o.format(tmp=tmp_path) for o in [*NO_DATA, *overrides]))
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
    train(cfg)


def test_a_fresh_run_into_another_runs_folder_is_refused_before_reading_data(
    compose_cfg, tmp_path: Path
) -> None:
    folder = tmp_path / "used"
    before = used_folder(folder)
    with pytest.raises(
        UniVAError, match=r"already holds another run's checkpoints.*ckpt_path=last"
    ):
        train_into(compose_cfg, tmp_path, folder, "seed=7")
    assert snapshot(folder) == before


def test_last_means_this_folders_last_ckpt_never_on_exception(compose_cfg, tmp_path: Path) -> None:
    folder = tmp_path / "interrupted"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / "on_exception.ckpt").write_bytes(b"a mid-epoch state")
    before = snapshot(folder)
    with pytest.raises(FileNotFoundError, match=r"ckpt_path=last: .*last.ckpt does not exist"):
        train_into(compose_cfg, tmp_path, folder, "ckpt_path=last")
    assert snapshot(folder) == before


@pytest.mark.parametrize(
    "content",
    [os.urandom(4096), b"", b"PK\x03\x04 a zip header and nothing else"],
    ids=["random bytes", "empty", "truncated"],
)
def test_a_damaged_resume_checkpoint_is_refused_naming_it(
    compose_cfg, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "damaged.ckpt"
    path.write_bytes(content)
    with pytest.raises(UniVAError, match=rf"cannot resume from {path}: not a readable checkpoint"):
        train_into(compose_cfg, tmp_path, tmp_path / "run", f"ckpt_path={path}")


def test_a_truncated_real_checkpoint_is_refused(tmp_path: Path) -> None:
    whole = training_checkpoint(tmp_path / "whole.ckpt", hidden_size=8)
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(UniVAError, match=rf"cannot resume from {cut}: not a readable"):
        ResumeCheckpoint.read(cut)


def test_a_checkpoint_that_would_run_code_is_refused_and_runs_nothing(
    compose_cfg, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "hostile.ckpt"
    torch.save({"state_dict": {}, "epoch": Payload()}, path)
    refused = rf"cannot resume from {path}: .* refused without running them \(.*posix.system"
    with pytest.raises(UniVAError, match=refused):
        train_into(compose_cfg, tmp_path, tmp_path / "run", f"ckpt_path={path}")
    assert not marker.exists()


def test_a_weights_only_checkpoint_is_refused_for_resuming(compose_cfg, tmp_path: Path) -> None:
    path = tmp_path / "weights.ckpt"
    module = UniVALitModule(**SPEC, hidden_size=8, **TINY_MODEL)
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": {}}, path)
    with pytest.raises(UniVAError, match=r"not a univa training checkpoint \(no optimizer_states"):
        train_into(compose_cfg, tmp_path, tmp_path / "run", f"ckpt_path={path}")


def test_a_checkpoint_of_another_model_size_is_refused_before_training(
    compose_cfg, tmp_path: Path
) -> None:
    path = training_checkpoint(tmp_path / "h8.ckpt", hidden_size=8)
    cfg = compose_cfg("dataset.size=tiny", f"ckpt_path={path}", "analysis.enabled=false")
    with pytest.raises(UniVAError, match=r"h8.ckpt: it holds another model .* of shape \[8"):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "checkpoints").exists()  # nothing trained
    checkpoint = ResumeCheckpoint.read(path)
    checkpoint.check_fits(UniVALitModule(**SPEC, hidden_size=8, **TINY_MODEL))  # its own: fine


def test_resuming_with_other_input_standardisation_is_refused(tmp_path: Path) -> None:
    """A run begun with `model.standardize=[audio]` continues only with the same option and
    the same training-split statistics: a forgotten override, or data whose statistics
    changed, would feed the trained weights differently scaled features."""
    stats = {"audio": {"mean": [0.5] * 5, "std": [2.0] * 5}}
    options = {"standardize": ["audio"], "feature_stats": stats}
    module = UniVALitModule(**SPEC, hidden_size=8, **TINY_MODEL, **options)
    state = {"optimizer_states": [], "lr_schedulers": [], "loops": {}, "epoch": 1}
    path = tmp_path / "standardized.ckpt"
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams),
                **state}, path)  # fmt: skip
    checkpoint = ResumeCheckpoint.read(path)
    checkpoint.check_standardized(["audio"], stats)  # its own: fine
    with pytest.raises(UniVAError, match=r"model.standardize=\['audio'\], now \[\]"):
        checkpoint.check_standardized([], None)
    other = {"audio": {"mean": [0.4] * 5, "std": [2.0] * 5}}
    with pytest.raises(UniVAError, match=r"feature statistics differ .*other data"):
        checkpoint.check_standardized(["audio"], other)
    plain = ResumeCheckpoint.read(training_checkpoint(tmp_path / "plain.ckpt", hidden_size=8))
    plain.check_standardized([], None)  # no hyper-parameters recorded: none standardised
    with pytest.raises(UniVAError, match=r"model.standardize=\[\], now \['audio'\]"):
        plain.check_standardized(["audio"], stats)


def _hold(folder: Path, held) -> None:
    with claim_run_folder(folder, None):
        held.set()
        time.sleep(600)


def test_a_busy_folder_is_refused_and_the_lock_dies_with_a_killed_run(tmp_path: Path) -> None:
    """A run holding the folder refuses a second one; SIGKILLed, it leaves no stale lock."""
    folder = tmp_path / "busy"
    context = multiprocessing.get_context("fork")  # a run of its own, without a fresh import
    held = context.Event()
    holder = context.Process(target=_hold, args=(folder, held), daemon=True)
    holder.start()
    try:
        assert held.wait(60)
        busy = rf"another run \(pid {holder.pid}\) is writing into {folder}"
        with pytest.raises(UniVAError, match=busy), claim_run_folder(folder, None):
            pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.join()
    with claim_run_folder(folder, None):
        assert (folder / LOCK).is_file()
    assert not (folder / LOCK).exists()  # released: nothing left in the run's folder


@pytest.mark.slow
def test_cli_refuses_a_used_folder_in_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "used"
    before = used_folder(folder)
    overrides = [o.format(tmp=tmp_path) for o in NO_DATA]
    command = [sys.executable, "-m", "univa.train", f"hydra.run.dir={folder}", *overrides]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"univa.train: error: {folder} already holds another run's")
    assert "ckpt_path=last" in line and "hydra.run.dir=" in line
    assert snapshot(folder) == before  # Hydra's record of the first run included


class HoldTheFolder(Callback):
    """Keeps a run going, its folder locked, until the test lets it go."""

    def __init__(self, signal_dir: str) -> None:
        self.signal_dir = Path(signal_dir)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        (self.signal_dir / "holding").touch()
        deadline = time.monotonic() + 300
        while not (self.signal_dir / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.mark.slow
def test_two_concurrent_runs_into_one_folder_one_is_refused_the_other_finishes(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "shared"
    command = [
        sys.executable, "-m", "univa.train", f"paths.root_dir={tmp_path}",
        f"hydra.run.dir={folder}", "dataset.size=tiny", "dataset.batch_size=8",
        "trainer.max_epochs=1", "analysis.enabled=false", "test=false",
    ]  # fmt: skip
    hold = [
        "+callbacks.hold._target_=adversarial.test_run_folder.HoldTheFolder",
        f"+callbacks.hold.signal_dir={tmp_path}",
    ]
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), *sys.path])}
    first = subprocess.Popen(
        [*command, *hold], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 300
        while not (tmp_path / "holding").exists():
            assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()
            time.sleep(0.05)
        record = snapshot(folder / ".hydra")
        second = subprocess.run([*command, "seed=7"], capture_output=True, text=True, timeout=300)
    finally:
        (tmp_path / "go").touch()
    _, first_err = first.communicate(timeout=300)
    assert first.returncode == 0, first_err[-3000:]
    assert second.returncode == 1 and "Traceback" not in second.stderr
    (line,) = second.stderr.strip().splitlines()
    assert line.startswith(f"univa.train: error: another run (pid {first.pid}) is writing into")
    assert json.loads((folder / "results.json").read_text())["seed"] == 1111
    assert (folder / "checkpoints" / "last.ckpt").is_file()
    assert snapshot(folder / ".hydra") == record  # the first run's record, not the refused one's
    assert not (folder / LOCK).exists()


@pytest.mark.parametrize("program", ["univa.evaluate", "univa.predict"])
def test_evaluate_or_predict_into_a_training_runs_folder_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, program: str
) -> None:
    """`univa.evaluate hydra.run.dir=<training run>` replaced the run's results.json (its tuned
    thresholds, best checkpoint) and .hydra/ record, which aggregate groups the runs by."""
    run = tmp_path / "sweep" / "0"
    before = used_folder(run)
    extra = [f"output={tmp_path / 'preds.csv'}"] if program == "univa.predict" else []
    failure = run_in_process(
        monkeypatch,
        tmp_path,
        program,
        f"hydra.run.dir={run}",
        f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}",
        *extra,
    )
    assert failure.returncode != 0 and len(failure.lines) == 1
    assert failure.lines[0].startswith(f"{program}: error: {run} holds another run's files")
    assert snapshot(run) == before
    assert not (tmp_path / "preds.csv").exists()


@pytest.mark.parametrize("earlier", ["evaluation", "sweep"])
def test_evaluate_into_an_earlier_evaluations_or_a_sweeps_folder_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, earlier: str
) -> None:
    """A second `univa.evaluate hydra.run.dir=E` replaced the first one's results.json without a
    word; into a sweep's folder, its results.json would be aggregated as one more run."""
    folder = tmp_path / "earlier"
    folder.mkdir()
    kept = "results.json" if earlier == "evaluation" else "multirun.yaml"
    (folder / kept).write_text("the earlier command's")
    failure = run_in_process(
        monkeypatch,
        tmp_path,
        "univa.evaluate",
        f"hydra.run.dir={folder}",
        f"ckpt_path={tmp_path / 'model.ckpt'}",
    )
    assert failure.returncode != 0 and len(failure.lines) == 1
    assert failure.lines[0].startswith(
        f"univa.evaluate: error: {folder} holds another run's files ({kept})"
    )
    assert [p.name for p in folder.iterdir()] == [kept]
    assert (folder / kept).read_text() == "the earlier command's"


def test_a_fresh_run_into_a_folder_killed_before_its_first_checkpoint_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A run SIGKILLed before its first checkpoint leaves its CSV logs; a new run into that
    folder appended to them, mixing the two runs' curves."""
    run = tmp_path / "killed"
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text("seed: 1\n")
    (run / "train.log").write_text("Seed set to 1\n")
    (run / "csv").mkdir()
    (run / "csv" / "metrics.csv").write_text("epoch,step,train/loss_total\n0,0,1.5\n")
    before = snapshot(run)
    failure = run_in_process(
        monkeypatch,
        tmp_path,
        "univa.train",
        f"hydra.run.dir={run}",
        *(o.format(tmp=tmp_path) for o in NO_DATA),
    )
    assert failure.returncode != 0 and len(failure.lines) == 1
    assert failure.lines[0] == (
        f"univa.train: error: {run} holds an earlier run's outputs (csv) and no "
        "checkpoint to continue from; write this run elsewhere with hydra.run.dir=<new folder>"
    )
    assert snapshot(run) == before


def test_a_sweep_into_an_earlier_sweeps_folder_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`-m hydra.sweep.dir=X` again replaced the .hydra/overrides.yaml of X/0 (which aggregate
    groups the runs by) before that run's checkpoints refused the new job: the old results
    were then labelled with the new overrides."""
    sweep = tmp_path / "sweep"
    before = used_folder(sweep / "0")
    failure = run_in_process(
        monkeypatch, tmp_path, "univa.train", "-m", f"hydra.sweep.dir={sweep}", "seed=3,4"
    )
    assert failure.returncode != 0 and len(failure.lines) == 1
    assert failure.lines[0].startswith(
        f"univa.train: error: {sweep} already holds the runs of another sweep (0)"
    )
    assert snapshot(sweep / "0") == before
    assert sorted(p.name for p in sweep.iterdir()) == ["0"]
    # continuing the sweep's jobs, each in its own subfolder, stays possible
    resume = {"task_name": "train", "ckpt_path": "last", "hydra": {"sweep": {"dir": str(sweep)}}}
    RunFolderGuard(commands=["train"]).on_multirun_start(OmegaConf.create(resume))


def test_resuming_on_other_data_is_refused_before_training(compose_cfg, tmp_path: Path) -> None:
    """`ckpt_path=last dataset.size=small` on a tiny-data run trained on the other data
    without a word, its best checkpoint picked across two validation sets."""
    from hydra.utils import instantiate

    from univa.training.data_settings import DATA_SETTINGS_KEY, record
    from univa.training.from_checkpoint import build_datamodule

    cfg = compose_cfg("dataset.size=tiny", "analysis.enabled=false")
    datamodule = build_datamodule(cfg)
    module = instantiate(cfg.model, _convert_="all", **datamodule.data_spec)
    path = tmp_path / "other_data.ckpt"
    state = {"optimizer_states": [], "lr_schedulers": [], "loops": {}, "epoch": 1}
    settings = record(datamodule) | {"size": "small", "data_dir": "/moved/elsewhere"}
    torch.save({"state_dict": module.state_dict(), **state, DATA_SETTINGS_KEY: settings}, path)
    cfg = compose_cfg("dataset.size=tiny", f"ckpt_path={path}", "analysis.enabled=false")
    with pytest.raises(UniVAError, match=r"other_data.ckpt: it was trained on other data \(size="):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "checkpoints").exists()  # nothing trained
    record_only_moved = ResumeCheckpoint(path, {}, record(datamodule) | {"data_dir": "/moved"})
    record_only_moved.check_data(datamodule)  # the same data in another folder: fine


def test_a_moved_run_folder_keeps_its_best_checkpoint_on_resume(
    compose_cfg, tmp_path: Path
) -> None:
    """Resumed after its folder was moved (rsync from a cluster, a copy), Lightning forgot the
    best score, so the next epoch became "best" whatever its score, and kept best_model_path
    in the old folder (a finished run tested the old folder's file)."""
    from hydra.utils import instantiate

    cfg = compose_cfg()
    new = tmp_path / "moved" / "checkpoints"
    callback = instantiate(cfg.callbacks.model_checkpoint, dirpath=str(new))
    new.mkdir(parents=True)
    (new / "epoch003-miF160.00.ckpt").write_bytes(b"the run's best")
    old = "/cluster/scratch/run/checkpoints"
    callback.load_state_dict(
        {
            "monitor": "val/micro_f1",
            "best_model_score": torch.tensor(60.0),
            "best_model_path": f"{old}/epoch003-miF160.00.ckpt",
            "current_score": torch.tensor(55.0),
            "dirpath": old,
            "best_k_models": {f"{old}/epoch003-miF160.00.ckpt": torch.tensor(60.0)},
            "kth_best_model_path": f"{old}/epoch003-miF160.00.ckpt",
            "kth_value": torch.tensor(60.0),
            "last_model_path": f"{old}/last.ckpt",
        }
    )
    assert callback.best_model_path == str(new / "epoch003-miF160.00.ckpt")
    assert callback.best_model_score == 60.0
    assert list(callback.best_k_models) == [str(new / "epoch003-miF160.00.ckpt")]
    assert callback.last_model_path == str(new / "last.ckpt")
