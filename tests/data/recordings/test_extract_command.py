"""`python -m univa.extract key=value ...`: its shard option, refused in one line when it is
not I/N (its --help and required keys: the shared tool tests, tests/cli/)."""

from __future__ import annotations

from pathlib import Path

import pytest

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
