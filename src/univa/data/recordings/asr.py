"""Speech recognition with faster-whisper (an optional extra: `pip install 'univa[asr]'`): a
recording's speech as timed segments, when no transcript is given."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from univa.data.recordings.tables import Segment
from univa.errors import UsageError

WHISPER_RATE = 16000  # Hz: the samples Whisper models take


@cache
def whisper_model(name_or_path: str) -> Any:
    """A faster-whisper model by name (fetched from the hub once, then cached) or local folder,
    on the CPU with int8 weights; loaded once per process."""
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise UsageError(
            f"asr_model={name_or_path}: speech recognition needs faster-whisper: "
            "pip install 'univa[asr]' (or give transcripts=)"
        ) from None
    try:
        return WhisperModel(name_or_path, device="cpu", compute_type="int8", cpu_threads=1)
    except Exception as error:  # a name not on the hub offline, a folder of another format
        raise UsageError(
            f"asr_model={name_or_path}: cannot load a faster-whisper model "
            f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
            "give a local model folder, or transcripts="
        ) from None


def transcribe(model: Any, samples: np.ndarray, where: Path) -> list[Segment]:
    """The timed segments `model` hears in 16 kHz `samples`, empty ones left out."""
    found, _ = model.transcribe(samples, beam_size=1, vad_filter=False)
    return [
        Segment(float(s.start), float(s.end), s.text.strip(), f"{where}: speech at {s.start:.2f} s")
        for s in found
        if s.text.strip() and s.end > s.start
    ]
