"""Tiny synthetic recordings (wav and mp4 written by `univa.data.synthetic.media`) with their
transcripts and labels tables, and helpers to run `univa.extract` on them (the tests of
`univa.data.recordings` import them; they need the `extract` extra)."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import opensmile

from univa.data.recordings.build import Extraction
from univa.data.recordings.recipe import Recipe
from univa.data.synthetic.media import speech_like, write_audio, write_video

RATE = 16000
IS10 = Recipe(audio_feature_set="IS10", audio_level="utterance", sample_rate=RATE, asr_model=None)
# recording file (relative to the clips folder) -> (seconds, seed, its transcript segments)
CLIPS = {
    "a.mp4": (1.5, 1, [(0.1, 0.6, "hello there"), (0.7, 1.2, "how are you")]),
    "b.wav": (1.2, 2, [(0.0, 0.5, "fine thanks"), (0.6, 1.1, "and you")]),
    "sub/c.mp4": (1.4, 3, [(0.2, 0.9, "great news")]),
    "d.wav": (1.0, 4, [(0.1, 0.8, "so sad")]),
}
LABELS = ("sad", "happy")  # not in alphabetical order: the manifest keeps the table's


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_clip(path: Path, seconds: float, seed: int = 0) -> np.ndarray:
    """A speech-like recording at `path` (a video for .mp4, else an audio file); its samples."""
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = speech_like(seconds, RATE, seed=seed)
    if path.suffix == ".mp4":
        write_video(path, samples, RATE)
    else:
        write_audio(path, samples, RATE)
    return samples


def write_clips(folder: Path, clips: dict = CLIPS) -> Path:
    for name, (seconds, seed, _) in clips.items():
        write_clip(folder / name, seconds, seed)
    return folder


def transcript_rows(clips: dict = CLIPS) -> list[list]:
    return [[name, s, e, text] for name, (_, _, cut) in clips.items() for s, e, text in cut]


def label_rows(clips: dict = CLIPS) -> list[list]:
    """Each segment labelled: sad for the first of a recording, happy for the others."""
    return [
        [name, s, e, int(i == 0), int(i > 0)]
        for name, (_, _, cut) in clips.items()
        for i, (s, e, _) in enumerate(cut)
    ]


def write_corpus(root: Path) -> Path:
    """`clips/` (4 recordings, one in a sub-folder), `transcripts.csv` and `labels.csv`."""
    write_clips(root / "clips")
    write_csv(root / "transcripts.csv", ["file", "start", "end", "text"], transcript_rows())
    write_csv(root / "labels.csv", ["file", "start", "end", *LABELS], label_rows())
    return root


def job(root: Path, out: str = "data", **changes) -> Extraction:
    """The extraction of `root`'s clips with its transcripts and labels, into `root/out`."""
    base = Extraction(
        source=root / "clips",
        out=root / out,
        recipe=IS10,
        transcripts=root / "transcripts.csv",
        labels=root / "labels.csv",
        seed=1111,
        workers=1,
        shard=None,
        name="clips",  # not the out folder's: datasets written to two folders compare equal
        text_encoder=None,
        language=None,
    )
    return replace(base, **changes)


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every file of `folder` by its relative path, for comparing two datasets exactly."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def pyav_samples(path: Path, rate: int = RATE) -> np.ndarray:
    """The file decoded independently of univa: PyAV's resampler to float32 mono."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
    chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return np.concatenate(chunks)


def is10(samples: np.ndarray) -> np.ndarray:
    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.IS10, feature_level=opensmile.FeatureLevel.Functionals
    )
    return smile.process_signal(samples, RATE).to_numpy(dtype=np.float32)
