"""A folder of recordings to a dataset (`univa.data.recordings.build.run_extraction`): valid,
with its features' provenance, one dialogue per recording in one split; resumable and sharded
to the same dataset as one run; a bad recording skipped with a warning, the rest written."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import opensmile
import pytest
from recording_clips import (
    CLIPS,
    LABELS,
    folder_bytes,
    is10,
    job,
    label_rows,
    pyav_samples,
    transcript_rows,
    write_clip,
    write_corpus,
    write_csv,
)

from univa.data.generic.check import validate_dataset
from univa.data.generic.format import present_splits, read_folder_split
from univa.data.recordings import build
from univa.data.recordings.build import parts_folder, run_extraction
from univa.data.recordings.recipe import Recipe
from univa.data.synthetic.media import write_video
from univa.errors import InputError, OutputWriteError, UsageError

RECORDINGS = ["a", "b", "d", "sub/c"]


@pytest.fixture(scope="module")
def one_shot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The labelled dataset of the corpus extracted in one run (shared, read-only)."""
    root = write_corpus(tmp_path_factory.mktemp("one_shot"))
    return run_extraction(job(root), report=lambda _: None)


def rows(dataset: Path) -> list[dict[str, str]]:
    """Every utterance's table cells, with its split, in the splits' order."""
    found = []
    for split in present_splits(dataset):
        columns = read_folder_split(dataset, split).columns
        found += [
            {"split": split, **{k: v[i] for k, v in columns.items()}}
            for i in range(len(columns["utt_id"]))
        ]
    return found


def counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The recordings `build` extracts from now on (workers=1: in this process)."""
    calls: list[str] = []
    extract = build.extract_recording

    def counted(recording, *args):
        calls.append(recording)
        return extract(recording, *args)

    monkeypatch.setattr(build, "extract_recording", counted)
    return calls


def test_a_labelled_folder_becomes_a_valid_dataset(one_shot: Path) -> None:
    assert validate_dataset(one_shot) == []
    manifest = json.loads((one_shot / "manifest.json").read_text())
    assert manifest["labels"] == list(LABELS)  # the table's column order
    assert manifest["modalities"] == {"audio": 1582}
    assert manifest["features"] == {
        "audio": {
            "extractor": "openSMILE",
            "version": opensmile.__version__,
            "feature_set": "IS10",
            "level": "utterance",
            "sample_rate": "16000",
        },
        "text": {"extractor": "transcript", "level": "utterance"},
    }
    assert not parts_folder(one_shot).exists()  # the parts are removed once it is written


def test_each_recording_is_a_dialogue_of_its_segments_in_one_split(one_shot: Path) -> None:
    table = rows(one_shot)
    assert sorted({r["dialogue_id"] for r in table}) == RECORDINGS
    expected = {
        (name.rsplit(".", 1)[0], f"{s:.3f}", f"{e:.3f}", text)
        for name, s, e, text in transcript_rows()
    }
    assert {(r["dialogue_id"], r["start"], r["end"], r["text"]) for r in table} == expected
    labelled = {
        (n.rsplit(".", 1)[0], f"{s:.3f}"): (str(x), str(y)) for n, s, _, x, y in label_rows()
    }
    assert all((r["sad"], r["happy"]) == labelled[r["dialogue_id"], r["start"]] for r in table)
    for recording in RECORDINGS:
        mine = [r for r in table if r["dialogue_id"] == recording]
        assert len({r["split"] for r in mine}) == 1, mine  # never in two splits
        assert [int(r["turn"]) for r in mine] == list(range(len(mine)))
        assert [r["utt_id"] for r in mine] == [f"{recording}[{i}]" for i in range(len(mine))]
        assert [float(r["start"]) for r in mine] == sorted(float(r["start"]) for r in mine)
    assert {r["split"] for r in table} == {"train", "valid", "test"}  # 4 recordings: 2/1/1


def test_the_dataset_holds_opensmiles_features_of_each_segment(
    one_shot: Path, tmp_path: Path
) -> None:
    """End to end, nothing added: b.wav's second segment as openSMILE computes it."""
    b = tmp_path / "b.wav"
    seconds, seed, cut = CLIPS["b.wav"]
    write_clip(b, seconds, seed)
    start, end, _ = cut[1]
    for split in present_splits(one_shot):
        folder = read_folder_split(one_shot, split)
        if "b[1]" in folder.utt_ids:
            got = folder.features["audio"][folder.utt_ids.index("b[1]")]
    expected = is10(pyav_samples(b)[round(start * 16000) : round(end * 16000)])
    np.testing.assert_array_equal(got, expected)


def test_unlabelled_recordings_are_all_test_without_labels(corpus: Path) -> None:
    out = run_extraction(job(corpus, labels=None), report=lambda _: None)
    assert validate_dataset(out) == []
    assert present_splits(out) == ["test"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert "labels" not in manifest
    header = list(read_folder_split(out, "test").columns)
    assert header == ["utt_id", "dialogue_id", "turn", "text", "start", "end"]
    assert len(rows(out)) == len(transcript_rows())


def test_an_interrupted_run_resumes_with_the_missing_recordings(
    corpus: Path, one_shot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half the parts there (as a run stopped midway leaves them): the next run extracts only
    the others, and writes the dataset one run writes."""
    calls = counting(monkeypatch)
    said: list[str] = []
    assert run_extraction(job(corpus, shard=(0, 2)), report=said.append) is None
    first = list(calls)
    assert len(first) == 2 and not (corpus / "data").exists()
    calls.clear()
    out = run_extraction(job(corpus), report=said.append)
    assert sorted(first + calls) == RECORDINGS and not set(first) & set(calls)
    assert "resuming: 2 of 4 recordings already extracted" in said
    assert folder_bytes(out) == folder_bytes(one_shot)


def test_shards_then_a_merge_run_write_the_one_run_dataset(
    corpus: Path, one_shot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting(monkeypatch)
    said: list[str] = []
    for index in (1, 0):
        assert run_extraction(job(corpus, shard=(index, 2)), report=said.append) is None
    assert sorted(calls) == RECORDINGS
    assert any(s.startswith("shard 1/2: 2 of 2 recordings in") for s in said)
    calls.clear()
    out = run_extraction(job(corpus), report=said.append)
    assert calls == []  # the merge only assembles
    assert folder_bytes(out) == folder_bytes(one_shot)
    assert not parts_folder(out).exists()


def test_a_part_of_an_edited_transcript_or_a_replaced_file_is_extracted_again(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts left by a shard run are reused only while what they were made of is unchanged:
    a recording whose transcript text was corrected, or whose file was replaced, is extracted
    again, and the dataset holds the new text, not the stale part's."""
    calls = counting(monkeypatch)
    assert run_extraction(job(corpus, shard=(0, 1)), report=lambda _: None) is None
    assert sorted(calls) == RECORDINGS
    cut = transcript_rows()
    assert cut[0][:2] == ["a.mp4", 0.1]
    cut[0][3] = "corrected words"
    write_csv(corpus / "transcripts.csv", ["file", "start", "end", "text"], cut)
    write_clip(corpus / "clips" / "b.wav", 1.5, seed=9)  # the same name, other audio
    calls.clear()
    out = run_extraction(job(corpus), report=lambda _: None)
    assert sorted(calls) == ["a", "b"]
    texts = {row["utt_id"]: row["text"] for row in rows(out)}
    assert texts["a[0]"] == "corrected words"


def test_parts_made_with_another_recipe_are_refused(corpus: Path) -> None:
    run_extraction(job(corpus, shard=(0, 2)), report=lambda _: None)
    frames = Recipe("eGeMAPSv02", "frame", 16000, None)
    with pytest.raises(UsageError, match=r"data\.parts holds recordings extracted with") as refused:
        run_extraction(job(corpus, recipe=frames), report=lambda _: None)
    assert "\n" not in str(refused.value)
    assert not (corpus / "data").exists()


def test_a_run_refused_for_its_options_does_not_bind_the_parts_folder(corpus: Path) -> None:
    """An unknown feature set is refused; the run with the option corrected must then go on,
    not be refused for 'parts extracted with' the options no part was ever extracted with."""
    wrong = Recipe("IS99", "utterance", 16000, None)
    with pytest.raises(UsageError, match=r"audio_feature_set=IS99"):
        run_extraction(job(corpus, recipe=wrong), report=lambda _: None)
    out = run_extraction(job(corpus, labels=None), report=lambda _: None)
    assert validate_dataset(out) == []


def test_an_output_folder_with_content_is_refused_before_extracting(corpus: Path) -> None:
    (corpus / "data").mkdir()
    (corpus / "data" / "mine.txt").write_text("keep")
    with pytest.raises(UsageError, match=r"^out=.*data exists and is not empty"):
        run_extraction(job(corpus), report=lambda _: None)
    assert not parts_folder(corpus / "data").exists()
    assert [p.name for p in (corpus / "data").iterdir()] == ["mine.txt"]


def test_bad_recordings_are_skipped_with_a_warning_and_the_rest_written(corpus: Path) -> None:
    clips = corpus / "clips"
    (clips / "bad.mp4").write_text("not a video\n" * 10)
    write_video(clips / "mute.mp4", None, seconds=0.5)
    table = transcript_rows()
    past = ["b.wav", 0.6, 1.5, "past the end"]  # b.wav lasts 1.2 s
    table[2:4] = [table[2], past]
    table.append(["d.wav", 0.5, 0.9, "overlaps d's first"])
    table.append(["a.mp4", 1.3, 1.33, "too short"])
    path = write_csv(corpus / "transcripts.csv", ["file", "start", "end", "text"], table)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = run_extraction(job(corpus), report=lambda _: None)
    said = [str(w.message) for w in caught]
    expected = [
        f"skipped: {clips / 'bad.mp4'}: cannot be decoded as media",
        f"skipped: {clips / 'mute.mp4'}: has no audio track",
        f"skipped: {path}: row 5: ends at 1.5 s, after the recording's end",
        f"skipped: {path}: row 8: overlaps the segment of row 7",
        f"{path}: row 9: left out, 0.030 s is too short",
    ]
    for start in expected:
        assert any(s.startswith(start) for s in said), (start, said)
    assert validate_dataset(out) == []
    assert sorted({r["dialogue_id"] for r in rows(out)}) == ["a", "sub/c"]
    assert sorted(r["utt_id"] for r in rows(out)) == ["a[0]", "a[1]", "sub/c[0]"]


def test_when_every_recording_is_bad_one_line_says_so(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "bad.mp4").write_text("not a video\n" * 10)
    write_video(clips / "mute.mp4", None, seconds=0.5)
    extraction = job(tmp_path, transcripts=None, labels=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(
            InputError, match=r"^univa\.extract: no utterance of input=.*clips"
        ) as e:
            run_extraction(extraction, report=lambda _: None)
    assert "\n" not in str(e.value)
    assert not (tmp_path / "data").exists()


def test_a_label_row_matching_no_utterance_is_refused_naming_it(corpus: Path) -> None:
    table = [*label_rows(), ["a.mp4", 0.3, 0.4, 1, 0]]
    path = write_csv(corpus / "labels.csv", ["file", "start", "end", *LABELS], table)
    with pytest.raises(InputError, match=rf"^{path}: row 8: matches no utterance of a$"):
        run_extraction(job(corpus), report=lambda _: None)
    assert not (corpus / "data").exists()


def test_labels_by_utt_id_with_a_split_column(corpus: Path) -> None:
    """The split column chooses each recording's split; an utterance without a label row is
    left out with a warning."""
    splits = {"a": "train", "b": "train", "sub/c": "valid", "d": "test"}
    table = [[r, f"{r}[0]", splits[r], 1, 0] for r in RECORDINGS]
    table.append(["a.mp4", "a[1]", "train", 0, 1])
    write_csv(corpus / "labels.csv", ["file", "utt_id", "split", *LABELS], table)
    with pytest.warns(UserWarning, match=r"^1 utterances have no row in labels="):
        out = run_extraction(job(corpus), report=lambda _: None)
    assert validate_dataset(out) == []
    got = {r["utt_id"]: (r["split"], r["sad"], r["happy"]) for r in rows(out)}
    assert got == {
        "a[0]": ("train", "1", "0"),
        "a[1]": ("train", "0", "1"),
        "b[0]": ("train", "1", "0"),
        "sub/c[0]": ("valid", "1", "0"),
        "d[0]": ("test", "1", "0"),
    }


def test_labels_by_file_need_one_utterance_per_recording(corpus: Path) -> None:
    write_csv(corpus / "labels.csv", ["file", *LABELS], [["d.wav", 0, 1], ["a.mp4", 1, 0]])
    with pytest.raises(InputError, match=r"labels\.csv: row 3: a has 2 utterances; label them by"):
        run_extraction(job(corpus), report=lambda _: None)


@pytest.mark.slow  # two fresh worker interpreters import openSMILE: seconds
def test_parallel_workers_write_the_same_dataset(corpus: Path, one_shot: Path) -> None:
    out = run_extraction(job(corpus, workers=2), report=lambda _: None)
    assert folder_bytes(out) == folder_bytes(one_shot)


def test_a_file_with_subtitles_beside_it_is_cut_at_its_cues(tmp_path: Path) -> None:
    """No transcripts table: the cues of `clip.srt` beside `clip.wav` are its utterances."""
    clip = tmp_path / "clip.wav"
    write_clip(clip, 1.2, seed=21)
    srt = "1\n00:00:00,100 --> 00:00:00,500\nfirst <i>words</i>\n\n2\n00:00:00,600 --> 00:00:01,100\nthen\n"
    (tmp_path / "clip.srt").write_text(srt, encoding="utf-8")
    out = run_extraction(
        job(tmp_path, source=clip, transcripts=None, labels=None), report=lambda _: None
    )
    assert validate_dataset(out) == []
    got = [(r["utt_id"], r["start"], r["end"], r["text"]) for r in rows(out)]
    assert got == [
        ("clip[0]", "0.100", "0.500", "first words"),
        ("clip[1]", "0.600", "1.100", "then"),
    ]


def test_frame_level_features_make_a_sequence_dataset(corpus: Path) -> None:
    frames = Recipe("eGeMAPSv02", "frame", 16000, None)
    out = run_extraction(job(corpus, recipe=frames, labels=None), report=lambda _: None)
    assert validate_dataset(out) == []
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["modalities"] == {"audio": 25}
    assert manifest["features"]["audio"]["level"] == "frame"
    assert manifest["features"]["audio"]["frame_step"] == "0.01 s"
    test = read_folder_split(out, "test")
    lengths = test.masks["audio"].sum(axis=1)
    assert test.features["audio"].shape[1] == lengths.max() > 1
    assert len(set(lengths.tolist())) > 1  # ragged: one row per 10 ms of each utterance


def test_a_disk_that_cannot_take_a_part_stops_the_extraction(tmp_path: Path, monkeypatch) -> None:
    """Writing a part failing (a full disk) is no reason to skip a recording and go on: the
    run stops with that error, no recording is counted as skipped, no dataset appears."""
    root = write_corpus(tmp_path)
    calls: list[str] = []

    def full_disk(part, path: Path) -> None:
        calls.append(path.name)
        raise OutputWriteError(f"cannot write {path}: No space left on device")

    monkeypatch.setattr(build, "save_part", full_disk)
    with pytest.raises(OutputWriteError, match="No space left"):
        run_extraction(job(root), report=lambda _: None)
    assert len(calls) == 1 and not (root / "data").exists()


CRASHING_DECODER = """
import os
from univa.data.recordings import recording

_decode = recording.decode_audio


def _crash_on_hostile(path, rate):
    if path.name.startswith("hostile"):
        os._exit(139)  # as a decoder dying of a segmentation fault would
    return _decode(path, rate)


recording.decode_audio = _crash_on_hostile
"""


@pytest.mark.slow
def test_a_recording_that_kills_its_worker_is_skipped_and_the_rest_extracted(
    tmp_path: Path, monkeypatch
) -> None:
    """A hostile file that kills the process decoding it (every spawned worker loads the
    crashing decoder through sitecustomize) is skipped and named; univa and every other
    recording carry on."""
    root = write_corpus(tmp_path)
    write_clip(root / "clips" / "hostile.wav", 1.0)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(CRASHING_DECODER)
    monkeypatch.setenv("PYTHONPATH", f"{hooks}:{os.environ.get('PYTHONPATH', '')}")
    with pytest.warns(UserWarning, match=r"hostile\.wav: the process extracting it died"):
        out = run_extraction(job(root, workers=2), report=lambda _: None)
    extracted = {row["dialogue_id"] for row in rows(out)}
    assert extracted == set(RECORDINGS)


def live_in_group(group: int) -> list[int]:
    """The processes of process group `group` that are alive (zombies not counted)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


@pytest.mark.slow
def test_ctrl_c_ends_in_one_line_and_the_same_command_resumes(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) while workers extract:
    one line saying how many recordings are kept, no worker left running; the same command
    again writes the dataset a single run writes."""
    root = write_corpus(tmp_path)
    extra = [[f"extra{i}.wav", 0.0, 0.9, "more"] for i in range(12)]  # enough to interrupt
    for index, (name, *_) in enumerate(extra):
        write_clip(root / "clips" / name, 1.0, seed=index)
    write_csv(root / "transcripts.csv", ["file", "start", "end", "text"], transcript_rows() + extra)
    command = [
        sys.executable, "-m", "univa.extract", f"input={root / 'clips'}", "out=data",
        f"transcripts={root / 'transcripts.csv'}", f"labels={root / 'labels.csv'}",
        "workers=2", "name=clips",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=root, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    parts = parts_folder(root / "data")
    deadline = time.monotonic() + 60
    while not any(p.name != "recipe.json" for p in parts.glob("*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert re.fullmatch(
        r"univa\.extract: error: extraction interrupted: \d+ of 16 recordings are kept in "
        r"data\.parts; the same command again resumes\n",
        stderr,
    ), stderr
    deadline = time.monotonic() + 10
    while live_in_group(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live_in_group(process.pid) == []  # the workers are gone with it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the extra clips have no labels: left out, warned
        run_extraction(job(root), report=lambda _: None)
        run_extraction(job(root, out="in_one_run"), report=lambda _: None)
    assert folder_bytes(root / "data") == folder_bytes(root / "in_one_run")


def test_recordings_without_any_text_source_are_named_in_a_warning(tmp_path: Path) -> None:
    """No transcript row, no subtitles, no asr_model=: each such recording becomes one
    utterance without text, which a warning says rather than a silent empty column."""
    clips = tmp_path / "clips"
    clips.mkdir()
    write_clip(clips / "quiet.wav", 1.0)
    with pytest.warns(UserWarning, match=r"1 recordings \(quiet\) have no transcript row"):
        out = run_extraction(job(tmp_path, transcripts=None, labels=None), report=lambda _: None)
    assert [(r["utt_id"], r["text"]) for r in rows(out)] == [("quiet[0]", "")]
