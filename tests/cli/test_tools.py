"""The commands that write no run folder take Hydra's `key=value` like train, evaluate and
predict (issue 21, item 7): their keys are their entry config's, a required key left out or a
key they do not have is one line naming it, and they leave no Hydra folder or log behind."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from command_line import TOOLS
from folder_data import write_tiny
from univa.cli import CONFIG_DIR


def entry_config(program: str):
    return OmegaConf.load(Path(CONFIG_DIR) / f"{program.removeprefix('univa.')}.yaml")


def required_keys(program: str) -> list[str]:
    entry = entry_config(program)
    return [str(key) for key in entry if key != "defaults" and OmegaConf.is_missing(entry, key)]


def tool_main(program: str):
    module = f"{program}.__main__" if program == "univa.data.synthetic" else program
    return __import__(module, fromlist=["main"]).main


def error_line(program: str, *argv: str) -> str:
    """The one line the tool `program` ends with, run with `argv` in this process."""
    with pytest.raises(SystemExit) as stop:
        tool_main(program)(list(argv))
    message = stop.value.code
    assert isinstance(message, str) and "\n" not in message, message
    assert message.startswith(f"{program}: error: "), message
    return message


@pytest.mark.parametrize("program", TOOLS)
def test_a_missing_required_key_is_named_with_its_line_of_the_help(
    program: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first, *others = required_keys(program)
    given = [f"{key}={tmp_path / key}" for key in others]
    for argv in (given, [*given, f"{first}="]):  # left out, or given empty
        message = error_line(program, *argv)
        assert f"error: {first} is required ({first}=" in message, message
    assert list(tmp_path.iterdir()) == []  # and the working directory is left as it was


@pytest.mark.parametrize("program", TOOLS)
def test_a_key_the_tool_does_not_have_is_refused_with_its_keys(
    program: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    keys = [str(key) for key in entry_config(program) if key != "defaults"]
    for override in ("nosuchkey=1", "+nosuchkey=1"):
        message = error_line(program, override)
        assert "nosuchkey is not a key of " + program in message
        assert message.endswith("its keys: " + ", ".join(keys))
    assert list(tmp_path.iterdir()) == []


def test_a_misspelt_key_gets_the_closest_one(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    message = error_line("univa.export", "ckpt_pth=a.ckpt", "out=b")
    assert message.endswith("ckpt_pth is not a key of univa.export; did you mean ckpt_path?")


def test_a_value_of_the_wrong_type_names_the_key(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    message = error_line("univa.data.synthetic", f"out={tmp_path / 'x'}", "seed=abc")
    assert message.endswith("seed=abc: expected an integer (its default is 1111)")
    message = error_line("univa.data.convert", "labels=a", "splits=b", "out=c", "max_length=x")
    assert message.endswith("max_length=x: expected an integer")


@pytest.mark.parametrize("flag", ["-m", "--multirun"])
def test_a_sweep_is_refused_before_anything_is_written(flag, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    message = error_line("univa.data.synthetic", flag, "out=a", "seed=1,2")
    assert "univa.data.synthetic runs once" in message
    assert list(tmp_path.iterdir()) == []


def test_main_reads_argv_in_place_of_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["prog", "data_dir=from_sys_argv"])
    message = error_line("univa.data.validate", "data_dir=")
    assert "data_dir is required" in message
    assert sys.argv == ["prog", "data_dir=from_sys_argv"]


def test_the_tools_defaults_are_the_functions_defaults() -> None:
    """The entry configs hold the command line's defaults; the Python functions keep theirs."""
    from univa.data.convert import convert_csd
    from univa.data.synthetic.generator import write_synthetic_dataset

    synthetic = inspect.signature(write_synthetic_dataset).parameters
    assert {key: synthetic[key].default for key in ("flavor", "seed", "size")} == {
        key: entry_config("univa.data.synthetic")[key] for key in ("flavor", "seed", "size")
    }
    csd = inspect.signature(convert_csd).parameters
    for key in ("max_steps", "max_length", "shorten"):
        assert entry_config("univa.data.convert")[key] == csd[key].default, key


@pytest.mark.slow  # a fresh interpreter: seconds
def test_a_tool_run_leaves_no_output_folder_or_log(tmp_path: Path) -> None:
    """`python -m univa.data.validate data_dir=...` in an empty folder: it answers, and the
    folder stays empty (no outputs/, .hydra/ or <job>.log), as it does when the tool fails."""
    dataset = write_tiny(tmp_path / "ds")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    for argv, code in (([f"data_dir={dataset}"], 0), ([], 1), (["-m", "data_dir=a,b"], 1)):
        done = subprocess.run(
            [sys.executable, "-m", "univa.data.validate", *argv],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=120,
        )
        assert done.returncode == code, done.stderr
        if code == 0:
            assert "a valid univa dataset" in done.stdout
        else:
            assert done.stderr.startswith("univa.data.validate: error: ")
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert list(cwd.iterdir()) == [], argv
