"""Faults while writing: a full disk, a kill mid-write, a file appearing meanwhile.

Each case ends in a clear one-line error (or a clean death) with the previous good file
intact and loadable, never a truncated one, and no temporary file left behind.
"""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from matplotlib.figure import Figure

from univa.errors import InputError, OutputWriteError, exit_on_user_error
from univa.files import atomic_write, write_csv
from univa.report.figures import save_figures
from univa.report.results import write_results
from univa.train import train
from univa.training.checkpoint_io import AtomicCheckpointIO

NO_SPACE = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def save_good(path: Path, epoch: int = 0) -> dict:
    state = {"state_dict": {"w": torch.full((8,), float(epoch))}, "epoch": epoch}
    AtomicCheckpointIO().save_checkpoint(state, path)
    return state


def assert_loads_as(path: Path, state: dict) -> None:
    loaded = torch.load(path, weights_only=True)
    assert loaded["epoch"] == state["epoch"]
    assert torch.equal(loaded["state_dict"]["w"], state["state_dict"]["w"])


class FillingFile:
    """A file on a disk with `room` bytes left: the write that does not fit fails with ENOSPC."""

    def __init__(self, file: io.RawIOBase, room: int) -> None:
        self.file, self.room = file, room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            raise NO_SPACE
        self.room -= len(data)
        return self.file.write(data)

    def flush(self) -> None:
        self.file.flush()


def full_disk_save(fails: Callable[[dict], bool]) -> Callable:
    """A torch.save whose disk fills up halfway through the checkpoints that `fails` picks."""
    real_save = torch.save

    def save(obj, file, *args, **kwargs):
        if fails(obj):
            whole = io.BytesIO()
            real_save(obj, whole)
            file = FillingFile(file, room=whole.tell() // 2)
        return real_save(obj, file, *args, **kwargs)

    return save


def one_line_error(program: str, action: Callable[[], object]) -> str:
    """What the entry point `program` prints for `action`'s error: exactly one line."""
    with pytest.raises(SystemExit) as exited, exit_on_user_error(program):
        action()
    message = str(exited.value)
    assert message.startswith(f"{program}: error: ") and "\n" not in message
    return message


def run_killed(script: str, *args: str) -> None:
    """Run `script` in a fresh interpreter that SIGKILLs itself mid-write."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]


def test_full_disk_during_checkpoint_save_keeps_last_ckpt(tmp_path, monkeypatch) -> None:
    path = tmp_path / "checkpoints" / "last.ckpt"
    good = save_good(path)
    monkeypatch.setattr(torch, "save", full_disk_save(lambda obj: True))
    message = one_line_error("univa.train", lambda: save_good(path, epoch=1))
    assert f"into {path.parent}:" in message and "No space left on device" in message
    assert_loads_as(path, good)
    assert os.listdir(path.parent) == ["last.ckpt"]


@pytest.mark.slow  # starts fresh interpreters: seconds each
def test_kill_in_the_middle_of_a_checkpoint_write_keeps_last_ckpt(tmp_path) -> None:
    path = tmp_path / "last.ckpt"
    good = save_good(path)
    run_killed(
        """
        import io, os, signal, sys, torch
        from univa.training.checkpoint_io import AtomicCheckpointIO
        real_save = torch.save
        def dying_save(obj, file):
            buffer = io.BytesIO()
            real_save(obj, buffer)
            file.write(buffer.getvalue()[: buffer.tell() // 2])
            file.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        torch.save = dying_save
        state = {"state_dict": {"w": torch.ones(1_000_000)}, "epoch": 1}
        AtomicCheckpointIO().save_checkpoint(state, sys.argv[1])
        """,
        str(path),
    )
    assert_loads_as(path, good)
    (leftover,) = (name for name in os.listdir(tmp_path) if name != "last.ckpt")
    assert leftover.startswith(".last.ckpt.") and leftover.endswith(".tmp")
    newer = save_good(path, epoch=2)  # the next save clears the dead writer's leftover
    assert_loads_as(path, newer)
    assert os.listdir(tmp_path) == ["last.ckpt"]


def test_full_disk_on_results_json_keeps_the_previous_one(tmp_path, monkeypatch) -> None:
    write_results(tmp_path, {"seed": 1})

    def no_space(fd: int) -> None:
        raise NO_SPACE

    monkeypatch.setattr(os, "fsync", no_space)  # delayed allocation: reported at fsync
    message = one_line_error("univa.evaluate", lambda: write_results(tmp_path, {"seed": 2}))
    assert f"results.json into {tmp_path}:" in message
    assert json.loads((tmp_path / "results.json").read_text()) == {"seed": 1}
    assert os.listdir(tmp_path) == ["results.json"]


@pytest.mark.slow  # starts fresh interpreters: seconds each
def test_kill_before_results_json_is_renamed_keeps_the_previous_one(tmp_path) -> None:
    write_results(tmp_path, {"seed": 1})
    run_killed(
        """
        import os, signal, sys
        from pathlib import Path
        from univa.report.results import write_results
        os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
        write_results(Path(sys.argv[1]), {"seed": 2, "val": list(range(100_000))})
        """,
        str(tmp_path),
    )
    assert json.loads((tmp_path / "results.json").read_text()) == {"seed": 1}


def test_full_disk_on_an_analysis_csv_keeps_the_previous_one(tmp_path, monkeypatch) -> None:
    path = tmp_path / "analysis" / "predictions_test.csv"
    write_csv(path, ["utt_id"], [["a"]], replace=True)
    monkeypatch.setattr(os, "replace", lambda *args: (_ for _ in ()).throw(NO_SPACE))
    with pytest.raises(OutputWriteError, match=f"into {path.parent}:"):
        write_csv(path, ["utt_id"], [["b"]], replace=True)  # no room for the folder's new entry
    assert path.read_text() == "utt_id\na\n"
    assert os.listdir(path.parent) == ["predictions_test.csv"]


def test_full_disk_on_predictions_leaves_no_file(tmp_path, monkeypatch) -> None:
    """`predict`'s output is new: a full disk leaves none, not a truncated one."""
    monkeypatch.setattr(os, "link", lambda *args: (_ for _ in ()).throw(NO_SPACE))
    path = tmp_path / "preds.csv"
    message = one_line_error(
        "univa.predict", lambda: write_csv(path, ["utt_id"], [[str(i)] for i in range(1000)])
    )
    assert str(tmp_path) in message
    assert os.listdir(tmp_path) == []


def test_full_disk_on_a_figure_keeps_the_previous_one(tmp_path, monkeypatch) -> None:
    figure = Figure()
    figure.subplots().plot([0, 1])
    (path,) = save_figures({"per_label_f1": figure}, tmp_path).values()
    before = path.read_bytes()
    monkeypatch.setattr(Figure, "savefig", lambda *args, **kwargs: (_ for _ in ()).throw(NO_SPACE))
    with pytest.raises(OutputWriteError, match=str(tmp_path)):
        save_figures({"per_label_f1": figure}, tmp_path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["per_label_f1.png"]


def test_a_file_created_meanwhile_is_never_overwritten(tmp_path) -> None:
    """predict checked that its output was free; a user's file appears before the write ends."""
    path = tmp_path / "preds.csv"
    with (
        pytest.raises(InputError, match="already exists"),
        atomic_write(path, "w", replace=False) as file,
    ):
        file.write("utt_id\n")
        path.write_text("the user's file")
    assert path.read_text() == "the user's file"
    assert os.listdir(tmp_path) == ["preds.csv"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MB filesystem (tmpfs); skipped where this user may not mount one."""
    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True
        )
    except FileNotFoundError:
        pytest.skip("no mount command")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def test_a_really_full_disk_keeps_last_ckpt(small_disk: Path) -> None:
    path = small_disk / "checkpoints" / "last.ckpt"
    good = save_good(path)
    big = {"state_dict": {"w": torch.ones(1_000_000)}, "epoch": 1}  # 4 MB on a 2 MB disk
    message = one_line_error("univa.train", lambda: AtomicCheckpointIO().save_checkpoint(big, path))
    assert f"into {path.parent}: No space left on device" in message
    assert_loads_as(path, good)
    assert os.listdir(path.parent) == ["last.ckpt"]


@pytest.mark.slow
def test_train_on_a_disk_filling_up_ends_in_one_line(compose_cfg, monkeypatch) -> None:
    """Epoch 1's checkpoints fit, epoch 2's do not: one line, epoch 1's last.ckpt intact."""
    cfg = compose_cfg(
        "dataset.size=tiny",
        "dataset.batch_size=8",
        "trainer.max_epochs=2",
        "test=false",
        "analysis.enabled=false",
    )
    monkeypatch.setattr(torch, "save", full_disk_save(lambda obj: obj.get("epoch", 0) >= 1))
    message = one_line_error("univa.train", lambda: train(cfg))
    checkpoints = Path(cfg.paths.output_dir) / "checkpoints"
    assert f"into {checkpoints}: No space left on device" in message
    last = torch.load(checkpoints / "last.ckpt", weights_only=True)
    assert last["epoch"] == 0
    assert not [name for name in os.listdir(checkpoints) if name.endswith(".tmp")]
    assert not (Path(cfg.paths.output_dir) / "results.json").exists()


def test_a_really_full_disk_keeps_results_json(small_disk: Path) -> None:
    """Today results.json was rewritten in place: a full disk left it truncated."""
    write_results(small_disk, {"seed": 1})
    with pytest.raises(OSError), (small_disk / "other").open("wb") as filler:
        filler.write(bytes(3 * 2**20))  # someone else filled the disk
    big = {"seed": 2, "val": list(range(100_000))}
    message = one_line_error("univa.evaluate", lambda: write_results(small_disk, big))
    assert f"into {small_disk}: No space left on device" in message
    assert json.loads((small_disk / "results.json").read_text()) == {"seed": 1}
    assert sorted(os.listdir(small_disk)) == ["other", "results.json"]
