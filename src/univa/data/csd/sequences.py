"""CMU-MultimodalSDK computational sequences (`.csd`, HDF5): reading them, checked, one video at
a time (`univa.data.csd.utterances` cuts them into utterances).

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from univa.constants import SPLITS
from univa.data.records import MOSEI
from univa.errors import InputError, InputFileNotFoundError, InputKeyError
from univa.safe_json import read_json

# The MOSEI labels sequence's columns: sentiment, then the six emotion intensities
MOSEI_EMOTION_COLUMNS = slice(1, 1 + len(MOSEI.labels))
MAX_STEPS = 1_000_000  # rows of one video: about 2.8 hours of COVAREP at 100 Hz
MAX_BYTES = 2**31  # what one video's dataset may declare, read as 8-byte floats


class CsdRepairWarning(UserWarning):
    """Something of the computational sequences was left out or replaced; the message says what."""


class CsdFile:
    """An open computational sequence whose layout and declared sizes were checked, every
    video's rows left on disk until asked for, so a sequence larger than memory can be cut.

    Only what is stored in the file itself is read: a soft or external link (which could lead
    to another file) is refused unfollowed, and a dataset longer than `max_steps` rows or
    larger than `MAX_BYTES` is refused before it is read (a few KB of compressed zeros can
    declare hundreds of GiB).
    """

    def __init__(self, path: str | Path, max_steps: int = MAX_STEPS) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputFileNotFoundError(f"missing computational sequence {self.path}")
        try:
            self._file = _h5py().File(self.path, "r")
        except OSError as error:
            raise InputError(f"cannot read {path}: {error} (not an HDF5 .csd file?)") from None
        try:
            self._videos = _checked_videos(self._file, self.path, max_steps)
        except BaseException:
            self._file.close()
            raise
        widths = {shape[1] for _, _, shape in self._videos.values()}
        if len(widths) != 1:
            self._file.close()
            raise InputError(f"{self.path}: the videos' feature widths differ: {sorted(widths)}")
        self.width: int = widths.pop()

    @property
    def videos(self) -> list[str]:
        return list(self._videos)

    def __contains__(self, vid: str) -> bool:
        return vid in self._videos

    def steps(self, vid: str) -> int:
        """How many rows video `vid` holds."""
        return self._videos[vid][2][0]

    def intervals(self, vid: str) -> np.ndarray:
        """(T, 2) float64 start and end time of each row of video `vid`."""
        return self._read(vid, 1, slice(None), np.float64)

    def rows(self, vid: str, start: int, stop: int) -> np.ndarray:
        """(stop - start, D) float32 feature rows of video `vid`, read as one slice."""
        return self._read(vid, 0, slice(start, stop), np.float32).reshape(-1, self.width)

    def _read(self, vid: str, which: int, rows: slice, dtype: type) -> np.ndarray:
        try:
            # opened by its (checked) name for this read only: HDF5 keeps a buffer for every
            # open dataset, which over thousands of videos would add up
            return np.asarray(self._file[self._videos[vid][which]][rows], dtype)
        except OSError as error:
            raise InputError(f"cannot read {self.path} data/{vid}: {error}") from None

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> CsdFile:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _checked_videos(file, path: Path, max_steps: int) -> dict[str, tuple]:
    """video id -> the names of its (features, intervals) datasets, and their (T, D)."""
    try:
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
    return videos


@dataclass(frozen=True)
class Sequence:
    """One computational sequence in memory: video id -> (features (T, D), intervals (T, 2))."""

    path: Path
    videos: dict[str, tuple[np.ndarray, np.ndarray]]


def read_csd(path: str | Path, max_steps: int = MAX_STEPS) -> Sequence:
    """Every video of a computational sequence, as float arrays, checked as `CsdFile` checks
    them: for a notebook or a small file (the converter reads one video at a time)."""
    with CsdFile(path, max_steps) as csd:
        return Sequence(
            csd.path, {v: (csd.rows(v, 0, csd.steps(v)), csd.intervals(v)) for v in csd.videos}
        )


def _h5py():
    try:
        import h5py
    except ImportError:
        raise InputError(
            "reading .csd files needs h5py: pip install 'univa[csd]' (or pip install h5py)"
        ) from None
    return h5py


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


def _checked_dataset(group, name: str, where: str, path: Path, max_steps: int):
    """A numeric dataset of `group`, unread, its declared size checked."""
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
            f"({max_steps} steps, {MAX_BYTES // 2**30} GiB); a longer sequence needs max_steps="
        )
    return dataset


def _video(data, vid: str, path: Path, max_steps: int) -> tuple:
    """The names of video `vid`'s (features, intervals) datasets, checked but unread, and its
    (T, D); a 1-D features dataset is one column."""
    group = _stored(data, vid, path, f"data/{vid}")
    if not (_has(group, "features") and _has(group, "intervals")):
        raise InputKeyError(
            f"{path}: data/{vid} needs 'features' and 'intervals', has {list(group)}"
        )
    features = _checked_dataset(group, "features", f"data/{vid}/features", path, max_steps)
    intervals = _checked_dataset(group, "intervals", f"data/{vid}/intervals", path, max_steps)
    shape = features.shape or ()
    shape = (*shape, 1) if len(shape) == 1 else shape
    if len(shape) != 2 or (intervals.shape or ()) != (shape[0], 2):
        raise InputError(
            f"{path}: data/{vid}: features {shape} and intervals {intervals.shape or ()} "
            "must be (T, D) and (T, 2)"
        )
    return features.name, intervals.name, shape


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
