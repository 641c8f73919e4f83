"""`python -m univa.data.convert labels=...`: CMU-MultimodalSDK computational sequences cut into
utterances, on small .csd files written here in the SDK's layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from omegaconf import open_dict

from csd_sequences import (
    SEGMENTS,
    VIDEOS,
    VIDEOS_ORDER,
    convert,
    frames,
    labels_of,
    write_csd,
    write_sequences,
)
from univa.data import read_folder_split, validate_dataset
from univa.data.csd.sequences import CsdRepairWarning, read_csd
from univa.data.csd.utterances import overlapping
from univa.data.records import MOSEI
from univa.train import train


@pytest.fixture
def sequences(tmp_path: Path) -> dict[str, Path]:
    return write_sequences(tmp_path)


def test_overlapping_keeps_the_rows_that_overlap_the_segment() -> None:
    intervals = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6]], dtype=float)
    assert overlapping(intervals, 1.0, 3.0).tolist() == [1, 2]
    assert overlapping(intervals, 1.5, 3.2).tolist() == [1, 2, 3]


def test_utterances_labels_and_splits(sequences: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "mosei"
    convert(sequences, out)
    assert validate_dataset(out) == []
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["labels"] == list(MOSEI.labels)
    assert manifest["modalities"] == {"audio": 5, "vision": 3}
    audio = read_csd(sequences["audio"]).videos
    for split, videos in VIDEOS.items():
        data = read_folder_split(out, split)
        assert data.utt_ids == [f"{v}[{i}]" for v in videos for i in range(len(SEGMENTS))]
        assert data.dialogue_ids == [v for v in videos for _ in SEGMENTS]
        assert data.turns == [i for _ in videos for i in range(len(SEGMENTS))]
        expected = np.concatenate([labels_of(VIDEOS_ORDER.index(v))[:, 1:] > 0 for v in videos])
        np.testing.assert_array_equal(data.labels, expected.astype(np.float32))
        # segment (2, 5) of 0.5 s audio frames: frames 4..9 (starting 2.0 .. 4.5)
        row = data.utt_ids.index(f"{videos[0]}[1]")
        steps = int(data.masks["audio"][row].sum())
        np.testing.assert_array_equal(
            data.features["audio"][row, :steps], audio[videos[0]][0][4:10]
        )
        assert steps == 6 and int(data.masks["vision"][row].sum()) == 12


def test_left_out_and_repaired_rows_are_warned(sequences: dict[str, Path], tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    audio = {v: frames(rng, 5, 0.5, end=4.0) for v in VIDEOS_ORDER if v != "v2"}  # no v2
    audio["v1"][0][0, 0] = np.nan
    write_csd(sequences["audio"], "COVAREP", audio)
    with pytest.warns(CsdRepairWarning) as warned:
        convert(sequences, tmp_path / "out")
    messages = " ".join(str(w.message) for w in warned)
    assert "1 video(s) of the splits file missing from the audio sequence (e.g. 'v2')" in messages
    assert f"{len(VIDEOS_ORDER) - 1} labelled segment(s)" in messages  # (5, 6.5) has no audio
    assert "1 in audio" in messages
    train_split = read_folder_split(tmp_path / "out", "train")
    assert train_split.utt_ids == ["v1[0]", "v1[1]", "v3[0]", "v3[1]"]
    assert np.isfinite(train_split.features["audio"]).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"valid": ["v1"]}, "video 'v1' is in both 'train' and 'valid'"),
        ({"dev": []}, "expected the keys"),
    ],
)
def test_bad_splits_are_refused_in_one_line(
    sequences: dict[str, Path], tmp_path: Path, change: dict, message: str
) -> None:
    sequences["splits"].write_text(json.dumps(VIDEOS | change))
    with pytest.raises(SystemExit, match=rf"^univa.data.convert: error: [^\n]*{message}"):
        convert(sequences, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_labels_sequence_without_seven_columns_is_refused(
    sequences: dict[str, Path], tmp_path: Path
) -> None:
    segments = np.array(SEGMENTS)
    write_csd(
        sequences["labels"], "All Labels", {v: (np.ones((3, 2)), segments) for v in VIDEOS_ORDER}
    )
    with pytest.raises(SystemExit, match=r"has 7 columns .*this one has 2"):
        convert(sequences, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_the_converted_sequences_train(
    sequences: dict[str, Path], tmp_path: Path, compose_cfg
) -> None:
    out = tmp_path / "mosei"
    convert(sequences, out)
    cfg = compose_cfg(
        "dataset=folder",
        f"dataset.data_dir={out}",
        "preset=synthetic_glove",
        "dataset.va_source=labels",
        "trainer.max_epochs=1",
        "dataset.batch_size=4",
        "analysis.enabled=false",
    )
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "run")
    train(cfg)
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["test"]["num_samples"] == len(VIDEOS["test"]) * len(SEGMENTS)
    assert list(results["test"]["per_label_f1"]) == list(MOSEI.labels)
