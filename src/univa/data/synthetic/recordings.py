"""Synthetic recordings with transcripts and labels (`python -m univa.data.synthetic
flavor=recordings`): what `univa.extract` takes, learnable from both the voice and the words,
so that the walkthrough from recordings to emotions runs offline end to end.

Each utterance shows some of three emotions. Happiness raises the voice's pitch and sadness
lowers it, anger makes it louder; each emotion shown puts one of its words into the transcript
among neutral ones. `clips/` holds the recordings (mp4 videos and a few wav files), beside them
`transcripts.csv`, `labels.csv` (no split column: `univa.extract` splits by recording),
`new_clip.mp4` with its subtitles `new_clip.srt` (unlabelled, for `predict input=`), and
`text_model/`, a tiny local PLM trained on the transcripts."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from univa.files import building_folder, holds_something

LABELS = ("happy", "sad", "anger")
WORDS = {
    "happy": ("great", "wonderful", "lovely", "glad"),
    "sad": ("sorry", "lost", "miss", "alone"),
    "anger": ("unfair", "stop", "hate", "enough"),
}
NEUTRAL = ("the", "day", "we", "went", "there", "and", "then", "it", "was", "today", "they")
# size -> (recordings, utterances per recording)
SIZES = {"tiny": (8, 3), "default": (40, 4), "small": (40, 4), "full": (120, 6)}
UTTERANCE_SECONDS = (1.2, 2.0)
GAP_SECONDS = 0.3
NEW_CLIP = "new_clip"


def _utterance(rng: np.random.Generator) -> tuple[dict[str, int], float, float, str]:
    """One utterance's labels, pitch (Hz), loudness and words."""
    mood = rng.choice(["happy", "sad", "none"], p=[0.4, 0.4, 0.2])
    labels = {"happy": int(mood == "happy"), "sad": int(mood == "sad")}
    labels["anger"] = int(rng.random() < 0.3)
    pitch = {"happy": 230.0, "sad": 105.0, "none": 160.0}[mood] * rng.uniform(0.93, 1.07)
    loudness = 0.9 if labels["anger"] else 0.35
    words = list(rng.choice(NEUTRAL, size=4))
    for label in LABELS:
        if labels[label]:
            words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(WORDS[label])))
    return labels, pitch, loudness, " ".join(words)


def _recording(
    rng: np.random.Generator, utterances: int, sample_rate: int
) -> tuple[np.ndarray, list[tuple[float, float, str, dict[str, int]]]]:
    """A recording's samples and its utterances (start, end, text, labels), with pauses."""
    from univa.data.synthetic.media import speech_like

    pieces, segments, time = [], [], 0.0
    for _ in range(utterances):
        labels, pitch, loudness, text = _utterance(rng)
        seconds = float(rng.uniform(*UTTERANCE_SECONDS))
        seed = int(rng.integers(2**31))
        pieces.append(loudness * speech_like(seconds, sample_rate, seed=seed, pitch_hz=pitch))
        pieces.append(np.zeros(round(GAP_SECONDS * sample_rate), np.float32))
        segments.append((round(time, 3), round(time + seconds, 3), text, labels))
        time += seconds + GAP_SECONDS
    return np.concatenate(pieces), segments


def _srt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    return f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d},{millis % 1000:03d}"


def write_synthetic_recordings(out_dir: str | Path, seed: int, size: str) -> Path:
    """Write the recordings, their tables, a new clip and a tiny PLM to `out_dir`."""
    from univa.data.synthetic.media import write_audio, write_video
    from univa.data.synthetic.tiny_text_model import write_tiny_text_model

    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; valid values: {', '.join(SIZES)}")
    out = Path(out_dir)
    if holds_something(out):
        raise FileExistsError(f"{out} exists and is not empty; not overwriting it")
    count, per_recording = SIZES[size]
    rng, rate = np.random.default_rng(seed), 16000
    transcripts, labels, corpus = [], [], []
    with building_folder(out) as tmp:
        (tmp / "clips").mkdir()
        for index in range(count):
            samples, segments = _recording(rng, per_recording, rate)
            name = f"clip{index:03d}" + (".wav" if index % 4 == 3 else ".mp4")
            writer = write_audio if name.endswith(".wav") else write_video
            writer(tmp / "clips" / name, samples, rate)
            for start, end, text, marks in segments:
                transcripts.append([name, start, end, text])
                labels.append([name, start, end, *(marks[label] for label in LABELS)])
                corpus.append(text)
        samples, segments = _recording(rng, per_recording, rate)
        write_video(tmp / f"{NEW_CLIP}.mp4", samples, rate)
        cues = [
            f"{i}\n{_srt_time(start)} --> {_srt_time(end)}\n{text}\n"
            for i, (start, end, text, _) in enumerate(segments, start=1)
        ]
        (tmp / f"{NEW_CLIP}.srt").write_text("\n".join(cues), encoding="utf-8")
        _write_csv(tmp / "transcripts.csv", ["file", "start", "end", "text"], transcripts)
        _write_csv(tmp / "labels.csv", ["file", "start", "end", *LABELS], labels)
        write_tiny_text_model(tmp / "text_model", corpus, seed=seed)
    return out


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
