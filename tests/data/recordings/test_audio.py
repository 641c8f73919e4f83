"""A recording's audio features (`univa.data.recordings.audio`, `.recording`): exactly what
openSMILE computes on the utterance's samples, nothing added (`docs/data-format.md §4.3`)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from recording_clips import IS10, is10, pyav_samples, write_clip

from univa.data.recordings.audio import smile
from univa.data.recordings.recipe import Recipe
from univa.data.recordings.recording import extract_recording, load_part, save_part
from univa.data.recordings.tables import Segment
from univa.errors import InputError, UsageError

RATE = 16000


def cut(*times: tuple[float, float]) -> list[Segment]:
    return [Segment(s, e, f"words {i}", f"t.csv: row {i + 2}") for i, (s, e) in enumerate(times)]


def test_utterance_features_equal_opensmile_on_the_segments_samples(tmp_path: Path) -> None:
    """The acceptance test, exact (assert_array_equal): the part's IS10 functionals of [start,
    end) are openSMILE's on samples round(start * rate) to round(end * rate) of the file."""
    path = tmp_path / "clip.wav"
    write_clip(path, 1.6, seed=11)
    times = [(0.0, 0.7123), (0.8, 1.55)]
    part = extract_recording("clip", path, IS10, cut(*times))
    signal = pyav_samples(path)
    assert [u["utt_id"] for u in part.utterances] == ["clip[0]", "clip[1]"]
    assert [(u["start"], u["end"], u["text"]) for u in part.utterances] == [
        (0.0, 0.7123, "words 0"),
        (0.8, 1.55, "words 1"),
    ]
    for (start, end), features in zip(times, part.audio, strict=True):
        assert features.shape == (1, 1582) and features.dtype == np.float32
        expected = is10(signal[round(start * RATE) : round(end * RATE)])
        np.testing.assert_array_equal(features, expected)
    assert not np.array_equal(part.audio[0], part.audio[1])


def test_a_saved_part_loads_back_the_same(tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    write_clip(path, 1.0, seed=12)
    part = extract_recording("clip", path, IS10, cut((0.0, 0.4), (0.5, 0.9)))
    save_part(part, tmp_path / "part")
    loaded = load_part(tmp_path / "part")
    assert loaded.utterances == part.utterances and loaded.warnings == part.warnings
    for got, want in zip(loaded.audio, part.audio, strict=True):
        np.testing.assert_array_equal(got, want)


def test_frame_level_egemaps_is_a_sequence_of_25_descriptors(tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    write_clip(path, 1.0, seed=13)
    frames = Recipe("eGeMAPSv02", "frame", RATE, None)
    part = extract_recording("clip", path, frames, cut((0.0, 0.5), (0.5, 0.9)))
    lengths = [len(a) for a in part.audio]
    assert all(a.ndim == 2 and a.shape[1] == 25 for a in part.audio)
    assert lengths[0] > lengths[1] > 10  # one row per 10 ms: the longer utterance has more
    assert all(np.isfinite(a).all() for a in part.audio)


def test_no_segments_is_one_utterance_of_the_whole_recording(tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    write_clip(path, 0.8, seed=14)
    part = extract_recording("clip", path, IS10, None)
    assert part.utterances == [{"utt_id": "clip[0]", "start": 0.0, "end": 0.8, "text": ""}]
    np.testing.assert_array_equal(part.audio[0], is10(pyav_samples(path)))


def test_a_segment_too_short_for_opensmile_is_left_out_with_a_warning(tmp_path: Path) -> None:
    """openSMILE gives NaN for a segment shorter than its windows: that utterance is left out,
    naming its transcript row, and the recording's others are kept."""
    path = tmp_path / "clip.wav"
    write_clip(path, 1.2, seed=15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openSMILE's own "Segment too short"
        part = extract_recording("clip", path, IS10, cut((0.0, 0.5), (0.6, 0.63), (0.7, 1.1)))
    assert [u["utt_id"] for u in part.utterances] == ["clip[0]", "clip[2]"]
    assert all(np.isfinite(a).all() for a in part.audio)
    assert part.left_out == [{"utt_id": "clip[1]", "start": 0.6, "end": 0.63}]
    assert len(part.warnings) == 1
    assert part.warnings[0].startswith("t.csv: row 3: left out, 0.030 s is too short")


def test_segments_that_do_not_fit_the_recording_are_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    write_clip(path, 1.0, seed=16)
    with pytest.raises(InputError, match=r"^t\.csv: row 3: overlaps the segment of row 2$"):
        extract_recording("clip", path, IS10, cut((0.0, 0.6), (0.5, 0.9)))
    with pytest.raises(InputError, match=r"^t\.csv: row 2: ends at 1\.5 s, after .*\(1\.000 s\)"):
        extract_recording("clip", path, IS10, cut((0.2, 1.5)))


def test_an_unknown_feature_set_or_level_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    write_clip(path, 0.5, seed=17)
    with pytest.raises(UsageError, match=r"^audio_feature_set=IS99: expected one of .*IS10"):
        extract_recording("clip", path, Recipe("IS99", "utterance", RATE, None), None)
    with pytest.raises(UsageError, match=r"^audio_level=word: expected one of utterance, frame"):
        Recipe("IS10", "word", RATE, None)


@pytest.mark.parametrize("name", ["mro", "__class__"])
def test_a_feature_set_named_like_an_enum_attribute_is_a_usage_error(name: str) -> None:
    """`smile` looks the set up with getattr on the FeatureSet enum, which also finds its
    methods and dunders: those must be refused as unknown sets too, not crash openSMILE with a
    TypeError (that `univa.extract` would report as every recording failing)."""
    with pytest.raises(UsageError, match=rf"^audio_feature_set={name}: expected one of"):
        smile(Recipe(name, "utterance", RATE, None))
