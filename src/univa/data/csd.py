"""CMU-MultimodalSDK computational sequences (`.csd`, HDF5) cut into utterances.

A computational sequence is an HDF5 file with one root group (named after the sequence) that
holds `data/<video_id>/features` (T, D) and `data/<video_id>/intervals` (T, 2) (start and end
time of each row, in seconds), and `metadata/<key>` (JSON strings) - the layout of the SDK's
`mmsdk/mmdatasdk/computational_sequence/file_ops.py`. The labels sequence gives the
utterances: each of its rows is one labelled segment of a video. A feature sequence is cut by
those segments: an utterance holds the feature rows whose interval overlaps its segment.
`h5py` is an optional dependency (`pip install univa[csd]`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from univa.data.records import MOSEI
from univa.errors import InputError, InputFileNotFoundError, InputKeyError
from univa.safe_json import read_json
from univa.vocabulary import SPLITS

# The MOSEI labels sequence's columns: sentiment, then the six emotion intensities
MOSEI_EMOTION_COLUMNS = slice(1, 1 + len(MOSEI.labels))
MAX_STEPS = 1_000_000  # rows of one video: about 2.8 hours of COVAREP at 100 Hz
MAX_BYTES = 2**31  # what one video's dataset may declare, read as 8-byte floats


class CsdRepairWarning(UserWarning):
    """Something of the computational sequences was left out or replaced; the message says what."""


@dataclass(frozen=True)
class Sequence:
    """One computational sequence: video id -> (features (T, D), intervals (T, 2))."""

    path: Path
    videos: dict[str, tuple[np.ndarray, np.ndarray]]


def _h5py():
    try:
        import h5py
    except ImportError:
        raise InputError(
            "reading .csd files needs h5py: pip install 'univa[csd]' (or pip install h5py)"
        ) from None
    return h5py


def read_csd(path: str | Path, max_steps: int = MAX_STEPS) -> Sequence:
    """Every video of a computational sequence, as float arrays, checked for shape.

    Only what is stored in the file itself is read: a soft or external link (which could lead
    to another file) is refused unfollowed, and a dataset longer than `max_steps` rows or
    larger than `MAX_BYTES` is refused before it is read (a few KB of compressed zeros can
    declare hundreds of GiB).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError(f"missing computational sequence {path}")
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as file:
            roots = list(file.keys())
            root = _stored(file, roots[0], path) if len(roots) == 1 else None
            if root is None or not _has(root, "data"):
                raise InputKeyError(
                    f"{path}: expected one root group holding data/<video_id>/{{features,"
                    f"intervals}} (the CMU-MultimodalSDK layout), found {roots}"
                )
            data = _stored(root, "data", path, f"{roots[0]}/data")
            videos = {vid: _video(data, vid, path, max_steps) for vid in data}
    except OSError as error:
        raise InputError(f"cannot read {path}: {error} (not an HDF5 .csd file?)") from None
    if not videos:
        raise InputError(f"{path}: data/ holds no video")
    widths = {features.shape[1] for features, _ in videos.values()}
    if len(widths) != 1:
        raise InputError(f"{path}: the videos' feature widths differ: {sorted(widths)}")
    return Sequence(path, videos)


def _has(group, name: str) -> bool:
    """Whether `group` has a link `name`, without following it (h5py's `in` would)."""
    return group.id.links.exists(name.encode())


def _stored(group, name: str, path: Path, where: str | None = None, kind: str = "group"):
    """`group[name]`, a group (or a dataset, `kind="dataset"`) stored in this file."""
    h5py = _h5py()
    where = where or name
    if not _has(group, name):
        raise InputKeyError(f"{path}: no {where}")
    if group.id.links.get_info(name.encode()).type != h5py.h5l.TYPE_HARD:
        raise InputError(
            f"{path}: {where} is a soft or external link; univa reads only what is stored in "
            "the file itself, and follows no link"
        )
    item = group[name]
    wanted = h5py.Group if kind == "group" else h5py.Dataset
    if not isinstance(item, wanted):
        raise InputError(f"{path}: {where} must be a {kind}, it is a {type(item).__name__}")
    return item


def _read_dataset(group, name: str, where: str, path: Path, max_steps: int) -> np.ndarray:
    """A numeric dataset of `group`, its declared size checked before it is read."""
    dataset = _stored(group, name, path, where, kind="dataset")
    if dataset.is_virtual or dataset.external:
        raise InputError(f"{path}: {where} keeps its values in other files; univa reads none")
    if dataset.dtype.kind not in "biuf":
        raise InputError(f"{path}: {where} is not numeric ({dataset.dtype})")
    shape = dataset.shape or ()
    declared = 8 * math.prod(shape)  # read as at most 8-byte floats
    if (shape and shape[0] > max_steps) or declared > MAX_BYTES:
        raise InputError(
            f"{path}: {where} declares {shape} {dataset.dtype}, more than univa reads "
            f"({max_steps} steps, {MAX_BYTES // 2**30} GiB); a longer sequence needs --max-steps"
        )
    return dataset[()]


def _video(data, vid: str, path: Path, max_steps: int) -> tuple[np.ndarray, np.ndarray]:
    group = _stored(data, vid, path, f"data/{vid}")
    if not (_has(group, "features") and _has(group, "intervals")):
        raise InputKeyError(
            f"{path}: data/{vid} needs 'features' and 'intervals', has {list(group)}"
        )
    features = np.asarray(
        _read_dataset(group, "features", f"data/{vid}/features", path, max_steps), np.float32
    )
    intervals = np.asarray(
        _read_dataset(group, "intervals", f"data/{vid}/intervals", path, max_steps), np.float64
    )
    if features.ndim == 1:
        features = features[:, None]
    if features.ndim != 2 or intervals.shape != (len(features), 2):
        raise InputError(
            f"{path}: data/{vid}: features {features.shape} and intervals {intervals.shape} "
            "must be (T, D) and (T, 2)"
        )
    return features, intervals


def read_splits(path: str | Path) -> dict[str, list[str]]:
    """A JSON file {"train": [video ids], "valid": [...], "test": [...]}, no video in two splits."""
    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError(f"missing splits file {path}")
    try:
        table = read_json(path)
    except OSError as error:
        raise InputError(f"cannot read {path}: {error} (expected JSON)") from None
    if not isinstance(table, dict) or set(table) != set(SPLITS):
        found = sorted(table) if isinstance(table, dict) else type(table).__name__
        raise InputKeyError(f"{path}: expected the keys {list(SPLITS)}, found {found}")
    owner: dict[str, str] = {}
    for split in SPLITS:
        videos = table[split]
        if not isinstance(videos, list) or not all(isinstance(v, str) for v in videos):
            raise InputError(f"{path}: {split!r} must be a list of video ids")
        for vid in videos:
            if vid in owner:
                raise InputError(f"{path}: video {vid!r} is in both {owner[vid]!r} and {split!r}")
            owner[vid] = split
    return table


def emotion_labels(intensities: np.ndarray, path: Path) -> np.ndarray:
    """0/1 labels from MOSEI's 7 label columns: an emotion is present when its intensity > 0."""
    if intensities.shape[1] != 1 + len(MOSEI.labels):
        raise InputError(
            f"{path}: a MOSEI labels sequence has {1 + len(MOSEI.labels)} columns (sentiment, "
            f"then {', '.join(MOSEI.labels)}), this one has {intensities.shape[1]}"
        )
    return (intensities[:, MOSEI_EMOTION_COLUMNS] > 0).astype(np.int64)


def cut(features: np.ndarray, intervals: np.ndarray, start: float, end: float) -> np.ndarray:
    """The rows whose interval overlaps [start, end] (a row ending at `start` does not)."""
    inside = (intervals[:, 0] < end) & (intervals[:, 1] > start)
    return features[inside]


def _finite(features: np.ndarray, counts: dict[str, int], modality: str) -> np.ndarray:
    bad = ~np.isfinite(features)
    if bad.any():
        counts[modality] = counts.get(modality, 0) + int(bad.sum())
        features = np.where(bad, np.float32(0.0), features)
    return features


def utterance_splits(
    labels: Sequence, modalities: dict[str, Sequence], splits: dict[str, list[str]]
) -> dict[str, dict]:
    """Each split as `write_dataset` takes it: one row per labelled segment of its videos.

    A segment that some modality has no row for, and a video missing from a sequence, are left
    out with one warning that counts them; non-finite feature values become 0, also warned.
    """
    missing_videos: dict[str, set[str]] = {}
    empty_segments = 0
    non_finite: dict[str, int] = {}
    result = {}
    for split in SPLITS:
        table: dict[str, list] = {"utt_id": [], "dialogue_id": []}
        rows: list[np.ndarray] = []
        features: dict[str, list[np.ndarray]] = {m: [] for m in modalities}
        for vid in splits[split]:
            absent = [name for name, seq in {"labels": labels, **modalities}.items()
                      if vid not in seq.videos]  # fmt: skip
            if absent:
                for name in absent:
                    missing_videos.setdefault(name, set()).add(vid)
                continue
            intensities, segments = labels.videos[vid]
            targets = emotion_labels(intensities, labels.path)
            for index in np.argsort(segments[:, 0], kind="stable"):
                start, end = segments[index]
                parts = {m: cut(*seq.videos[vid], start, end) for m, seq in modalities.items()}
                if any(len(part) == 0 for part in parts.values()):
                    empty_segments += 1
                    continue
                table["utt_id"].append(f"{vid}[{index}]")
                table["dialogue_id"].append(vid)
                rows.append(targets[index])
                for m, part in parts.items():
                    features[m].append(_finite(part, non_finite, m))
        table["turn"] = _turns(table["dialogue_id"])  # over the segments kept
        if not rows:
            raise InputError(f"the {split!r} split has no utterance with every modality")
        result[split] = {"table": table, "labels": np.stack(rows), "features": features}
    _warn_left_out(missing_videos, empty_segments, non_finite)
    return result


def _turns(dialogue_ids: list[str]) -> list[int]:
    """0-based position of each row in its dialogue (rows of a dialogue are consecutive)."""
    turns, seen = [], {}
    for dialogue in dialogue_ids:
        turns.append(seen.get(dialogue, 0))
        seen[dialogue] = turns[-1] + 1
    return turns


def _warn_left_out(missing: dict[str, set[str]], empty: int, non_finite: dict[str, int]) -> None:
    notes = [
        f"{len(videos)} video(s) of the splits file missing from the {name} sequence "
        f"(e.g. {sorted(videos)[0]!r})"
        for name, videos in missing.items()
    ]
    if empty:
        notes.append(f"{empty} labelled segment(s) that some modality has no row for")
    if notes:
        warnings.warn(CsdRepairWarning("left out " + "; ".join(notes)), stacklevel=3)
    if non_finite:
        counts = ", ".join(f"{count} in {m}" for m, count in non_finite.items())
        warnings.warn(
            CsdRepairWarning(f"replaced non-finite feature values (NaN or +-inf) with 0: {counts}"),
            stacklevel=3,
        )
