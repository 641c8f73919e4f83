"""Exports and dataset writes that race, are killed, or meet a full or read-only disk (issue 20):
exactly one of two writers wins, a killed writer's partial folder is removed by the next write,
and a failed write ends in one line naming the folder with nothing left behind."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

import univa.data.generic.write
import univa.export
from adversarial.test_faults import NO_SPACE, one_line_error, run_killed
from folder_data import write_tiny
from pretrained_folders import tiny_network
from univa.export import export
from univa.model.pretrained import CONFIG_FILE, TEXT_ENCODER_DIR, folder_config

THRESHOLDS = {"fixed": 0.18, "tuned": None, "mode": None, "source": "model.threshold"}


class FakeTokenizer:
    """Writes a PLM tokenizer's files, or fails as the tokenizers library does on a full disk."""

    def __init__(self, fails: bool = False) -> None:
        self.fails = fails

    def save_pretrained(self, folder: Path) -> None:
        folder.mkdir()
        (folder / "tokenizer.json").write_text("{}")
        if self.fails:
            raise Exception("No space left on device (os error 28)")


@pytest.fixture
def checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """A checkpoint file that `export` reads as a tiny untrained network (GloVe, or PLM with
    `tokenizer`), so that an export takes milliseconds."""

    def make(tokenizer: FakeTokenizer | None = None) -> Path:
        network = tiny_network()
        module = SimpleNamespace(model=network)
        # export imports these where it runs (--help answers without torch): patched at home
        monkeypatch.setattr("univa.training.from_checkpoint.load_module", lambda path: module)
        monkeypatch.setattr(
            univa.export,
            "exported_config",
            lambda module, path: folder_config(network, thresholds=THRESHOLDS),
        )
        if tokenizer is not None:
            monkeypatch.setattr(univa.export, "is_glove", lambda name: False)
            monkeypatch.setattr("univa.data.tokenization.load_tokenizer", lambda name: tokenizer)
        path = tmp_path / "best.ckpt"
        path.write_bytes(b"")
        return path

    return make


def rival_first(module: object, name: str, monkeypatch: pytest.MonkeyPatch, rival: Callable):
    """Make `module.name` run `rival` once first: another writer (another live process, as
    its process id says) finishes while one writes."""
    real = getattr(module, name)
    pending = [rival]

    def racing(*args, **kwargs):
        if pending:
            with pytest.MonkeyPatch.context() as another_process:
                another_process.setattr(os, "getpid", os.getppid)
                pending.pop()()
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, racing)


@pytest.mark.parametrize("plm", [False, True], ids=["glove", "plm"])
@pytest.mark.parametrize("empty_out", [False, True], ids=["absent", "empty"])
def test_of_two_exports_into_one_new_folder_one_wins(
    tmp_path: Path, checkpoint, monkeypatch: pytest.MonkeyPatch, plm: bool, empty_out: bool
) -> None:
    """Both checked that `model` was free; the second to finish fails and changes nothing
    (today both exited 0, one silently lost; a PLM export crashed with ENOTEMPTY)."""
    ckpt, out = checkpoint(FakeTokenizer() if plm else None), tmp_path / "model"
    if empty_out:
        out.mkdir()
    rival_first(univa.export, "model_card", monkeypatch, lambda: export(ckpt, out))
    message = one_line_error("univa.export", lambda: export(ckpt, out))
    assert str(out) in message and "not writing into it" in message
    assert sorted(os.listdir(tmp_path)) == ["best.ckpt", "model"]  # no partial folder left
    written = {CONFIG_FILE, "model.safetensors", "README.md", *([TEXT_ENCODER_DIR] * plm)}
    assert set(os.listdir(out)) == written  # the first export's folder, whole


def test_of_two_dataset_writes_into_one_new_folder_one_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for write_dataset (and so for univa.data.convert, which writes with it)."""
    out = tmp_path / "ds"
    folder_write = univa.data.generic.write
    rival_first(folder_write, "validate_dataset", monkeypatch, lambda: write_tiny(out, ["x"]))
    message = one_line_error("univa.data.convert", lambda: write_tiny(out))
    assert str(out) in message and "not writing into it" in message
    assert os.listdir(tmp_path) == ["ds"]
    assert "x" in (out / "manifest.json").read_text()  # the first writer's dataset, whole


def test_an_export_killed_midway_leaves_a_folder_the_next_export_removes(
    tmp_path: Path, checkpoint
) -> None:
    """Today each kill left a `.model.partial-<pid>/` of weights and config.json for ever."""
    ckpt, out = checkpoint(), tmp_path / "model"
    run_killed(
        """
        import os, signal, sys
        from pathlib import Path
        from univa.files import building_folder

        with building_folder(Path(sys.argv[1])) as tmp:
            (tmp / "model.safetensors").write_bytes(bytes(1000))
            (tmp / "config.json").write_text("{}")
            (tmp / "text_encoder").mkdir()
            os.kill(os.getpid(), signal.SIGKILL)
        """,
        str(out),
    )
    (left,) = [name for name in os.listdir(tmp_path) if name.startswith(".model.partial-")]
    assert CONFIG_FILE in os.listdir(tmp_path / left)
    export(ckpt, out)
    assert sorted(os.listdir(tmp_path)) == ["best.ckpt", "model"]


def test_a_plm_export_on_a_full_disk_ends_in_one_line(tmp_path: Path, checkpoint) -> None:
    """The tokenizers library reports a full disk as a bare Exception: a traceback today."""
    ckpt = checkpoint(FakeTokenizer(fails=True))
    message = one_line_error("univa.export", lambda: export(ckpt, tmp_path / "model"))
    assert f"cannot write {tmp_path / 'model'}: No space left on device" in message
    assert os.listdir(tmp_path) == ["best.ckpt"]


def test_a_full_disk_while_saving_the_network_ends_in_one_line(
    tmp_path: Path, checkpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PLM's Hugging Face config is written with a plain open(): OSError, a traceback today."""
    ckpt = checkpoint()

    def save_network(model, folder: Path, config) -> None:
        (folder / CONFIG_FILE).write_text("{}")
        raise NO_SPACE

    monkeypatch.setattr("univa.model.pretrained.save_network", save_network)
    message = one_line_error("univa.export", lambda: export(ckpt, tmp_path / "model"))
    assert f"cannot write {tmp_path / 'model'}: No space left on device" in message
    assert os.listdir(tmp_path) == ["best.ckpt"]


def test_an_export_into_a_read_only_folder_ends_in_one_line(
    tmp_path: Path, checkpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Today the temporary folder's mkdir raised `OSError: [Errno 30]` with a traceback."""
    ckpt, real_mkdir = checkpoint(), Path.mkdir

    def read_only_mkdir(self: Path, *args, **kwargs) -> None:
        if self.parent == tmp_path and not self.exists():
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only_mkdir)
    message = one_line_error("univa.export", lambda: export(ckpt, tmp_path / "model"))
    assert f"cannot write {tmp_path / 'model'}: Read-only file system" in message
    assert os.listdir(tmp_path) == ["best.ckpt"]
