"""What an extraction computes (`Recipe`), written into the dataset's manifest as feature
provenance and read back from a trained model's, so that `predict` extracts new recordings as
the model's training data was (`docs/data-format.md §4`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from univa.errors import UsageError

OPENSMILE = "openSMILE"
FASTER_WHISPER = "faster-whisper"
TRANSCRIPT = "transcript"
# openSMILE's feature levels, by the name the manifest records
LEVELS = {"utterance": "Functionals", "frame": "LowLevelDescriptors"}


@dataclass(frozen=True)
class Recipe:
    """The audio features (an openSMILE feature set, functionals per utterance or frame-level
    descriptors as a sequence, at `sample_rate`) and where text comes from: a transcript, or
    speech recognition with `asr_model` (a faster-whisper model name or folder)."""

    audio_feature_set: str
    audio_level: str
    sample_rate: int
    asr_model: str | None

    def __post_init__(self) -> None:
        if self.audio_level not in LEVELS:
            raise UsageError(f"audio_level={self.audio_level}: expected one of {', '.join(LEVELS)}")
        if self.sample_rate < 8000:
            raise UsageError(f"sample_rate={self.sample_rate}: expected at least 8000 (Hz)")

    def provenance(self, versions: Mapping[str, str]) -> dict[str, dict[str, str]]:
        """The manifest's `features`: what computed each modality, with `versions` (package ->
        version) of the extractors that ran."""
        audio = {
            "extractor": OPENSMILE,
            "version": versions.get("opensmile", "unknown"),
            "feature_set": self.audio_feature_set,
            "level": self.audio_level,
            "sample_rate": str(self.sample_rate),
        }
        if self.audio_level == "frame":
            audio["frame_step"] = "0.01 s"
        if self.asr_model is None:
            text = {"extractor": TRANSCRIPT, "level": "utterance"}
        else:  # a local model folder by its name: provenance travels, paths do not
            text = {
                "extractor": FASTER_WHISPER,
                "version": versions.get("faster-whisper", "unknown"),
                "feature_set": Path(self.asr_model).name or self.asr_model,
                "level": "utterance",
            }
        return {"audio": audio, "text": text}

    @classmethod
    def of_provenance(cls, features: Mapping[str, Mapping[str, str]], where: str) -> Recipe:
        """The recipe that produced `features` (a manifest's or a model's provenance); refuses
        features univa does not compute, naming `where` they were declared."""
        audio = dict(features.get("audio") or {})
        known = (
            audio.get("extractor") == OPENSMILE
            and audio.get("level") in LEVELS
            and audio.get("feature_set")
            and str(audio.get("sample_rate", "")).isdigit()
        )
        if not known:
            said = ", ".join(f"{k} {v}" for k, v in audio.items()) or "no provenance"
            raise UsageError(
                f"{where}: the model's audio features ({said}) are not ones univa.extract "
                "computes (openSMILE functionals or frame descriptors of a named feature set "
                "at a known sample rate); it cannot be used on recordings"
            )
        text = dict(features.get("text") or {})
        asr = text.get("feature_set") if text.get("extractor") == FASTER_WHISPER else None
        return cls(
            audio_feature_set=audio["feature_set"],
            audio_level=audio["level"],
            sample_rate=int(audio["sample_rate"]),
            asr_model=asr,
        )
