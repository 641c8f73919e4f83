"""One recording's extraction: decode it, cut it into utterances (the transcript's segments, or
speech recognition's, or the whole recording), compute each utterance's audio features, and
keep the result as a part folder (`<parts>/<key>/`) that the dataset is later assembled from.
A part is written atomically, so an interrupted extraction resumes at the first recording
without one."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from univa.data.recordings.asr import WHISPER_RATE, transcribe, whisper_model
from univa.data.recordings.audio import audio_features, segment_samples, smile
from univa.data.recordings.media import decode_audio
from univa.data.recordings.recipe import Recipe
from univa.data.recordings.tables import Segment, segment_problem, utterance_id
from univa.errors import InputError
from univa.files import building_folder
from univa.safe_json import read_json

UTTERANCES_FILE = "utterances.json"
AUDIO_FILE = "audio.npy"
LENGTHS_FILE = "audio_lengths.npy"


@dataclass
class Part:
    """A recording's utterances (id, start, end, text, in time order) and their audio
    features, with the warnings of utterances left out."""

    utterances: list[dict]
    audio: list[np.ndarray]
    warnings: list[str] = field(default_factory=list)
    left_out: list[dict] = field(default_factory=list)  # id, start, end of each left out


def part_key(recording: str, media: Path, segments: list[Segment] | None) -> str:
    """A file name for `recording`'s part: readable, and unique by a hash of what the part is
    made of (the id, the media file, its size and time, the segments given), so that a part
    of a replaced file, another input folder or an edited transcript is never taken for done."""
    stat = media.stat()
    made_of = [recording, str(media.resolve()), stat.st_size, stat.st_mtime_ns]
    made_of.append(None if segments is None else [(s.start, s.end, s.text) for s in segments])
    digest = hashlib.sha256(json.dumps(made_of).encode()).hexdigest()[:16]
    return f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', recording)[:60]}-{digest}"


def _segments(recording: Path, signal: np.ndarray, recipe: Recipe, given: list[Segment] | None):
    duration = len(signal) / recipe.sample_rate
    if given is not None:
        return given
    if recipe.asr_model is not None:
        model = whisper_model(recipe.asr_model)
        speech = (
            signal if recipe.sample_rate == WHISPER_RATE else decode_audio(recording, WHISPER_RATE)
        )
        return transcribe(model, speech, recording)
    return [Segment(0.0, duration, "", f"{recording}: the whole recording")]


def extract_recording(
    recording: str, media: Path, recipe: Recipe, segments: list[Segment] | None
) -> Part:
    """The part of `recording` (the file `media`): `segments` when given, else what
    `recipe`'s speech recognition finds, else one utterance of the whole recording. A
    recording that cannot be decoded or cut (segments overlapping or past its end) is an
    `InputError`; an utterance too short for the audio features is left out with a warning."""
    signal = decode_audio(media, recipe.sample_rate)
    duration = len(signal) / recipe.sample_rate
    cut = _segments(media, signal, recipe, segments)
    problem = segment_problem(cut, duration)
    if problem:
        raise InputError(problem)
    extractor = smile(recipe)
    part = Part(utterances=[], audio=[])
    if not cut:
        part.warnings.append(f"{media}: no speech recognised, no utterance")
    for index, segment in enumerate(cut):
        samples = segment_samples(signal, recipe.sample_rate, segment.start, segment.end)
        features = audio_features(extractor, samples, recipe.sample_rate)
        if features is None:
            part.left_out.append(
                {
                    "utt_id": utterance_id(recording, index),
                    "start": segment.start,
                    "end": segment.end,
                }
            )
            part.warnings.append(
                f"{segment.where}: left out, {segment.end - segment.start:.3f} s is too short "
                "for the audio features' analysis windows"
            )
            continue
        part.utterances.append(
            {
                "utt_id": utterance_id(recording, index),
                "start": segment.start,
                "end": segment.end,
                "text": segment.text,
            }
        )
        part.audio.append(features)
    return part


def save_part(part: Part, path: Path) -> None:
    """Write `part` as the folder `path`, which appears whole or not at all."""
    with building_folder(path, last=UTTERANCES_FILE) as tmp:
        lengths = np.array([len(a) for a in part.audio], dtype=np.int64)
        rows = np.concatenate(part.audio) if part.audio else np.zeros((0, 0), np.float32)
        np.save(tmp / AUDIO_FILE, rows, allow_pickle=False)
        np.save(tmp / LENGTHS_FILE, lengths, allow_pickle=False)
        record = {
            "utterances": part.utterances,
            "warnings": part.warnings,
            "left_out": part.left_out,
        }
        (tmp / UTTERANCES_FILE).write_text(json.dumps(record), encoding="utf-8")


def load_part(path: Path) -> Part:
    """A part folder `save_part` wrote, its features memory-mapped."""
    record = read_json(path / UTTERANCES_FILE)
    rows = np.load(path / AUDIO_FILE, mmap_mode="r", allow_pickle=False)
    lengths = np.load(path / LENGTHS_FILE, allow_pickle=False)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    audio = [rows[bounds[i] : bounds[i + 1]] for i in range(len(lengths))]
    return Part(record["utterances"], audio, record["warnings"], record["left_out"])


def is_done(path: Path) -> bool:
    """Whether the part folder `path` was written whole (its utterances file comes last)."""
    return (path / UTTERANCES_FILE).is_file()
