"""Seconds of media `univa.extract` processes per second, per stage and end to end.

Writes `--recordings` synthetic mp4 clips of `--seconds` each (speech-like audio, H.264
frames), then times, in this process, one stage at a time over all clips: decoding the audio
(PyAV, 16 kHz mono), openSMILE's IS10 functionals per 2 s utterance, eGeMAPSv02 frame
descriptors per utterance, and speech recognition by Whisper base (faster-whisper, int8, one
thread) on the committed recording of two spoken sentences tiled to `--seconds`; then the
whole extraction (`run_extraction`, transcripts given) with 1 and 2 worker processes. Vision
is not extracted (docs/data-format.md §4.6). Run from the repository root:
`PYTHONPATH=src:tests python benchmarks/extract_throughput.py [--recordings 8 --seconds 30]`.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from univa.data.recordings.asr import transcribe, whisper_model
from univa.data.recordings.audio import audio_features, segment_samples, smile
from univa.data.recordings.build import Extraction, run_extraction
from univa.data.recordings.media import decode_audio
from univa.data.recordings.recipe import Recipe
from univa.data.synthetic.media import speech_like, write_video
from whisper_model import whisper_base_folder

RATE = 16000
UTTERANCE = 2.0  # seconds per transcript segment
SPEECH = Path(__file__).parents[1] / "tests" / "fixtures" / "speech" / "two_sentences.flac"


def clips(folder: Path, count: int, seconds: float) -> tuple[list[Path], Path]:
    """`count` mp4 clips and a transcripts CSV cutting each into `UTTERANCE`-long segments."""
    folder.mkdir()
    paths, rows = [], []
    for index in range(count):
        path = write_video(
            folder / f"clip{index}.mp4", speech_like(seconds, seed=index), seed=index
        )
        paths.append(path)
        starts = np.arange(0.0, seconds - UTTERANCE + 1e-9, UTTERANCE)
        rows += [[path.name, f"{s:.3f}", f"{s + UTTERANCE:.3f}", "words"] for s in starts]
    transcripts = folder.parent / "transcripts.csv"
    with transcripts.open("w", newline="") as file:
        csv.writer(file).writerows([["file", "start", "end", "text"], *rows])
    return paths, transcripts


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def recipe(feature_set: str = "IS10", level: str = "utterance") -> Recipe:
    return Recipe(feature_set, level, RATE, None)


def features_of(signals: list[np.ndarray], feature_set: str, level: str) -> None:
    extractor = smile(recipe(feature_set, level))
    for signal in signals:
        for start in np.arange(0.0, len(signal) / RATE - UTTERANCE + 1e-9, UTTERANCE):
            samples = segment_samples(signal, RATE, start, start + UTTERANCE)
            audio_features(extractor, samples, RATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).with_name("extract_throughput.json")
    )
    args = parser.parse_args()
    media = args.recordings * args.seconds
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths, transcripts = clips(root / "clips", args.recordings, args.seconds)
        stages: dict[str, float] = {}  # stage -> seconds for `media` seconds of media
        asr_media = args.seconds  # ASR runs on one tiled recording
        signals: list[np.ndarray] = []
        stages["decode"] = timed(lambda: signals.extend(decode_audio(p, RATE) for p in paths))
        stages["audio IS10 functionals"] = timed(lambda: features_of(signals, "IS10", "utterance"))
        stages["audio eGeMAPSv02 frames"] = timed(
            lambda: features_of(signals, "eGeMAPSv02", "frame")
        )
        model_dir = whisper_base_folder(root / "whisper-base")
        if model_dir is not None:
            speech = decode_audio(SPEECH, RATE)
            tiled = np.tile(speech, int(np.ceil(args.seconds * RATE / len(speech))))
            tiled = tiled[: round(args.seconds * RATE)]
            model = whisper_model(str(model_dir))
            stages["ASR whisper-base"] = timed(lambda: transcribe(model, tiled, SPEECH))
        for workers in (1, 2):
            job = Extraction(root / "clips", root / f"ds{workers}", recipe(), transcripts, None,
                             0, workers, None, None, None, None)  # fmt: skip
            stages[f"whole extraction, {workers} worker(s)"] = timed(
                lambda job=job: run_extraction(job, report=lambda line: None)
            )
    lengths = {k: asr_media if k.startswith("ASR") else media for k in stages}
    figures = {
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "media_seconds": lengths,
        "seconds": {k: round(v, 3) for k, v in stages.items()},
        "media_seconds_per_second": {k: round(lengths[k] / v, 1) for k, v in stages.items()},
    }
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    for stage, speed in figures["media_seconds_per_second"].items():
        print(f"{stage:38s} {speed:8.1f} s of media per second")


if __name__ == "__main__":
    main()
