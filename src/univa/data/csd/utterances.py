"""MOSEI computational sequences cut into utterances and written split by split, one video at a
time (`python -m univa.data.convert labels=...`).

Each labelled segment of the labels sequence is one utterance; a modality's utterance holds the
feature rows whose interval overlaps the segment. A split takes two passes over its videos: the
first reads only the labels and every modality's intervals, to count the utterances and each
modality's longest (capped) one; the second reads each utterance's rows as one slice and writes
them into the split's memory-mapped arrays (`SplitWriter`). Memory holds one video's intervals
and one utterance's rows, however many videos a split has.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from univa.constants import SPLITS
from univa.data.csd.sequences import CsdFile, CsdRepairWarning, emotion_labels
from univa.data.generic.format import DIALOGUE_ID, TURN, UTT_ID
from univa.data.generic.write import DatasetWriter
from univa.errors import InputError

SHORTEN = ("truncate", "subsample")


@dataclass(frozen=True)
class LengthCap:
    """The most feature rows an utterance keeps per modality (None: all of them), and which:
    its first rows (`truncate`) or rows spread evenly over the segment (`subsample`)."""

    steps: int | None = None
    how: str = "truncate"

    def pick(self, rows: np.ndarray) -> np.ndarray:
        """The kept ones of `rows` (row indices, ascending)."""
        if self.steps is None or len(rows) <= self.steps:
            return rows
        if self.how == "subsample":
            return rows[np.arange(self.steps) * len(rows) // self.steps]
        return rows[: self.steps]


@dataclass
class _LeftOut:
    """What was left out or repaired, warned once at the end."""

    missing: dict[str, set[str]] = field(default_factory=dict)
    empty_segments: int = 0
    non_finite: dict[str, int] = field(default_factory=dict)

    def warn(self) -> None:
        notes = [
            f"{len(videos)} video(s) of the splits file missing from the {name} sequence "
            f"(e.g. {sorted(videos)[0]!r})"
            for name, videos in self.missing.items()
        ]
        if self.empty_segments:
            notes.append(
                f"{self.empty_segments} labelled segment(s) that some modality has no row for"
            )
        if notes:
            warnings.warn(CsdRepairWarning("left out " + "; ".join(notes)), stacklevel=3)
        if self.non_finite:
            counts = ", ".join(f"{count} in {m}" for m, count in self.non_finite.items())
            warnings.warn(
                CsdRepairWarning(
                    f"replaced non-finite feature values (NaN or +-inf) with 0: {counts}"
                ),
                stacklevel=3,
            )


def overlapping(intervals: np.ndarray, start: float, end: float) -> np.ndarray:
    """Indices of the rows whose interval overlaps [start, end] (a row ending at `start` does
    not)."""
    return np.flatnonzero((intervals[:, 0] < end) & (intervals[:, 1] > start))


def _segments(
    vid: str, labels: CsdFile, modalities: dict[str, CsdFile], cap: LengthCap
) -> Iterator[tuple[int, np.ndarray, dict[str, np.ndarray] | None]]:
    """Video `vid`'s segments in time order: (index, 0/1 labels, modality -> kept row indices),
    None instead of the rows when some modality has no row in the segment."""
    segments = labels.intervals(vid)
    targets = emotion_labels(labels.rows(vid, 0, labels.steps(vid)), labels.path)
    intervals = {m: sequence.intervals(vid) for m, sequence in modalities.items()}
    for index in np.argsort(segments[:, 0], kind="stable"):
        start, end = segments[index]
        rows = {m: overlapping(steps, start, end) for m, steps in intervals.items()}
        kept = None if any(len(r) == 0 for r in rows.values()) else rows
        yield int(index), targets[index], kept and {m: cap.pick(r) for m, r in kept.items()}


def _features(sequence: CsdFile, vid: str, rows: np.ndarray) -> np.ndarray:
    """The feature rows `rows` (ascending) of video `vid`, read as one slice."""
    return sequence.rows(vid, int(rows[0]), int(rows[-1]) + 1)[rows - rows[0]]


def _finite(features: np.ndarray, counts: dict[str, int], modality: str) -> np.ndarray:
    bad = ~np.isfinite(features)
    if bad.any():
        counts[modality] = counts.get(modality, 0) + int(bad.sum())
        features = np.where(bad, np.float32(0.0), features)
    return features


def _count(
    split: str,
    videos: list[str],
    labels: CsdFile,
    modalities: dict[str, CsdFile],
    cap: LengthCap,
    left_out: _LeftOut,
) -> tuple[int, dict[str, int]]:
    """The first pass: the split's utterances, and each modality's longest kept one."""
    rows, longest = 0, dict.fromkeys(modalities, 0)
    for vid in videos:
        for _, _, kept in _segments(vid, labels, modalities, cap):
            if kept is None:
                left_out.empty_segments += 1
                continue
            rows += 1
            longest = {m: max(longest[m], len(kept[m])) for m in modalities}
    if not rows:
        raise InputError(f"the {split!r} split has no utterance with every modality")
    return rows, longest


def write_csd_splits(
    writer: DatasetWriter,
    labels: CsdFile,
    modalities: dict[str, CsdFile],
    splits: dict[str, list[str]],
    cap: LengthCap,
) -> None:
    """Every split into `writer`: one row per labelled segment of its videos, in the splits
    file's video order and each video's time order, `<video>[<segment index>]` its id.

    A segment that some modality has no row for, and a video missing from a sequence, are left
    out with one warning that counts them; non-finite feature values become 0, also warned.
    """
    left_out = _LeftOut()
    sequences = {"labels": labels, **modalities}
    header = [UTT_ID, DIALOGUE_ID, TURN, *writer.labels]
    for split in SPLITS:
        videos = []
        for vid in splits[split]:
            absent = [name for name, sequence in sequences.items() if vid not in sequence]
            for name in absent:
                left_out.missing.setdefault(name, set()).add(vid)
            if not absent:
                videos.append(vid)
        rows, longest = _count(split, videos, labels, modalities, cap, left_out)
        shapes = {m: (longest[m], sequence.width) for m, sequence in modalities.items()}
        with writer.split(split, header, rows, shapes) as out:
            for vid in videos:
                turn = 0
                for index, targets, kept in _segments(vid, labels, modalities, cap):
                    if kept is None:
                        continue
                    features = {
                        m: _finite(_features(sequence, vid, kept[m]), left_out.non_finite, m)
                        for m, sequence in modalities.items()
                    }
                    out.add([f"{vid}[{index}]", vid, turn, *targets.tolist()], features)
                    turn += 1
    left_out.warn()
