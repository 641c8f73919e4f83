"""Hostile and faulty inputs of `python -m univa.data.convert`: a pickle that would run code, an
output folder that holds something, a text file whose rows disagree with the features, a file
that is no computational sequence.

Each case ends in one `univa.data.convert: error: ...` line; no code from a file runs, nothing
is written, and what was there before is left as it was.
"""

from __future__ import annotations

import csv
import os
import pickle
import shutil
from pathlib import Path

import pytest

from univa.data.convert import main
from univa.data.released.cache import CACHE_DIR_NAME

ERROR = r"^univa.data.convert: error: [^\n]*"
AUDIO_TRAIN = "preprocess_data/final_feat/A/MOSEI_train_audio_utt_VA.pkl"


class RunsCommand:
    """Unpickled by plain `pickle.load`, this runs a shell command (here: creates a file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def mosei(tiny_mosei: Path, tmp_path: Path) -> Path:
    ignore = shutil.ignore_patterns(CACHE_DIR_NAME)
    return Path(shutil.copytree(tiny_mosei, tmp_path / "MOSEI", ignore=ignore))


def test_a_pickle_that_would_run_code_is_refused(mosei: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    (mosei / AUDIO_TRAIN).write_bytes(pickle.dumps({"train": RunsCommand(marker)}))
    with pytest.raises(SystemExit, match=ERROR + "refusing to load .*nothing in it was run"):
        main([f"released={mosei}", f"out={tmp_path / 'out'}"])
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_an_output_folder_with_content_is_left_alone(mosei: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match=ERROR + "already exists and is not an empty folder"):
        main([f"released={mosei}", f"out={out}"])
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert not (mosei / CACHE_DIR_NAME).exists()  # refused before reading anything


def test_text_rows_in_another_order_than_the_features_are_refused(
    mosei: Path, tmp_path: Path
) -> None:
    """The PLM path reads texts in the text file's order and features in the structure's: a
    converted row could not hold both, so the converter refuses rather than pick one."""
    path = mosei / "final_multi_labels.csv"
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    train = [i for i, row in enumerate(rows) if row[-2] == "train"]
    rows[train[0]], rows[train[-1]] = rows[train[-1]], rows[train[0]]
    with path.open("w", newline="", encoding="utf-8") as file:
        csv.writer(file, lineterminator="\n").writerows(rows)
    with pytest.raises(SystemExit, match=ERROR + "another order than videos_structure.json"):
        main([f"released={mosei}", f"out={tmp_path / 'out'}"])
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_not_hdf5_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("h5py")
    fake = tmp_path / "labels.csd"
    fake.write_bytes(b"not an HDF5 file")
    (tmp_path / "splits.json").write_text('{"train": ["a"], "valid": ["b"], "test": ["c"]}')
    args = [f"labels={fake}", f"audio={fake}", f"splits={tmp_path / 'splits.json'}"]
    with pytest.raises(SystemExit, match=ERROR + "cannot read .*labels.csd"):
        main([*args, f"out={tmp_path / 'out'}"])
    assert not (tmp_path / "out").exists()
