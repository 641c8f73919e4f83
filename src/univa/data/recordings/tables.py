"""The tables a user gives `univa.extract`: transcripts (where utterances start and end, and
what is said) and labels (which emotions each utterance shows, and optionally its split).
Format problems refuse the table in one line naming its file and row; problems of one
recording (overlapping segments, times past its end) skip that recording with a warning."""

from __future__ import annotations

import csv
import itertools
import math
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from univa.constants import SPLITS
from univa.errors import InputError

TRANSCRIPT_COLUMNS = ("file", "start", "end", "text")
SIDECAR_SUFFIXES = (".srt", ".vtt")
KEY_COLUMNS = ("file", "start", "end", "utt_id", "split", "text")
# 80/10/10 of the recordings when the labels table names no split
SPLIT_FRACTIONS = {"train": 0.8, "valid": 0.1, "test": 0.1}
TIME_TOLERANCE = 0.005  # seconds: a label's start and end match a segment's within this


@dataclass(frozen=True)
class Segment:
    """One utterance of a recording: [start, end) in seconds and what is said."""

    start: float
    end: float
    text: str
    where: str  # the table and row it came from, for messages


def utterance_id(recording: str, index: int) -> str:
    """The id of a recording's `index`-th utterance in time order, e.g. `clip[0]`."""
    return f"{recording}[{index}]"


def _rows(path: Path, required: Iterable[str]) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            header = list(reader.fieldnames or [])
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"{path}: cannot be read as a UTF-8 CSV table ({error})") from None
    missing = [column for column in required if column not in header]
    if missing:
        raise InputError(f"{path}: needs the columns {', '.join(missing)}; it has {header}")
    return header, rows


def _seconds(path: Path, row: int, column: str, value: str | None) -> float:
    try:
        seconds = float(value or "")
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise InputError(f"{path}: row {row}: {column} must be seconds >= 0, got {value!r}")
    return seconds


def _names(recordings: Mapping[str, Path], source: Path) -> dict[str, str]:
    """What a table's `file` cell may say -> the recording: its id, or its path relative to
    the input (a single file: its name)."""
    names = {}
    for recording, file in recordings.items():
        names[recording] = recording
        names[file.name if file == source else file.relative_to(source).as_posix()] = recording
    return names


def _recording_of(
    path: Path, row: int, name: str | None, names: Mapping[str, str], source: Path
) -> str:
    """The recording a table's `file` cell names (`_names`)."""
    recording = names.get((name or "").strip())
    if recording is None:
        raise InputError(f"{path}: row {row}: file {name!r} is not a recording of input={source}")
    return recording


def read_transcripts(
    path: Path, recordings: Mapping[str, Path], source: Path
) -> dict[str, list[Segment]]:
    """Recording -> its segments in time order, from a CSV with `file, start, end, text`."""
    _, rows = _rows(path, TRANSCRIPT_COLUMNS)
    names = _names(recordings, source)
    segments: dict[str, list[Segment]] = {}
    for row, cells in enumerate(rows, start=2):  # row 1 is the header
        recording = _recording_of(path, row, cells["file"], names, source)
        start = _seconds(path, row, "start", cells["start"])
        end = _seconds(path, row, "end", cells["end"])
        if end <= start:
            raise InputError(f"{path}: row {row}: end {end} is not after start {start}")
        where = f"{path}: row {row}"
        segments.setdefault(recording, []).append(Segment(start, end, cells["text"] or "", where))
    return {
        recording: sorted(found, key=lambda s: s.start) for recording, found in segments.items()
    }


SUBTITLE_TIME = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2})[,.](\d{3})")
SUBTITLE_CUE = re.compile(rf"^\s*({SUBTITLE_TIME.pattern})\s*-->\s*({SUBTITLE_TIME.pattern})")


def _subtitle_seconds(text: str) -> float:
    hours, minutes, seconds, millis = SUBTITLE_TIME.fullmatch(text).groups()  # type: ignore[union-attr]
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def read_subtitles(path: Path) -> list[Segment]:
    """The cues of an SRT or WebVTT file, in time order, their markup (`<i>`) removed."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot be read as UTF-8 subtitles ({error})") from None
    segments: list[Segment] = []
    cue: list = []
    for number, line in enumerate([*lines, ""], start=1):
        match = SUBTITLE_CUE.match(line)
        if match:
            start, end = (_subtitle_seconds(match.group(i)) for i in (1, 6))
            if end <= start:
                raise InputError(f"{path}: line {number}: the cue ends before it starts")
            cue = [start, end, [], f"{path}: line {number}"]
        elif cue and line.strip():
            cue[2].append(re.sub(r"<[^>]*>", "", line.strip()))
        elif cue:
            segments.append(Segment(cue[0], cue[1], " ".join(cue[2]), cue[3]))
            cue = []
    if not segments:
        raise InputError(
            f"{path}: holds no subtitle cues (lines like 00:00:01,000 --> 00:00:02,500)"
        )
    return sorted(segments, key=lambda s: s.start)


def sidecar_subtitles(media: Path) -> Path | None:
    """An SRT or VTT file beside `media` with its name (`clip.mp4` -> `clip.srt`)."""
    for suffix in SIDECAR_SUFFIXES:
        if media.with_suffix(suffix).is_file():
            return media.with_suffix(suffix)
    return None


def segment_problem(segments: list[Segment], duration: float) -> str | None:
    """Why a recording of `duration` seconds cannot be cut into `segments`: two overlap, or
    one ends after the recording (beyond `TIME_TOLERANCE`); None when they fit."""
    for before, after in itertools.pairwise(segments):
        if after.start < before.end - TIME_TOLERANCE:
            return f"{after.where}: overlaps the segment of {before.where.rsplit(': ', 1)[-1]}"
    for segment in segments:
        if segment.end > duration + TIME_TOLERANCE:
            return (
                f"{segment.where}: ends at {segment.end:g} s, after the recording's end "
                f"({duration:.3f} s)"
            )
    return None


@dataclass(frozen=True)
class LabelRow:
    """One row of the labels table: the utterance it labels, its 0/1 labels, its split."""

    recording: str
    start: float | None
    end: float | None
    utt_id: str | None
    values: tuple[int, ...]
    split: str | None
    where: str


@dataclass(frozen=True)
class LabelTable:
    """The labels table: label names in column order, and its rows."""

    labels: tuple[str, ...]
    rows: tuple[LabelRow, ...]
    has_splits: bool


def read_labels(path: Path, recordings: Mapping[str, Path], source: Path) -> LabelTable:
    """A CSV with `file`, then `utt_id` or `start, end` (or neither: one utterance per
    recording), one 0/1 column per label, and optionally `split` (train, valid or test)."""
    header, rows = _rows(path, ("file",))
    labels = tuple(column for column in header if column not in KEY_COLUMNS)
    if not labels:
        raise InputError(f"{path}: needs a 0/1 column per label besides {list(KEY_COLUMNS)}")
    timed = "start" in header and "end" in header
    names = _names(recordings, source)
    if ("start" in header) != timed or ("end" in header) != timed:
        raise InputError(f"{path}: has one of the columns start and end; give both or neither")
    read: list[LabelRow] = []
    for row, cells in enumerate(rows, start=2):
        where = f"{path}: row {row}"
        values = []
        for label in labels:
            if cells[label] not in ("0", "1"):
                raise InputError(f"{where}: {label} must be 0 or 1, got {cells[label]!r}")
            values.append(int(cells[label]))
        split = (cells.get("split") or "").strip() or None if "split" in header else None
        if "split" in header and split not in SPLITS:
            raise InputError(f"{where}: split must be one of {list(SPLITS)}, got {split!r}")
        read.append(
            LabelRow(
                recording=_recording_of(path, row, cells["file"], names, source),
                start=_seconds(path, row, "start", cells["start"]) if timed else None,
                end=_seconds(path, row, "end", cells["end"]) if timed else None,
                utt_id=(cells.get("utt_id") or "").strip() or None,
                values=tuple(values),
                split=split,
                where=where,
            )
        )
    return LabelTable(labels, tuple(read), "split" in header)


def recording_splits(
    table: LabelTable | None, recordings: Iterable[str], seed: int
) -> dict[str, str]:
    """Recording -> split: the labels table's `split` column (one split per recording), else a
    split of the recordings seeded by `seed` (80/10/10, each split non-empty from 3 recordings
    on), else (unlabelled data) all in test. A dialogue is never in two splits."""
    recordings = sorted(recordings)
    if table is None:
        return dict.fromkeys(recordings, "test")
    if table.has_splits:
        chosen: dict[str, LabelRow] = {}
        for row in table.rows:
            first = chosen.setdefault(row.recording, row)
            if first.split != row.split:
                raise InputError(
                    f"{row.where}: puts {row.recording} in {row.split}, but {first.where} in "
                    f"{first.split}; a recording is one dialogue, in one split"
                )
        return {recording: row.split for recording, row in chosen.items()}  # type: ignore[misc]
    shuffled = recordings.copy()
    random.Random(seed).shuffle(shuffled)
    n = len(shuffled)
    n_valid = max(1, round(n * SPLIT_FRACTIONS["valid"])) if n >= 3 else 0
    n_test = max(1, round(n * SPLIT_FRACTIONS["test"])) if n >= 3 else 0
    splits = ["valid"] * n_valid + ["test"] * n_test
    splits += ["train"] * (n - len(splits))
    return dict(zip(shuffled, splits, strict=True))
