"""Finding and decoding recordings with PyAV (its wheel carries FFmpeg: no system ffmpeg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from univa.errors import InputError, MediaError

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm")
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".opus")
MEDIA_SUFFIXES = frozenset((*VIDEO_SUFFIXES, *AUDIO_SUFFIXES))


def is_media(path: Path) -> bool:
    """A file whose suffix says it is a recording univa.extract reads."""
    return path.is_file() and path.suffix.lower() in MEDIA_SUFFIXES


def find_recordings(source: str | Path) -> dict[str, Path]:
    """Recording id -> file: `source` itself (a media file) or the media files under the folder
    `source`, their ids their paths relative to it without the suffix (`interviews/day1`)."""
    source = Path(source)
    if source.is_file():
        if not is_media(source):
            raise InputError(
                f"input={source}: not a recording (expected one of {', '.join(sorted(MEDIA_SUFFIXES))})"
            )
        return {source.stem: source}
    if not source.is_dir():
        raise InputError(f"input={source}: no such file or folder")
    found: dict[str, Path] = {}
    for path in sorted(p for p in source.rglob("*") if is_media(p)):
        recording = path.relative_to(source).with_suffix("").as_posix()
        if recording in found:
            raise InputError(
                f"input={source}: {found[recording].name} and {path.name} are both recording "
                f"{recording!r}; keep one"
            )
        found[recording] = path
    if not found:
        raise InputError(
            f"input={source}: holds no recordings ({', '.join(sorted(MEDIA_SUFFIXES))})"
        )
    return found


def decode_audio(path: Path, sample_rate: int) -> np.ndarray:
    """The first audio track of `path` as float32 mono samples at `sample_rate` (FFmpeg's
    resampler averages the channels); a file that is not media, has no audio track or whose
    codec FFmpeg cannot decode is a `MediaError` naming it."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError(f"{path}: has no audio track")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            chunks = [
                out.to_ndarray().reshape(-1)
                for frame in container.decode(audio=0)
                for out in resampler.resample(frame)
            ]
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    except av.FFmpegError as error:
        raise MediaError(
            f"{path}: cannot be decoded as media ({error.strerror or error})"
        ) from None
    if not chunks:
        raise MediaError(f"{path}: its audio track holds no samples")
    return np.concatenate(chunks).astype(np.float32, copy=False)
