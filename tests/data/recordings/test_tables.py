"""The tables `univa.extract` reads (`univa.data.recordings.tables`): transcripts, subtitles,
labels and splits. A table's format problem is refused in one line naming its file and row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from recording_clips import write_csv

from univa.data.recordings.tables import (
    TIME_TOLERANCE,
    LabelRow,
    LabelTable,
    Segment,
    read_labels,
    read_subtitles,
    read_transcripts,
    recording_splits,
    segment_problem,
)
from univa.errors import InputError

HEADER = ["file", "start", "end", "text"]


@pytest.fixture
def source(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    """A clips folder (the files need not be media: the tables only name them) and its ids."""
    clips = tmp_path / "clips"
    (clips / "sub").mkdir(parents=True)
    recordings = {"a": clips / "a.mp4", "sub/c": clips / "sub" / "c.wav"}
    for path in recordings.values():
        path.write_bytes(b"")
    return clips, recordings


def transcripts(tmp_path: Path, source, rows: list[list], header=HEADER):
    clips, recordings = source
    path = write_csv(tmp_path / "transcripts.csv", header, rows)
    return path, read_transcripts(path, recordings, clips)


def test_transcripts_name_recordings_by_id_or_relative_path_and_come_sorted(
    tmp_path: Path, source
) -> None:
    rows = [
        ["a", 1.0, 1.5, "second"],
        ["a.mp4", 0.0, 0.5, "first"],
        ["sub/c.wav", 0.25, 0.75, "nested by path"],
        ["sub/c", 1.0, 2.0, "nested by id"],
    ]
    path, read = transcripts(tmp_path, source, rows)
    assert sorted(read) == ["a", "sub/c"]
    assert [(s.start, s.end, s.text) for s in read["a"]] == [
        (0.0, 0.5, "first"),
        (1.0, 1.5, "second"),
    ]
    assert [s.text for s in read["sub/c"]] == ["nested by path", "nested by id"]
    assert read["a"][0].where == f"{path}: row 3"  # the header is row 1


def test_a_transcript_without_a_column_is_refused_naming_it(tmp_path: Path, source) -> None:
    with pytest.raises(InputError, match=r"transcripts\.csv: needs the columns end; it has"):
        transcripts(tmp_path, source, [["a", 0, "x"]], header=["file", "start", "text"])


@pytest.mark.parametrize(
    "row, message",
    [
        (["a", "soon", 1.0, "x"], r"row 3: start must be seconds >= 0, got 'soon'"),
        (["a", 0.0, "", "x"], r"row 3: end must be seconds >= 0, got ''"),
        (["a", -1.0, 1.0, "x"], r"row 3: start must be seconds >= 0, got '-1.0'"),
        (["a", 1.0, 1.0, "x"], r"row 3: end 1.0 is not after start 1.0"),
        (["a", 2.0, 1.0, "x"], r"row 3: end 1.0 is not after start 2.0"),
        (["b.mp4", 0.0, 1.0, "x"], r"row 3: file 'b.mp4' is not a recording of input="),
        (["c.wav", 0.0, 1.0, "x"], r"row 3: file 'c.wav' is not a recording"),  # it is sub/c
    ],
)
def test_a_bad_transcript_row_is_refused_naming_the_table_and_row(
    tmp_path: Path, source, row: list, message: str
) -> None:
    with pytest.raises(
        InputError, match=r"^" + re.escape(f"{tmp_path / 'transcripts.csv'}: ") + message
    ):
        transcripts(tmp_path, source, [["a", 0.0, 0.5, "fine"], row])


SRT = """1
00:00:01,000 --> 00:00:02,500
Hello <i>there</i>,
how are you?

2
00:00:00,100 --> 00:00:00,900
First
"""

VTT = """WEBVTT

NOTE a comment, not a cue

intro
00:01.250 --> 00:02.000 align:start
<i>Fine</i> thanks

01:00:00.000 --> 01:00:01.500
An hour in
"""


def test_srt_cues_in_time_order_without_markup(tmp_path: Path) -> None:
    path = tmp_path / "clip.srt"
    path.write_text(SRT, encoding="utf-8")
    cues = read_subtitles(path)
    assert [(c.start, c.end, c.text) for c in cues] == [
        (0.1, 0.9, "First"),
        (1.0, 2.5, "Hello there, how are you?"),
    ]
    assert cues[1].where == f"{path}: line 2"


def test_webvtt_cues_with_hours_less_times(tmp_path: Path) -> None:
    path = tmp_path / "clip.vtt"
    path.write_text(VTT, encoding="utf-8")
    cues = read_subtitles(path)
    assert [(c.start, c.end, c.text) for c in cues] == [
        (1.25, 2.0, "Fine thanks"),
        (3600.0, 3601.5, "An hour in"),
    ]


def test_subtitles_without_cues_or_ending_before_they_start_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "clip.srt"
    path.write_text("just some text\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"clip\.srt: holds no subtitle cues"):
        read_subtitles(path)
    path.write_text("1\n00:00:02,000 --> 00:00:01,000\nbackwards\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"clip\.srt: line 2: the cue ends before it starts"):
        read_subtitles(path)


def segment(start: float, end: float, row: int) -> Segment:
    return Segment(start, end, "", f"t.csv: row {row}")


def test_overlapping_segments_name_both_rows() -> None:
    problem = segment_problem([segment(0.0, 1.0, 2), segment(0.5, 1.5, 5)], 2.0)
    assert problem == "t.csv: row 5: overlaps the segment of row 2"


def test_a_segment_past_the_recordings_end_is_a_problem() -> None:
    problem = segment_problem([segment(0.0, 1.0, 2), segment(1.0, 2.5, 3)], 2.0)
    assert problem == "t.csv: row 3: ends at 2.5 s, after the recording's end (2.000 s)"


def test_segments_within_the_tolerance_fit() -> None:
    """Times in a table are rounded (to ms) and a decoded length may be a sample short: a
    segment ending just after the recording, or starting just before the last one ended, fits."""
    almost = TIME_TOLERANCE * 0.8
    assert (
        segment_problem([segment(0.0, 1.0, 2), segment(1.0 - almost, 2.0 + almost, 3)], 2.0) is None
    )
    assert segment_problem([segment(0.0, 2.0 + 2 * TIME_TOLERANCE, 2)], 2.0) is not None


def labels(tmp_path: Path, source, header: list[str], rows: list[list]) -> LabelTable:
    clips, recordings = source
    return read_labels(write_csv(tmp_path / "labels.csv", header, rows), recordings, clips)


def test_labels_keep_the_column_order_and_each_row_form(tmp_path: Path, source) -> None:
    timed = labels(
        tmp_path,
        source,
        ["file", "start", "end", "text", "sad", "happy", "split"],
        [["a.mp4", 0.0, 0.5, "hi", 1, 0, "train"], ["sub/c", 0.25, 1, "yo", 0, 1, "test"]],
    )
    assert timed.labels == ("sad", "happy") and timed.has_splits
    assert timed.rows[0] == LabelRow(
        "a", 0.0, 0.5, None, (1, 0), "train", f"{tmp_path / 'labels.csv'}: row 2"
    )
    assert (timed.rows[1].recording, timed.rows[1].values, timed.rows[1].split) == (
        "sub/c",
        (0, 1),
        "test",
    )
    by_id = labels(tmp_path, source, ["file", "utt_id", "joy"], [["a", "a[1]", 1]])
    assert (by_id.rows[0].utt_id, by_id.rows[0].start, by_id.rows[0].end) == ("a[1]", None, None)
    assert not by_id.has_splits and by_id.rows[0].split is None
    whole = labels(tmp_path, source, ["file", "joy"], [["sub/c.wav", 0]])
    assert whole.rows[0] == LabelRow("sub/c", None, None, None, (0,), None, whole.rows[0].where)


@pytest.mark.parametrize(
    "header, row, message",
    [
        (["file", "joy", "calm"], ["a", 1, "yes"], r"row 3: calm must be 0 or 1, got 'yes'"),
        (["file", "joy"], ["a", 2], r"row 3: joy must be 0 or 1, got '2'"),
        (["file", "joy", "split"], ["a", 1, "dev"], r"row 3: split must be one of .*'dev'"),
        (["file", "joy"], ["e.mp4", 1], r"row 3: file 'e.mp4' is not a recording"),
        (["file", "start", "end", "joy"], ["a", "x", 1, 1], r"row 3: start must be seconds"),
    ],
)
def test_a_bad_label_row_is_refused_naming_the_row_and_column(
    tmp_path: Path, source, header: list[str], row: list, message: str
) -> None:
    first = {"file": "a", "joy": 0, "calm": 0, "split": "test", "start": 0, "end": 1}
    with pytest.raises(
        InputError, match=r"^" + re.escape(f"{tmp_path / 'labels.csv'}: ") + message
    ):
        labels(tmp_path, source, header, [[first[c] for c in header], row])


def test_labels_need_a_label_column(tmp_path: Path, source) -> None:
    with pytest.raises(InputError, match=r"labels\.csv: needs a 0/1 column per label"):
        labels(tmp_path, source, ["file", "start", "end", "text"], [["a", 0, 1, "x"]])


def table(*rows: tuple[str, str | None]) -> LabelTable:
    """A labels table of rows (recording, split)."""
    read = tuple(
        LabelRow(r, None, None, None, (1,), split, f"l.csv: row {i}")
        for i, (r, split) in enumerate(rows, start=2)
    )
    return LabelTable(("joy",), read, has_splits=rows[0][1] is not None)


def test_the_split_column_gives_each_recordings_split() -> None:
    given = table(("a", "train"), ("a", "train"), ("b", "valid"), ("c", "test"))
    assert recording_splits(given, ["a", "b", "c"], seed=0) == {
        "a": "train",
        "b": "valid",
        "c": "test",
    }


def test_a_recording_in_two_splits_is_refused() -> None:
    """A recording is one dialogue: its utterances in two splits would leak it into the test."""
    given = table(("a", "train"), ("b", "test"), ("a", "valid"))
    with pytest.raises(InputError, match=r"^l\.csv: row 4: puts a in valid, but l\.csv: row 2 in"):
        recording_splits(given, ["a", "b"], seed=0)


def test_a_seeded_split_is_deterministic_and_fills_each_split() -> None:
    names = [f"r{i}" for i in range(10)]
    unsplit = table(*((n, None) for n in names))
    first = recording_splits(unsplit, names, seed=7)
    assert first == recording_splits(unsplit, list(reversed(names)), seed=7)
    assert set(first) == set(names)
    assert sorted(first.values()).count("train") == 8
    others = [recording_splits(unsplit, names, seed=s) for s in range(8, 12)]
    assert any(other != first for other in others)  # the seed chooses
    three = recording_splits(table(("a", None), ("b", None), ("c", None)), "abc", seed=0)
    assert sorted(three.values()) == ["test", "train", "valid"]


def test_unlabelled_recordings_are_all_test() -> None:
    assert recording_splits(None, ["b", "a"], seed=0) == {"a": "test", "b": "test"}
