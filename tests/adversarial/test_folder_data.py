"""Hostile and faulty dataset folders in the generic format: arrays that would unpickle code,
malformed folders, a newer format, a missing PLM choice, a spreadsheet's byte-order mark.

Each case ends in a one-line refusal before training (naming the file, key and rows) or in a
documented repair; no code from a file runs and nothing of the user's folder is changed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from command_line import created_folders, run_in_process
from folder_data import write_tiny
from univa.data import FolderDataModule, read_folder_split, validate_dataset, write_dataset
from univa.errors import InputError


class RunsCommand:
    """Unpickled by plain `pickle.load`, this runs a shell command (here: creates a file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def one_line(failure, program: str = "univa.train") -> str:
    assert failure.returncode != 0 and len(failure.lines) == 1, failure.stderr
    assert failure.lines[0].startswith(f"{program}: error: ")
    return failure.lines[0]


def test_an_array_that_would_unpickle_code_is_refused_and_never_run(tmp_path: Path) -> None:
    out = write_tiny(tmp_path / "ds")
    marker = tmp_path / "ran"
    hostile = np.array([RunsCommand(marker)] * 3, dtype=object)
    np.save(out / "train" / "audio.npy", hostile, allow_pickle=True)
    problems = validate_dataset(out)
    assert any(p.startswith("train/audio.npy: cannot read it as a .npy array") for p in problems)
    with pytest.raises(InputError, match=r"train/audio\.npy"):
        FolderDataModule(out).setup()
    assert not marker.exists()


def test_a_malformed_folder_is_refused_in_one_line_before_training(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = write_tiny(tmp_path / "ds")
    np.save(out / "valid" / "audio_lengths.npy", np.full(8, 99))
    table = out / "test" / "utterances.csv"
    before = table.read_text()
    table.write_text(before.replace("\nu2_1,", "\nu2_0,", 1))
    root = tmp_path / "root"
    root.mkdir()
    failure = run_in_process(
        monkeypatch, root, "univa.train", "dataset=folder", f"dataset.data_dir={out}"
    )
    line = one_line(failure)
    assert "2 problems" in line
    assert "valid/audio_lengths.npy: lengths outside 0..5 (the array's steps) in rows 0, 1" in line
    assert "test/utterances.csv: column 'utt_id' repeats ids of earlier rows in row 1" in line
    assert created_folders(root) == []  # nothing trained, no run folder left
    assert np.load(out / "valid" / "audio_lengths.npy").tolist() == [99] * 8  # left alone


def test_a_dataset_of_a_newer_format_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = write_tiny(tmp_path / "ds")
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "format_version": 7}))
    failure = run_in_process(
        monkeypatch, tmp_path, "univa.train", "dataset=folder", f"dataset.data_dir={out}"
    )
    assert "'format_version' is 7, newer than the 1" in one_line(failure)


def test_text_roberta_without_a_plm_for_the_folder_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = write_tiny(tmp_path / "ds", text=True)
    failure = run_in_process(
        monkeypatch, tmp_path, "univa.train", "dataset=folder", f"dataset.data_dir={out}",
        "text=roberta",
    )  # fmt: skip
    line = one_line(failure)
    assert "text=roberta on dataset=folder needs text.encoder=" in line
    assert "names no text_encoder" in line
    assert created_folders(tmp_path) == []


def test_floats_ragged_rows_and_non_finite_values_are_named(tmp_path: Path) -> None:
    out = write_tiny(tmp_path / "ds")
    np.save(out / "train" / "text.npy", np.zeros((16, 5, 6)))  # float64
    features = np.load(out / "valid" / "audio.npy")
    features[3, 0, 0] = np.inf
    np.save(out / "valid" / "audio.npy", features)
    table = out / "test" / "utterances.csv"
    lines = table.read_text().splitlines()
    lines[4] = lines[4] + ",extra"
    table.write_text("\n".join(lines) + "\n")
    problems = validate_dataset(out)
    assert any(
        p.startswith("train/text.npy: must be float32 (N, L, D), got float64") for p in problems
    )
    assert "valid/audio.npy: NaN or infinite features in row 3" in problems
    assert any(p.startswith("test/utterances.csv: not the header's") for p in problems)


def test_a_spreadsheets_byte_order_mark_is_read_as_utf8(tmp_path: Path) -> None:
    out = write_tiny(tmp_path / "ds")
    table = out / "train" / "utterances.csv"
    table.write_bytes(b"\xef\xbb\xbf" + table.read_bytes())
    assert validate_dataset(out) == []
    assert read_folder_split(out, "train").utt_ids[0] == "u0_0"


def test_write_refuses_a_file_and_keeps_it(tmp_path: Path) -> None:
    target = tmp_path / "ds"
    target.write_text("mine")
    with pytest.raises(InputError, match="not an empty folder"):
        write_dataset(target, {"name": "x", "labels": ["a"]}, {})
    assert target.read_text() == "mine"
