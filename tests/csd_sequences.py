"""Small CMU-MultimodalSDK computational sequences (`.csd`) written with h5py in the SDK's
layout, for the tests of `python -m univa.data.convert labels=...`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from univa.data.convert import main

h5py = pytest.importorskip("h5py")  # skips the importing test module without it

VIDEOS = {"train": ["v1", "v2", "v3"], "valid": ["v4"], "test": ["v5", "v6"]}
VIDEOS_ORDER = [v for vids in VIDEOS.values() for v in vids]
SEGMENTS = [(0.0, 2.0), (2.0, 5.0), (5.0, 6.5)]  # each video's labelled utterances


def write_csd(path: Path, root: str, data: dict[str, tuple[np.ndarray, np.ndarray]]) -> Path:
    """A computational sequence as the SDK's `write_CSD` lays it out."""
    with h5py.File(path, "w") as file:
        group = file.create_group(root)
        videos = group.create_group("data")
        for vid, (features, intervals) in data.items():
            videos.create_group(vid).create_dataset("features", data=features)
            videos[vid].create_dataset("intervals", data=intervals)
        metadata = group.create_group("metadata")
        text = metadata.create_dataset("root name", (1,), dtype=h5py.special_dtype(vlen=str))
        text[0] = json.dumps(root)
    return path


def frames(rng: np.random.Generator, width: int, step: float, end: float = 6.5):
    starts = np.arange(0.0, end, step)
    intervals = np.stack([starts, starts + step], axis=1)
    return rng.normal(size=(len(starts), width)).astype(np.float32), intervals


def labels_of(vid_index: int) -> np.ndarray:
    """7 columns: sentiment, then the six emotion intensities (some 0, some fractional)."""
    rows = np.zeros((len(SEGMENTS), 7))
    rows[:, 0] = [-1.0, 0.5, 2.0]
    rows[0, 1 + vid_index % 6] = 0.333
    rows[1, 1 + (vid_index + 2) % 6] = 1.667
    rows[1, 1] = 0.667
    return rows


def write_sequences(tmp_path: Path) -> dict[str, Path]:
    """Labels, audio (5 columns, 0.5 s rows) and vision (3 columns, 0.25 s rows) of six videos,
    and their splits file."""
    rng = np.random.default_rng(0)
    segments = np.array(SEGMENTS)
    labels = {v: (labels_of(i), segments) for i, v in enumerate(VIDEOS_ORDER)}
    audio = {v: frames(rng, 5, 0.5) for v in VIDEOS_ORDER}
    vision = {v: frames(rng, 3, 0.25) for v in VIDEOS_ORDER}
    (tmp_path / "splits.json").write_text(json.dumps(VIDEOS))
    return {
        "labels": write_csd(tmp_path / "labels.csd", "All Labels", labels),
        "audio": write_csd(tmp_path / "covarep.csd", "COVAREP", audio),
        "vision": write_csd(tmp_path / "facet.csd", "FACET 4.2", vision),
        "splits": tmp_path / "splits.json",
    }


def convert(sequences: dict[str, Path], out: Path, *options: str) -> None:
    """`python -m univa.data.convert labels=...` on `write_sequences`' files, with `options`."""
    main([f"{key}={path}" for key, path in sequences.items()] + [*options, f"out={out}"])
