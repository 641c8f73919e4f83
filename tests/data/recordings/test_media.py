"""Finding and decoding recordings (`univa.data.recordings.media`): a file or a folder of them,
decoded by PyAV to mono float32 at the recipe's rate; what cannot be decoded names its file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from recording_clips import write_clip

from univa.data.recordings.media import decode_audio, find_recordings
from univa.data.synthetic.media import write_video
from univa.errors import InputError, MediaError


def test_a_file_is_one_recording_named_by_its_stem(tmp_path: Path) -> None:
    path = tmp_path / "talk.wav"
    write_clip(path, 0.2)
    assert find_recordings(path) == {"talk": path}


def test_a_folder_gives_its_recordings_by_relative_path_without_suffix(tmp_path: Path) -> None:
    for name in ("b.wav", "a.MP4", "day1/c.mp4", "day1/deep/d.flac"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")  # finding needs no media content
    (tmp_path / "notes.txt").write_text("not a recording")
    (tmp_path / "day1" / "c.srt").write_text("subtitles, not a recording")
    found = find_recordings(tmp_path)
    assert found == {
        "a": tmp_path / "a.MP4",
        "b": tmp_path / "b.wav",
        "day1/c": tmp_path / "day1" / "c.mp4",
        "day1/deep/d": tmp_path / "day1" / "deep" / "d.flac",
    }


def test_two_files_of_one_recording_id_are_refused(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"")
    (tmp_path / "clip.wav").write_bytes(b"")
    with pytest.raises(InputError, match=r"clip\.(mp4|wav) and clip\.(wav|mp4) are both .*'clip'"):
        find_recordings(tmp_path)


def test_a_folder_without_recordings_or_a_file_that_is_not_one_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match=r"^input=.*: holds no recordings \(.*\.mp4"):
        find_recordings(tmp_path)
    with pytest.raises(InputError, match=r"^input=.*notes\.txt: not a recording"):
        find_recordings(tmp_path / "notes.txt")
    with pytest.raises(InputError, match=r"^input=.*missing: no such file or folder"):
        find_recordings(tmp_path / "missing")


@pytest.mark.parametrize("suffix", [".wav", ".mp4"])
@pytest.mark.parametrize("rate", [16000, 8000])
def test_decoding_keeps_the_duration(tmp_path: Path, suffix: str, rate: int) -> None:
    """At the rate asked for, as float32 mono; an AAC track may carry some padding (< 50 ms)."""
    path = tmp_path / f"clip{suffix}"
    write_clip(path, 1.3, seed=5)
    samples = decode_audio(path, rate)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) / rate - 1.3) < 0.05
    assert 0.1 < np.abs(samples).max() <= 1.0  # the speech, not silence


def test_a_wav_decodes_to_the_samples_written(tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    written = write_clip(path, 0.5, seed=6)
    np.testing.assert_allclose(decode_audio(path, 16000), written, atol=1 / 2**15)


def test_a_video_without_audio_is_a_media_error_naming_it(tmp_path: Path) -> None:
    path = write_video(tmp_path / "silent film.mp4", None, seconds=0.5)
    with pytest.raises(MediaError, match=r"silent film\.mp4: has no audio track$"):
        decode_audio(path, 16000)


def test_text_named_mp4_is_a_media_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "fake.mp4"
    path.write_text("this is not a video\n" * 20)
    with pytest.raises(MediaError, match=r"fake\.mp4: cannot be decoded as media") as raised:
        decode_audio(path, 16000)
    assert "\n" not in str(raised.value)
