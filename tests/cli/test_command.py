"""Every mistake on the command line ends in one line `univa.<command>: error: ...`, before any
data is read, and leaves no run folder behind (issue 11, items 4 and 10)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lightning.fabric.accelerators import CUDAAccelerator
from omegaconf import OmegaConf

from command_line import created_folders, run_in_process, run_subprocess
from univa.errors import InputError, UsageError

ONE_LINE = re.compile(r"univa\.(train|evaluate|predict): error: [^\n]+")


def assert_one_line(failure, program: str = "univa.train") -> str:
    assert failure.returncode != 0
    assert len(failure.lines) == 1, failure.stderr
    assert failure.lines[0].startswith(f"{program}: error: ")
    assert "Traceback" not in failure.stderr
    return failure.lines[0]


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CUDAAccelerator, "is_available", staticmethod(lambda: False))


@pytest.mark.slow  # starts fresh interpreters: seconds each
def test_misspelt_key_is_one_line_with_the_closest_key(tmp_path: Path) -> None:
    failure = run_subprocess(tmp_path, "univa.train", "model.temprature=0.1")
    line = assert_one_line(failure)
    assert "model.temprature" in line and "did you mean model.temperature?" in line
    assert created_folders(tmp_path) == []


@pytest.mark.slow  # starts fresh interpreters: seconds each
def test_wrong_type_is_one_line_naming_the_key_and_no_run_folder_is_left(tmp_path: Path) -> None:
    failure = run_subprocess(tmp_path, "univa.train", "model.temperature=abc")
    line = assert_one_line(failure)
    assert "model.temperature=abc" in line and "a number" in line
    assert created_folders(tmp_path) == []


@pytest.mark.skipif(CUDAAccelerator.is_available(), reason="this machine has a GPU")
@pytest.mark.slow  # starts fresh interpreters: seconds each
def test_gpu_trainer_without_a_gpu_is_one_line_saying_what_to_use(tmp_path: Path) -> None:
    line = assert_one_line(run_subprocess(tmp_path, "univa.train", "trainer=gpu"))
    assert "no GPU was found" in line and "trainer=cpu" in line
    assert created_folders(tmp_path) == []


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("trainer.max_epoch=3", "did you mean trainer.max_epochs?"),
        ("dataset.batch_sise=8", "did you mean dataset.batch_size?"),
        ("sed=1", "did you mean seed?"),
        ("datset=mosei", "did you mean dataset?"),
        ("analysis.threshold_tunning=global", "did you mean analysis.threshold_tuning?"),
    ],
)
def test_misspelt_key_in_any_group(monkeypatch, tmp_path: Path, override: str, expected) -> None:
    line = assert_one_line(run_in_process(monkeypatch, tmp_path, "univa.train", override))
    assert override.split("=")[0] in line and expected in line


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("+analysis.threshold_tunning=global", "did you mean analysis.threshold_tuning?"),
        ("+model.foo=1", "model has a fixed set of keys and no 'foo'; its keys: _target_,"),
        ("+dataset.bach_size=8", "did you mean dataset.batch_size?"),
    ],
)
def test_a_key_added_with_plus_to_a_typed_config_is_refused(
    monkeypatch, tmp_path: Path, override: str, expected: str
) -> None:
    """Hydra lets `+` add any key, also to a config typed by a schema; nothing read it, so a
    misspelt `+analysis.threshold_tunning=global` tuned nothing without a word."""
    line = assert_one_line(run_in_process(monkeypatch, tmp_path, "univa.train", override))
    assert line.startswith(f"univa.train: error: {override.split('=')[0]}: ") and expected in line
    assert created_folders(tmp_path) == []


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("trainer.max_epochs=x", "trainer.max_epochs=x: expected an integer"),
        ("dataset.batch_size=8.5", "dataset.batch_size=8.5: expected an integer"),
        ("model.contrastive=maybe", "model.contrastive=maybe: expected true or false"),
        ("model.contrastive=yes", "model.contrastive=yes: expected true or false"),
        ("analysis.enabled=3", "analysis.enabled=3: expected true or false"),
        ("trainer.precision=bf17", "trainer.precision=bf17: expected one of"),
        ("model.modalities=text", "model.modalities=text: expected a list"),
    ],
)
def test_wrong_type_names_the_key_and_the_type(monkeypatch, tmp_path, override, expected) -> None:
    line = assert_one_line(run_in_process(monkeypatch, tmp_path, "univa.train", override))
    assert expected in line
    assert created_folders(tmp_path) == []


def test_values_of_the_right_type_pass_the_checks(monkeypatch, tmp_path: Path) -> None:
    """Union hints (devices "auto" or a number), ints for floats, literals: then train's own
    option check (batch size 1) is the first error."""
    failure = run_in_process(
        monkeypatch,
        tmp_path,
        "univa.train",
        "trainer.devices=auto",
        "trainer.precision=bf16-mixed",
        "model.temperature=1",
        "tags=[a,b]",
        "dataset.batch_size=1",
    )
    assert "dataset.batch_size=1: the contrastive loss needs" in assert_one_line(failure)


def test_unknown_group_option_lists_the_valid_ones(monkeypatch, tmp_path: Path) -> None:
    line = assert_one_line(run_in_process(monkeypatch, tmp_path, "univa.train", "dataset=mosi"))
    assert "dataset=mosi" in line and "m3ed, mosei, recorded, synthetic" in line


@pytest.mark.parametrize("override", ["trainer=gpu", "trainer=ddp4", "trainer.accelerator=cuda"])
def test_gpu_trainers_without_a_gpu(monkeypatch, tmp_path: Path, no_gpu, override: str) -> None:
    line = assert_one_line(run_in_process(monkeypatch, tmp_path, "univa.train", override))
    assert "no GPU was found" in line
    assert "trainer=cpu" in line and "trainer=ddp trainer.accelerator=cpu" in line
    assert created_folders(tmp_path) == []


def test_gpu_trainer_with_a_gpu_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    from univa.cli.config_check import check_accelerator

    monkeypatch.setattr(CUDAAccelerator, "is_available", staticmethod(lambda: True))
    check_accelerator(OmegaConf.create({"accelerator": "gpu"}))
    monkeypatch.setattr(CUDAAccelerator, "is_available", staticmethod(lambda: False))
    check_accelerator(OmegaConf.create({"accelerator": "cpu"}))
    with pytest.raises(InputError, match="no GPU was found"):
        check_accelerator(OmegaConf.create({"accelerator": "gpu"}))


@pytest.mark.parametrize("program", ["univa.evaluate", "univa.predict"])
def test_evaluate_and_predict_mistakes_are_one_line(monkeypatch, tmp_path, program) -> None:
    line = assert_one_line(
        run_in_process(monkeypatch, tmp_path, program, "model.temprature=1"), program
    )
    assert "did you mean model.temperature?" in line
    # the recorded dataset's options are typed too, though null by default
    line = assert_one_line(
        run_in_process(monkeypatch, tmp_path, program, "dataset.batch_size=abc"), program
    )
    assert "dataset.batch_size=abc: expected an integer" in line
    line = assert_one_line(run_in_process(monkeypatch, tmp_path, program), program)
    assert "ckpt_path is required" in line  # a UniVAError of the task, as before
    assert created_folders(tmp_path) == []


def test_a_failed_task_removes_its_hydra_only_run_folder(monkeypatch, tmp_path: Path) -> None:
    """train's own option check fails after Hydra made the folder: nothing is left."""
    failure = run_in_process(monkeypatch, tmp_path, "univa.train", "dataset.batch_size=1")
    assert "dataset.batch_size=1" in assert_one_line(failure)
    assert created_folders(tmp_path) == []
    assert (tmp_path / "logs").is_dir()  # paths.log_dir itself is never removed


@pytest.mark.slow  # reads the data: seconds
def test_a_data_error_is_one_line_without_the_config_tree(monkeypatch, capsys, tmp_path) -> None:
    """The config tree is printed once the data is read and checked: a data error comes alone."""
    overrides = ("dataset=folder", "dataset.data_dir=nope")
    line = assert_one_line(run_in_process(monkeypatch, tmp_path, "univa.train", *overrides))
    assert "dataset.data_dir=nope" in line
    assert capsys.readouterr().out == ""


def test_a_file_that_is_not_a_checkpoint_is_named_so(tmp_path: Path) -> None:
    """`echo x > bad.ckpt; python -m univa.evaluate ckpt_path=bad.ckpt` (and predict)."""
    from univa.training.from_checkpoint import load_module

    path = tmp_path / "bad.ckpt"
    path.write_text("x\n")
    with pytest.raises(UsageError) as refused:
        load_module(path)
    assert f"{path} as a univa checkpoint: it is not a Lightning checkpoint" in str(refused.value)
    assert "Please file an issue" not in str(refused.value)
