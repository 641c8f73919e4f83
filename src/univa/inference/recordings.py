"""A trained model on raw recordings: each recording extracted as the model's training data was
(the recipe its recorded feature provenance names, `univa.data.recordings`), then labelled per
utterance, with the recording and the utterance's start and end beside the predictions."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from univa.data.generic.format import TABLE_FILE
from univa.data.recordings.build import Extraction, run_extraction
from univa.data.recordings.media import find_recordings, is_media
from univa.data.recordings.recipe import Recipe
from univa.data.recordings.tables import read_transcripts, sidecar_subtitles
from univa.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

    from univa.inference.trained_model import TrainedModel

EXTRACTED = {"text", "audio"}  # the modalities univa.extract computes
TIMES = ["recording", "start", "end"]


def is_recordings(source: str | Path) -> bool:
    """Whether `source` is a recording, or a folder of recordings rather than a dataset."""
    path = Path(source)
    if path.is_file():
        return is_media(path)
    return (
        path.is_dir()
        and not (path / "manifest.json").exists()
        and any(is_media(p) for p in path.rglob("*"))
    )


def model_recipe(model: TrainedModel, where: str) -> Recipe:
    """How `model`'s training data was extracted; refuses a model reading what univa.extract
    does not compute (vision, GloVe vectors, features of unknown provenance)."""
    inputs = model.network_inputs
    reads = set(inputs.input_dims) | ({"text"} if inputs.raw_text else set())
    foreign = sorted(reads - EXTRACTED) + (["text vectors"] if "text" in inputs.input_dims else [])
    if foreign:
        raise UsageError(
            f"{where}: the model reads {', '.join(foreign)}, which univa.extract does not "
            "compute from recordings; give input= a dataset folder instead"
        )
    return Recipe.of_provenance((model.data_settings or {}).get("features") or {}, where)


def _refuse_untranscribed(source: Path, transcripts: str | Path | None, where: str) -> None:
    """A model reading text whose training text came from transcripts is refused a recording
    with no transcript row or subtitles: it would be labelled on an empty text."""
    recordings = find_recordings(source)
    table = read_transcripts(Path(transcripts), recordings, source) if transcripts else {}
    untold = [
        r for r, media in recordings.items() if r not in table and not sidecar_subtitles(media)
    ]
    if untold:
        raise UsageError(
            f"{where} reads text, from transcripts in its training data; {', '.join(untold[:3])}"
            f"{' ...' if len(untold) > 3 else ''} has no transcript: give transcripts=<csv>, "
            "subtitles beside it (.srt or .vtt), or asr_model=<speech recognition model>"
        )


def predict_recordings(
    model: TrainedModel,
    source: str | Path,
    *,
    where: str = "the model",
    transcripts: str | Path | None = None,
    asr_model: str | None = None,
    workers: int | None = None,
    batch_size: int = 32,
    device: str | None = None,
) -> pd.DataFrame:
    """`model`'s predictions for the recordings `source` (a file or folder), one row per
    utterance: `utt_id`, `recording`, `start`, `end` (seconds), `prob_<label>`, `pred_<label>`.
    Utterances come from `transcripts`, subtitles beside a recording, or speech recognition
    as the model's data had them (with `asr_model`, a name or local folder, when given: the
    provenance names a local model by its folder's name alone); `where` names the model in
    messages."""
    import pandas as pd

    recipe = model_recipe(model, where)
    if asr_model is not None:
        recipe = replace(recipe, asr_model=asr_model)
    if model.network_inputs.raw_text and recipe.asr_model is None:
        _refuse_untranscribed(Path(source), transcripts, where)
    with tempfile.TemporaryDirectory(prefix="univa-recordings-") as tmp:
        folder = Path(tmp) / "extracted"
        job = Extraction(
            source=Path(source),
            out=folder,
            recipe=recipe,
            transcripts=None if transcripts is None else Path(transcripts),
            labels=None,
            seed=0,
            workers=workers,
            shard=None,
            name="recordings",
            text_encoder=None,
            language=None,
        )
        run_extraction(job, report=lambda line: None)
        table = pd.read_csv(
            folder / "test" / TABLE_FILE, dtype={"utt_id": str}, keep_default_na=False
        )
        predictions = model.predict(folder, batch_size=batch_size, device=device)
    times = table[["utt_id", "dialogue_id", "start", "end"]].rename(
        columns={"dialogue_id": "recording"}
    )
    return times.merge(predictions, on="utt_id", how="inner", validate="one_to_one")
