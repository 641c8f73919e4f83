"""From raw recordings to emotions (issue 22): the README's walkthrough as written, on synthetic
recordings (mp4 videos and wav files, speech-like audio whose pitch and loudness carry the
labels, transcripts whose words do too) with the tiny local text model: `univa.extract` ->
`univa.train dataset=folder` on text and audio -> `univa.export` -> `univa.predict
pretrained=... input=new_clip.mp4`, run by bash from the README itself; and a model of
features univa cannot compute is refused."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from composing import compose_task
from pretrained_folders import tiny_network, write_folder
from univa.data.generic.check import training_problems, validate_dataset
from univa.data.synthetic.recordings import LABELS
from univa.errors import InputError, UsageError
from univa.predict import predict

README = Path(__file__).parents[1] / "README.md"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _cues(srt: Path) -> list[tuple[float, float]]:
    """The (start, end) seconds of an SRT file's cues."""

    def seconds(stamp: str) -> float:
        hours, minutes, rest = stamp.split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(rest.replace(",", "."))

    lines = [line for line in srt.read_text().splitlines() if "-->" in line]
    return [tuple(seconds(part.strip()) for part in line.split("-->")) for line in lines]


def readme_walkthrough() -> str:
    """The bash block of the README's section "From recordings to emotions"."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## From recordings to emotions", 1)[1]
    return section.split("```bash\n", 1)[1].split("```", 1)[0]


@pytest.mark.slow
def test_recordings_to_emotions_as_the_readme_says(tmp_path: Path) -> None:
    """The README's commands, run as written by bash in an empty folder."""
    script = "set -euo pipefail\n" + readme_walkthrough()
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=os.environ | {"PATH": path},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    data, rec = tmp_path / "clips_ds", tmp_path / "recordings"
    assert validate_dataset(data) == [] and training_problems(data) == []
    manifest = json.loads((data / "manifest.json").read_text())
    assert manifest["labels"] == list(LABELS) and manifest["modalities"] == {"audio": 1582}
    assert manifest["features"]["audio"]["feature_set"] == "IS10"
    assert not (tmp_path / "clips_ds.parts").exists()  # the parts are gone once written
    exported = json.loads((tmp_path / "clips_model" / "config.json").read_text())
    assert exported["features"]["audio"]["extractor"] == "openSMILE"

    rows = _rows(tmp_path / "preds.csv")
    cues = _cues(rec / "new_clip.srt")  # the subtitles beside the clip cut it
    times = [float(r[key]) for r in rows for key in ("start", "end")]
    assert times == pytest.approx([t for cue in cues for t in cue], abs=1e-3)
    assert {r["recording"] for r in rows} == {"new_clip"}
    for row in rows:
        for label in LABELS:
            assert 0.0 <= float(row[f"prob_{label}"]) <= 1.0
            assert row[f"pred_{label}"] in {"0", "1"}


def test_a_model_of_features_univa_cannot_compute_is_refused_on_recordings(
    tmp_path: Path,
) -> None:
    """A model trained on vision (or audio of no known extractor) cannot be fed recordings:
    one line saying so, before any recording is decoded."""
    model = write_folder(tmp_path / "model", tiny_network(), data_settings={"dataset": "folder"})
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"never decoded")
    cfg = compose_task(
        "predict", tmp_path, f"pretrained={model}", f"input={clip}", "output=preds.csv"
    )
    with pytest.raises(UsageError, match=r"reads .*vision.*does not compute from recordings"):
        predict(cfg)
    assert not (tmp_path / "preds.csv").exists()


def test_a_text_model_is_refused_a_recording_it_has_no_words_for(tmp_path: Path) -> None:
    """A model reading text, whose training text came from transcripts: a recording with no
    transcript row and no subtitles would be labelled on an empty text; refused in one line
    naming it and what to give, before anything is decoded."""
    from types import SimpleNamespace

    from univa.data.generic.new_data import NetworkInputs
    from univa.data.recordings.recipe import Recipe
    from univa.inference.recordings import predict_recordings

    provenance = Recipe("IS10", "utterance", 16000, None).provenance({})
    model = SimpleNamespace(
        network_inputs=NetworkInputs({"audio": 1582}, {"audio": 1}, raw_text=True),
        data_settings={"features": provenance},
    )
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"never decoded")
    with pytest.raises(UsageError, match=r"^my_model reads text.*clip has no transcript: give"):
        predict_recordings(model, clip, where="my_model")
    (tmp_path / "clip.srt").write_text("1\n00:00:00,000 --> 00:00:00,500\nhi\n")
    with (  # subtitles given: on to decoding the clip, which is no media
        pytest.warns(UserWarning, match=r"clip\.wav: cannot be decoded as media"),
        pytest.raises(InputError, match=r"no utterance of input="),
    ):
        predict_recordings(model, clip, where="my_model")
