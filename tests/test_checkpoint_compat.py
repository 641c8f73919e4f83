"""A checkpoint written by an earlier univa still loads, and predicts what it predicted then."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import univa
from composing import compose_task
from univa import UniVALitModule
from univa.predict import predict

FIXTURE = Path(__file__).parent / "fixtures" / "checkpoint_v0_1"


def read_predictions(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_an_earlier_checkpoint_loads_with_its_options() -> None:
    module = UniVALitModule.load_from_checkpoint(FIXTURE / "model.ckpt")
    config = module.model.config
    assert (config.hidden_size, config.num_heads, config.ffn_size) == (16, 2, 32)
    assert module.labels == ["happy", "sad", "anger", "surprise", "disgust", "fear"]
    assert module.data_settings["dataset"] == "synthetic"


def test_an_earlier_checkpoint_predicts_what_it_predicted(tiny_mosei: Path, tmp_path: Path) -> None:
    output = tmp_path / "predictions.csv"
    cfg = compose_task(
        "predict",
        tmp_path,
        f"ckpt_path={FIXTURE / 'model.ckpt'}",
        f"output={output}",
        f"dataset.data_dir={tiny_mosei}",
        "split=test",
    )
    predict(cfg)
    assert_same_predictions(
        read_predictions(output), read_predictions(FIXTURE / "predictions_test.csv")
    )


EXPORTED = Path(__file__).parent / "fixtures" / "exported_v0_2"


def assert_same_predictions(now: list[dict[str, str]], then: list[dict[str, str]]) -> None:
    assert [row["utt_id"] for row in now] == [row["utt_id"] for row in then]
    for row_now, row_then in zip(now, then, strict=True):
        for column, value in row_then.items():
            if column.startswith("prob_"):
                assert float(row_now[column]) == pytest.approx(float(value), abs=2e-6), column
            else:
                assert row_now[column] == value, column


def test_an_earlier_exported_folder_predicts_what_it_predicted(
    tiny_mosei: Path, tmp_path: Path
) -> None:
    output = tmp_path / "predictions.csv"
    cfg = compose_task(
        "predict",
        tmp_path,
        f"pretrained={EXPORTED / 'model'}",
        f"output={output}",
        f"dataset.data_dir={tiny_mosei}",
        "split=test",
    )
    predict(cfg)
    then = read_predictions(EXPORTED / "predictions_test.csv")
    assert_same_predictions(read_predictions(output), then)
    assert {row["pred_happy"] for row in then} == {"1"}  # its tuned 0.01, not the fixed 0.18


def test_an_earlier_exported_folder_keeps_its_tuned_thresholds() -> None:
    model = univa.load_pretrained(EXPORTED / "model")
    assert model.labels == ["happy", "sad", "anger", "surprise", "disgust", "fear"]
    assert model.thresholds.mode == "per_label"
    assert model.thresholds.values == pytest.approx(
        {"happy": 0.01, "sad": 0.2, "anger": 0.16, "surprise": 0.17, "disgust": 0.17, "fear": 0.14}
    )
