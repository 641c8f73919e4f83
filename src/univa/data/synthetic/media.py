"""Synthetic recordings written with numpy and PyAV (the `extract` extra): speech-like audio
whose pitch can carry a label, videos with an audio track (or none) and audio files;
deterministic given a seed, and fast, for the recordings flavour and the extractor's tests."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

VIDEO_CODEC = "libx264" if "libx264" in av.codecs_available else "mpeg4"
MP3_CODEC = next((c for c in ("libmp3lame", "libshine") if c in av.codecs_available), None)
AUDIO_CODECS = {".wav": "pcm_s16le", ".flac": "flac", ".m4a": "aac"} | (
    {".mp3": MP3_CODEC} if MP3_CODEC else {}
)


def speech_like(
    seconds: float, sample_rate: int = 16000, seed: int = 0, pitch_hz: float = 140.0
) -> np.ndarray:
    """Float32 mono in [-1, 1] that openSMILE takes for voiced speech: harmonics of a slowly
    drifting pitch around `pitch_hz` (so the pitch is learnable), shaped by three formants that
    change with each ~0.2 s syllable, in syllable bursts with short pauses, plus a little noise."""
    rng = np.random.default_rng(seed)
    n = round(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    knots = np.arange(0.0, seconds + 0.5, 0.5)  # intonation: pitch drifts within ±8 %
    f0 = pitch_hz * (1 + np.interp(t, knots, rng.uniform(-0.08, 0.08, len(knots))))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    # Syllables of 0.15-0.3 s, a fifth of them followed by a 0.1-0.2 s pause.
    starts, ends, time = [], [], 0.0
    while time < seconds:
        starts.append(time)
        time += rng.uniform(0.15, 0.3)
        ends.append(time)
        time += rng.uniform(0.1, 0.2) if rng.random() < 0.2 else 0.0
    starts, ends = np.array(starts), np.array(ends)
    index = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(starts) - 1)
    progress = (t - starts[index]) / (ends[index] - starts[index])
    envelope = np.where(progress < 1, np.sin(np.pi * np.clip(progress, 0, 1)) ** 0.5, 0.0)
    # Formants (F1, F2, F3) per syllable, glided between syllable centres.
    centres = (starts + ends) / 2
    ranges = ((300, 800), (900, 2300), (2400, 3100))
    formants = np.stack(
        [np.interp(t, centres, rng.uniform(lo, hi, len(centres))) for lo, hi in ranges]
    )
    # Glottal-like source: harmonics falling 12 dB/octave, weighted by the formant resonances.
    harmonics = np.arange(1, int(4000 / pitch_hz) + 1)
    frequencies = f0[:, None] * harmonics  # (n, harmonics)
    gain = sum(80.0**2 / ((frequencies - formant[:, None]) ** 2 + 80.0**2) for formant in formants)
    voiced = (gain / harmonics**2 * np.sin(phase[:, None] * harmonics)).sum(axis=1)
    signal = envelope * voiced + 0.01 * np.abs(voiced).max() * rng.standard_normal(n)
    return (0.9 * signal / np.abs(signal).max()).astype(np.float32)


def _mux_audio(
    container: av.container.OutputContainer, stream: av.AudioStream, audio: np.ndarray
) -> None:
    """Encodes `audio` in frames of the codec's frame size with running pts, then flushes, so that
    the file decodes back to the input's duration."""
    size = stream.codec_context.frame_size or 1024  # 0 for codecs that take any size (pcm)
    samples = np.ascontiguousarray(audio, dtype=np.float32).reshape(1, -1)
    for start in range(0, samples.shape[1], size):
        frame = av.AudioFrame.from_ndarray(
            samples[:, start : start + size], format="flt", layout="mono"
        )
        frame.sample_rate, frame.pts, frame.time_base = stream.rate, start, Fraction(1, stream.rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def write_video(
    path: str | Path,
    audio: np.ndarray | None,
    sample_rate: int = 16000,
    seconds: float | None = None,
    fps: int = 10,
    size: tuple[int, int] = (64, 48),
    seed: int = 0,
) -> Path:
    """An .mp4 of a bright ellipse ("face") moving over a slowly sliding gradient, with `audio` as
    a mono AAC track; `audio=None` writes no audio track and `seconds` gives the length."""
    path, rng = Path(path), np.random.default_rng(seed)
    if audio is not None:
        seconds = len(audio) / sample_rate
    if seconds is None:
        raise ValueError("write_video needs `audio` or `seconds`")
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    colour, phase = rng.uniform(60, 200, 3), rng.uniform(0, 2 * np.pi, 2)
    with av.open(str(path), "w") as container:
        video = container.add_stream(VIDEO_CODEC, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = None
        if audio is not None:
            sound = container.add_stream("aac", rate=sample_rate, layout="mono")
        for i in range(max(1, round(seconds * fps))):
            t = i / fps
            cx = width * (0.5 + 0.2 * np.sin(0.8 * t + phase[0]))
            cy = height * (0.5 + 0.15 * np.sin(0.5 * t + phase[1]))
            shade = (x + 8 * t) % width / width  # the background slides slowly
            inside = ((x - cx) / (width / 6)) ** 2 + ((y - cy) / (height / 4)) ** 2 <= 1
            image = colour * shade[..., None]
            image[inside] = (240, 210, 180)
            frame = av.VideoFrame.from_ndarray(image.astype(np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            _mux_audio(container, sound, audio)
    return path


def write_audio(path: str | Path, audio: np.ndarray, sample_rate: int = 16000) -> Path:
    """A mono audio file in the format its suffix names (.wav, .flac, .m4a and, where FFmpeg
    has an mp3 encoder, .mp3)."""
    path = Path(path)
    codec = AUDIO_CODECS.get(path.suffix.lower())
    if codec is None:
        raise ValueError(f"no audio format for {path.suffix!r}; known: {sorted(AUDIO_CODECS)}")
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=sample_rate, layout="mono")
        _mux_audio(container, stream, audio)
    return path
