"""univa.files: whole files in one step, with the user's permissions, old files kept on error."""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate

from univa.cli import CONFIG_DIR
from univa.errors import InputError
from univa.files import (
    atomic_write,
    building_folder,
    remove_dead_temporaries,
    write_csv,
    write_text,
)
from univa.report.results import write_results
from univa.train import train
from univa.training.checkpoint_io import AtomicCheckpointIO


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_write_replaces_and_leaves_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "out.bin"
    for content in (b"first", b"second"):
        with atomic_write(path) as file:
            file.write(content)
        assert path.read_bytes() == content
    assert os.listdir(path.parent) == ["out.bin"]


def test_never_overwrite_keeps_the_users_file(tmp_path: Path) -> None:
    path = tmp_path / "preds.csv"
    path.write_text("mine")
    with pytest.raises(InputError, match="already exists"):
        write_csv(path, ["a"], [[1]])
    assert path.read_text() == "mine"
    assert os.listdir(tmp_path) == ["preds.csv"]


def test_an_error_while_writing_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(path, "w") as file:
        file.write("half")
        raise RuntimeError("writer failed")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["results.json"]


def test_files_get_the_users_permissions(tmp_path: Path, umask_022: None) -> None:
    """0o666 less the umask, as any program's files; today's CSVs were mkstemp's 0o600."""
    write_csv(tmp_path / "preds.csv", ["a"], [[1]])
    write_csv(tmp_path / "analysis.csv", ["a"], [[1]], replace=True)
    write_results(tmp_path, {"seed": 1})
    AtomicCheckpointIO().save_checkpoint({"epoch": 0}, tmp_path / "last.ckpt")
    for name in ("preds.csv", "analysis.csv", "results.json", "last.ckpt"):
        assert mode_of(tmp_path / name) == 0o644, name
    os.umask(0o077)
    write_results(tmp_path, {"seed": 2})
    assert mode_of(tmp_path / "results.json") == 0o600
    assert json.loads((tmp_path / "results.json").read_text()) == {"seed": 2}


def test_only_the_leftovers_of_dead_writers_are_removed(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    host = socket.gethostname()
    dead = tmp_path / f".last.ckpt.{host}-{2**22 + 12345}-00ff00ff.tmp"  # above pid_max: gone
    alive = tmp_path / f".last.ckpt.{host}-{os.getpid()}-00ff00ff.tmp"
    elsewhere = tmp_path / ".last.ckpt.other-node-7-00ff00ff.tmp"
    for leftover in (dead, alive, elsewhere):
        leftover.write_bytes(b"partial")
    remove_dead_temporaries(path)
    assert sorted(os.listdir(tmp_path)) == sorted([alive.name, elsewhere.name])


def test_write_csv_writes_header_and_rows_in_utf8_with_plain_newlines(tmp_path: Path) -> None:
    path = tmp_path / "preds.csv"
    write_csv(path, ["utt_id", "labels"], [["été_1", "happy;sad"], ["b,2", 3]])
    assert path.read_bytes().decode("utf-8") == 'utt_id,labels\nété_1,happy;sad\n"b,2",3\n'
    write_csv(path, ["x"], [[1]], replace=True)  # a run's own file is replaced whole
    assert path.read_text() == "x\n1\n"


def test_write_text_replaces_by_default_and_refuses_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    write_text(path, "one")
    write_text(path, "two")
    assert path.read_text(encoding="utf-8") == "two"
    with pytest.raises(InputError, match="already exists"):
        write_text(path, "three", replace=False)
    assert path.read_text(encoding="utf-8") == "two"


def test_building_folder_appears_only_when_complete(tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    with building_folder(out) as tmp:
        (tmp / "a.txt").write_text("a")
        assert not out.exists()
    assert [p.name for p in out.iterdir()] == ["a.txt"]
    assert os.listdir(tmp_path) == ["dataset"]  # no partial folder left


def test_building_folder_into_an_existing_folder_moves_last_entry_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "dataset"
    out.mkdir()
    (out / "mine.txt").write_text("kept")
    moved: list[str] = []
    rename = Path.rename

    def recording_rename(self: Path, target: Path) -> Path:
        moved.append(self.name)
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", recording_rename)
    with building_folder(out, last="preprocess_data") as tmp:
        for name in ("preprocess_data", "b", "c"):
            (tmp / name).mkdir()
    assert moved[-1] == "preprocess_data" and sorted(moved) == ["b", "c", "preprocess_data"]
    assert sorted(p.name for p in out.iterdir()) == ["b", "c", "mine.txt", "preprocess_data"]
    assert os.listdir(tmp_path) == ["dataset"]


def test_building_folder_on_an_error_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    with pytest.raises(RuntimeError), building_folder(out) as tmp:
        (tmp / "half.txt").write_text("half")
        raise RuntimeError("generator failed")
    assert os.listdir(tmp_path) == []


def test_only_the_partial_folders_of_dead_writers_are_removed(tmp_path: Path) -> None:
    """A killed writer's partial folder goes with the next write to `out`; a live writer's, one
    of another host and one whose name says no host (written before tags had one) stay."""
    host = socket.gethostname()
    dead = f".dataset.partial-{host}-{2**22 + 12345}-00ff00ff"  # above pid_max: gone
    kept = [
        f".dataset.partial-{host}-{os.getpid()}-00ff00ff",
        ".dataset.partial-other-node-7-00ff00ff",
        ".dataset.partial-12345",
    ]
    for name in (dead, *kept):
        (tmp_path / name).mkdir()
        (tmp_path / name / "weights.bin").write_bytes(b"partial")
    with building_folder(tmp_path / "dataset") as tmp:
        (tmp / "a.txt").write_text("a")
    assert sorted(os.listdir(tmp_path)) == sorted(["dataset", *kept])


def test_an_exclusive_folder_is_refused_once_another_writer_moved_in(tmp_path: Path) -> None:
    """Two writers found `out` empty; the one finishing second fails, its folder removed."""
    out = tmp_path / "dataset"
    out.mkdir()
    with (
        pytest.raises(InputError, match="not writing into it"),
        building_folder(out, exclusive=True) as tmp,
    ):
        (tmp / "second.txt").write_text("b")
        with building_folder(out, exclusive=True) as rival:
            (rival / "first.txt").write_text("a")
    assert os.listdir(out) == ["first.txt"]
    assert os.listdir(tmp_path) == ["dataset"]


def test_an_exclusive_folder_keeps_what_a_user_put_there_meanwhile(tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    with (
        pytest.raises(InputError, match="not writing into it"),
        building_folder(out, exclusive=True) as tmp,
    ):
        (tmp / "a.txt").write_text("a")
        out.mkdir()
        (out / "mine.txt").write_text("kept")
    assert os.listdir(out) == ["mine.txt"]
    assert os.listdir(tmp_path) == ["dataset"]


def test_checkpoint_io_saves_what_torch_loads(tmp_path: Path) -> None:
    state = {"state_dict": {"w": torch.arange(4.0)}, "epoch": 3}
    AtomicCheckpointIO().save_checkpoint(state, tmp_path / "checkpoints" / "last.ckpt")
    loaded = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert loaded["epoch"] == 3 and torch.equal(loaded["state_dict"]["w"], torch.arange(4.0))


@pytest.mark.parametrize("trainer", ["cpu", "gpu", "ddp", "ddp4"])
def test_every_trainer_config_saves_through_the_plugin(tmp_path: Path, trainer: str) -> None:
    """Set in trainer/default.yaml; the strategy (DDP included) takes it from the Trainer."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            config_name="train",
            overrides=[
                f"trainer={trainer}",
                "trainer.accelerator=cpu",
                "trainer.devices=2",
                f"trainer.default_root_dir={tmp_path}",
            ],
        )
    GlobalHydra.instance().clear()
    built = instantiate(cfg.trainer, logger=False, enable_checkpointing=False)
    assert isinstance(built.strategy.checkpoint_io, AtomicCheckpointIO)


@pytest.mark.slow
def test_a_run_writes_every_file_whole_with_the_users_permissions(
    compose_cfg, monkeypatch, umask_022: None
) -> None:
    """Checkpoints go through AtomicCheckpointIO; no file is owner-only, none is left half."""
    saved = []
    real_save = AtomicCheckpointIO.save_checkpoint

    def spy(self, checkpoint, path, storage_options=None):
        saved.append(Path(path).name)
        real_save(self, checkpoint, path, storage_options)

    monkeypatch.setattr(AtomicCheckpointIO, "save_checkpoint", spy)
    cfg = compose_cfg("dataset.size=tiny", "dataset.batch_size=8", "trainer.max_epochs=1")
    train(cfg)
    run = Path(cfg.paths.output_dir)
    checkpoints = sorted((run / "checkpoints").iterdir())
    assert sorted(saved) == [path.name for path in checkpoints]
    for path in checkpoints:
        torch.load(path, weights_only=True)
    written = [*checkpoints, run / "results.json", *(run / "analysis").iterdir()]
    assert {path.suffix for path in written} == {".ckpt", ".json", ".csv", ".png"}
    assert {path.name: mode_of(path) for path in written} == {p.name: 0o644 for p in written}
    assert not [path for path in run.rglob("*") if path.name.endswith(".tmp")]
