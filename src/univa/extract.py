"""`python -m univa.extract input=FILE|DIR out=DIR [transcripts=CSV] [labels=CSV] ...`: turn
video and audio recordings into a dataset in the generic format (`univa.data.recordings`,
`docs/data-format.md §4`): one recording is one dialogue, one transcript segment one
utterance, its audio features computed by openSMILE and its text kept raw for a PLM."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from univa.cli.command import tool_entry_point
from univa.errors import UsageError

# the extractors load when an extraction starts: --help and --cfg answer without them
if TYPE_CHECKING:
    from univa.data.recordings.build import Extraction


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """`shard=I/N`: the I-th (from 0) of N shards of the recordings."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not match or not int(match[1]) < int(match[2]):
        raise UsageError(f"shard={text}: expected I/N with 0 <= I < N, e.g. shard=0/4")
    return int(match[1]), int(match[2])


def extraction(cfg: DictConfig) -> Extraction:
    """The `Extraction` the command line asks for."""
    from univa.data.recordings.build import Extraction
    from univa.data.recordings.recipe import Recipe

    if cfg.workers is not None and int(cfg.workers) < 1:
        raise UsageError(f"workers={cfg.workers}: expected a number of processes, at least 1")
    return Extraction(
        source=Path(cfg.input),
        out=Path(cfg.out),
        recipe=Recipe(
            audio_feature_set=str(cfg.audio_feature_set),
            audio_level=str(cfg.audio_level),
            sample_rate=int(cfg.sample_rate),
            asr_model=None if cfg.asr_model is None else str(cfg.asr_model),
        ),
        transcripts=None if cfg.transcripts is None else Path(cfg.transcripts),
        labels=None if cfg.labels is None else Path(cfg.labels),
        seed=int(cfg.seed),
        workers=None if cfg.workers is None else int(cfg.workers),
        shard=parse_shard(cfg.shard),
        name=cfg.name,
        text_encoder=cfg.text_encoder,
        language=cfg.language,
    )


def extract_command(cfg: DictConfig) -> None:
    """Extract the recordings of `input` into the dataset `out` (or a shard of them)."""
    from univa.data.recordings.build import run_extraction

    run_extraction(extraction(cfg))


main = tool_entry_point("univa.extract", extract_command)


if __name__ == "__main__":
    main()
