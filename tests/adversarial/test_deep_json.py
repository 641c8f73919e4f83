"""JSON nested 100,000 deep (issue 20, item 2): a manifest, an exported config.json and a .csd
conversion's splits file each end in one line naming the file, not in a RecursionError."""

from __future__ import annotations

from pathlib import Path

import pytest

import univa
from command_line import run_in_process
from folder_data import write_tiny
from pretrained_folders import write_folder
from univa.data.convert import main as convert_main
from univa.data.csd.sequences import read_splits
from univa.data.validate import main as validate_main
from univa.errors import UniVAError
from univa.model.pretrained import CONFIG_FILE
from univa.safe_json import MAX_DEPTH, loads

DEEP = '{"labels": ' + "[" * 100_000 + "]" * 100_000 + "}"


def test_depth_is_counted_outside_strings() -> None:
    assert loads('{"a": "[[[[", "b": [[1]]}', "x.json") == {"a": "[[[[", "b": [[1]]}
    nested = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert loads(nested, "x.json") == eval(nested)
    with pytest.raises(UniVAError, match=rf"x.json: JSON nested {MAX_DEPTH + 1} levels deep"):
        loads("[" + nested + "]", "x.json")


def test_a_deep_manifest_is_one_problem_and_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = write_tiny(tmp_path / "ds")
    (out / "manifest.json").write_text(DEEP)
    with pytest.raises(SystemExit) as stop:
        validate_main([f"data_dir={out}"])
    assert stop.value.code == 1
    problems = capsys.readouterr().err.strip().splitlines()[1:]
    assert len(problems) == 1 and "manifest.json: JSON nested 100001 levels deep" in problems[0]
    failure = run_in_process(
        monkeypatch, tmp_path, "univa.train", "dataset=folder", f"dataset.data_dir={out}"
    )
    assert failure.returncode != 0 and len(failure.lines) == 1, failure.stderr
    assert failure.lines[0].startswith("univa.train: error: ")
    assert "manifest.json: JSON nested 100001 levels deep" in failure.lines[0]


def test_a_deep_exported_config_is_refused_in_one_line(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "model")
    (folder / CONFIG_FILE).write_text(DEEP)
    with pytest.raises(UniVAError, match=r"config.json: JSON nested 100001 levels deep") as caught:
        univa.load_pretrained(folder)
    assert "\n" not in str(caught.value)


def test_a_deep_splits_file_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    splits = tmp_path / "splits.json"
    splits.write_text(DEEP)
    with pytest.raises(UniVAError, match=r"splits.json: JSON nested 100001 levels deep"):
        read_splits(splits)
    csd = tmp_path / "labels.csd"
    csd.write_bytes(b"")
    with pytest.raises(SystemExit) as exit_info:
        convert_main(
            [f"labels={csd}", f"splits={splits}", f"audio={csd}", f"out={tmp_path / 'out'}"]
        )
    message = str(exit_info.value.code)
    assert message.startswith("univa.data.convert: error: ") and "\n" not in message
    assert "splits.json: JSON nested 100001 levels deep" in message
    assert not (tmp_path / "out").exists()
