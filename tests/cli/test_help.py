"""`--help` helps (issue 19, item 11): each command says in one screen what it does, its
required and main keys with an example each, and how to see the whole config, instead of
Hydra's dump of the config; the group options it lists exist. The commands that write no run
folder (issue 21, item 7) list every key of their entry config."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from command_line import COMMANDS, TOOLS
from univa.cli import CONFIG_DIR

ONE_SCREEN = 30
# `group=a|b|c` in a help text: options of a config group
GROUP_OPTIONS = re.compile(r"\b([a-z_]+)=((?:[a-z0-9_]+\|)+[a-z0-9_]+)")
MAIN_KEYS = {
    "univa.train": ["dataset=", "text=", "trainer=", "ckpt_path=", "-m "],
    "univa.evaluate": ["ckpt_path=", "pretrained=", "split="],
    "univa.predict": ["pretrained=", "ckpt_path=", "output=", "split=", "input="],
}


def template(program: str) -> str:
    """The help text of `program`, as its entry config chooses it (conf/hydra/help/)."""
    name = program.removeprefix("univa.")
    assert f"override hydra/help: {name}" in (Path(CONFIG_DIR) / f"{name}.yaml").read_text()
    return OmegaConf.load(Path(CONFIG_DIR) / "hydra" / "help" / f"{name}.yaml").template


def entry_keys(program: str) -> list[str]:
    """The keys of a tool's entry config, `conf/<command>.yaml`."""
    entry = OmegaConf.load(Path(CONFIG_DIR) / f"{program.removeprefix('univa.')}.yaml")
    return [str(key) for key in entry if key != "defaults"]


@pytest.mark.parametrize("program", COMMANDS + TOOLS)
def test_help_is_one_screen_with_the_main_keys_and_the_whole_config(program: str) -> None:
    text = template(program)
    assert len(text.strip().splitlines()) <= ONE_SCREEN, text
    assert text.startswith(f"python -m {program} ")
    assert f"python -m {program} --cfg job" in text
    if program in TOOLS:
        assert all(f"{key}=" in text for key in entry_keys(program)), text
        assert "Required:" in text
        return
    assert all(key in text for key in MAIN_KEYS[program]), text
    if program != "univa.train":
        required = text.split("Required")[1].split("Main keys")[0]
        assert "ckpt_path=" in required and "pretrained=" in required
        assert program == "univa.evaluate" or "output=" in required


@pytest.mark.parametrize("program", COMMANDS + TOOLS)
def test_the_group_options_in_help_exist(program: str) -> None:
    for group, options in GROUP_OPTIONS.findall(template(program)):
        folder = Path(CONFIG_DIR) / group
        if folder.is_dir():
            assert {f"{o}.yaml" for o in options.split("|")} <= {p.name for p in folder.iterdir()}


@pytest.mark.slow  # starts a fresh interpreter: seconds
def test_predict_help_is_the_one_screen_not_the_config() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "univa.predict", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == template("univa.predict").strip()
