"""`python -m univa.extract key=value ...`: its shard option, its --help listing every key of
its entry config, and a mistake on the command line ending in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from univa.cli import CONFIG_DIR
from univa.errors import UsageError
from univa.extract import main, parse_shard


def test_a_shard_is_i_of_n() -> None:
    assert parse_shard("0/4") == (0, 4)
    assert parse_shard(" 3 / 4 ") == (3, 4)
    assert parse_shard(None) is None


@pytest.mark.parametrize("text", ["4/4", "a/b", "-1/2", "1", "0/0", "1/2/3"])
def test_a_shard_outside_0_to_n_is_refused(text: str) -> None:
    with pytest.raises(UsageError, match=rf"^shard={text}: expected I/N with 0 <= I < N"):
        parse_shard(text)


def test_help_mentions_every_key_of_the_entry_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    keys = [str(k) for k in OmegaConf.load(Path(CONFIG_DIR) / "extract.yaml") if k != "defaults"]
    assert "input" in keys and "shard" in keys  # the entry config read as meant
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code in (0, None)
    shown = capsys.readouterr().out
    assert shown.startswith("python -m univa.extract ")
    missing = [key for key in keys if f"{key}=" not in shown]
    assert missing == [], shown


def test_a_missing_out_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main([f"input={tmp_path}"])
    message = stop.value.code
    assert isinstance(message, str) and "\n" not in message, message
    assert message.startswith("univa.extract: error: out is required (out="), message
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_a_bad_shard_on_the_command_line_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main([f"input={tmp_path}", f"out={tmp_path / 'out'}", "shard=2/2"])
    assert (
        stop.value.code
        == "univa.extract: error: shard=2/2: expected I/N with 0 <= I < N, e.g. shard=0/4"
    )
    assert list(tmp_path.iterdir()) == []
