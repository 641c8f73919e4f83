"""What an extraction computes travels as provenance and comes back as the same recipe, so that
`predict` extracts new recordings as the training data was; features univa does not compute
are refused in one line naming where they were declared."""

from __future__ import annotations

import pytest

from univa.data.recordings.recipe import Recipe
from univa.errors import UsageError

VERSIONS = {"opensmile": "2.6.0", "faster-whisper": "1.2.1"}


@pytest.mark.parametrize(
    "recipe",
    [
        Recipe("IS10", "utterance", 16000, None),
        Recipe("eGeMAPSv02", "frame", 8000, "base"),
    ],
)
def test_the_provenance_gives_back_the_recipe(recipe: Recipe) -> None:
    provenance = recipe.provenance(VERSIONS)
    assert Recipe.of_provenance(provenance, "config.json") == recipe
    assert provenance["audio"]["version"] == "2.6.0"
    assert ("frame_step" in provenance["audio"]) == (recipe.audio_level == "frame")


def test_a_local_speech_model_travels_by_its_folder_name() -> None:
    provenance = Recipe("IS10", "utterance", 16000, "/home/me/models/whisper-base").provenance(
        VERSIONS
    )
    assert provenance["text"] == {
        "extractor": "faster-whisper",
        "version": "1.2.1",
        "feature_set": "whisper-base",
        "level": "utterance",
    }


@pytest.mark.parametrize(
    "audio",
    [
        {"extractor": "COVAREP", "feature_set": "COVAREP", "level": "frame"},
        {"extractor": "openSMILE", "feature_set": "IS10", "level": "segment"},
        {"extractor": "openSMILE", "feature_set": "IS10", "level": "utterance"},  # rate?
        {
            "extractor": "openSMILE",
            "feature_set": "IS10",
            "level": "utterance",
            "sample_rate": "16 kHz",
        },
        {},
    ],
)
def test_audio_univa_does_not_compute_is_refused_naming_the_model(audio: dict) -> None:
    with pytest.raises(UsageError, match=r"^my_model/config\.json: the model's audio features"):
        Recipe.of_provenance({"audio": audio}, "my_model/config.json")


@pytest.mark.parametrize(("level", "rate"), [("frames", 16000), ("utterance", 4000)])
def test_a_recipe_out_of_range_is_refused(level: str, rate: int) -> None:
    with pytest.raises(UsageError, match=r"audio_level=frames|sample_rate=4000"):
        Recipe("IS10", level, rate, None)
