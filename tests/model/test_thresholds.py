"""`Thresholds`: read from a run's results.json and an exported config.json, written back in
their formats, and applied like the network's own `preds`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from univa.errors import UsageError
from univa.model import UniVA, UniVAConfig
from univa.model.thresholds import Thresholds, predict_at

LABELS = ["joy", "anger", "sadness", "neutral"]


def test_predictions_need_to_exceed_the_threshold() -> None:
    probs = torch.tensor([[0.18, 0.19, 0.5]])
    assert predict_at(probs, 0.18).tolist() == [[0, 1, 1]]
    assert predict_at(probs, torch.tensor([0.1, 0.2, 0.5])).tolist() == [[1, 0, 0]]


def test_the_networks_preds_are_its_probabilities_at_model_threshold() -> None:
    config = UniVAConfig(
        labels=LABELS,
        input_dims={"text": 4, "audio": 3, "vision": 2},
        max_lens={"text": 5, "audio": 5, "vision": 5},
        hidden_size=8,
        num_heads=2,
        ffn_size=16,
        threshold=0.25,
    )
    batch = {m: torch.randn(6, 5, config.input_dims[m]) for m in config.modalities}
    batch |= {f"{m}_mask": torch.ones(6, 5, dtype=torch.bool) for m in config.modalities}
    out = UniVA(config).eval()(batch)
    fixed = Thresholds.fixed(LABELS, config.threshold)
    assert torch.equal(out["preds"], fixed.apply(out["probs"]))


def test_record_names_the_mode_and_each_labels_value() -> None:
    values = dict(zip(LABELS, [0.25, 0.5, 0.75, 0.125], strict=True))
    assert Thresholds.tuned(LABELS, values, "per_label", "here").record() == {
        "mode": "per_label",
        "values": values,
    }
    assert Thresholds.fixed(LABELS, 0.18).record() == {
        "mode": "fixed",
        "values": dict.fromkeys(LABELS, 0.18),
    }


def run_with(tmp_path: Path, results: dict, name: str = "best.ckpt") -> Path:
    """A checkpoint in a run's `checkpoints/`, the run's results.json holding `results`."""
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "results.json").write_text(json.dumps(results))
    path = tmp_path / "checkpoints" / name
    path.write_bytes(b"")
    return path


def test_a_checkpoint_decides_at_the_thresholds_its_run_tuned_for_it(tmp_path: Path) -> None:
    values = dict(zip(LABELS, [0.1, 0.2, 0.3, 0.4], strict=True))
    tuned = {"mode": "per_label", "thresholds": values}
    path = run_with(tmp_path, {"best_checkpoint": "/moved/best.ckpt", "tuned": tuned})
    thresholds = Thresholds.of_checkpoint(path, LABELS, 0.18)
    assert thresholds.values == values and thresholds.is_tuned
    assert thresholds.source == (
        f"per_label thresholds tuned on validation, from {tmp_path / 'results.json'}: "
        "joy 0.1, anger 0.2, sadness 0.3, neutral 0.4"
    )
    # tuned for another checkpoint of the run: the fixed one, saying why
    other = Thresholds.of_checkpoint(path.with_name("last.ckpt"), LABELS, 0.18)
    assert other.values == dict.fromkeys(LABELS, 0.18) and not other.is_tuned
    assert other.source.endswith(
        f"(fixed; the thresholds tuned in {tmp_path / 'results.json'} are for best.ckpt)"
    )


def test_a_checkpoint_outside_a_run_decides_at_the_fixed_threshold(tmp_path: Path) -> None:
    path = tmp_path / "model.ckpt"
    assert Thresholds.of_checkpoint(path, LABELS, 0.3).source == "model.threshold=0.3 (fixed)"


@pytest.mark.parametrize(
    ("results", "message"),
    [
        ({"best_checkpoint": "best.ckpt", "tuned": [0.2]}, "its tuned thresholds are damaged"),
        ({"best_checkpoint": "best.ckpt", "tuned": {"thresholds": {"joy": 0.2}}}, "do not name"),
    ],
)
def test_damaged_tuned_thresholds_name_the_file(tmp_path: Path, results, message) -> None:
    path = run_with(tmp_path, results)
    with pytest.raises(UsageError, match=rf"results.json: .*{message}"):
        Thresholds.of_checkpoint(path, LABELS, 0.18)


def test_an_exported_config_round_trips_its_thresholds(tmp_path: Path) -> None:
    values = dict(zip(LABELS, [0.1, 0.2, 0.3, 0.4], strict=True))
    tuned = Thresholds.tuned(LABELS, values, "global", "here")
    stored = {"thresholds": tuned.exported(0.18, "the run's results.json")}
    assert stored["thresholds"] == {
        "fixed": 0.18,
        "tuned": values,
        "mode": "global",
        "source": "the run's results.json",
    }
    read = Thresholds.of_exported(stored, LABELS, tmp_path / "config.json", 0.18)
    assert (read.values, read.mode) == (values, "global")
    fixed = {"thresholds": Thresholds.fixed(LABELS, 0.18).exported(0.18, "unused")}
    assert fixed["thresholds"]["tuned"] is None
    read = Thresholds.of_exported(fixed, LABELS, tmp_path / "config.json", 0.18)
    assert read.values == dict.fromkeys(LABELS, 0.18) and read.mode == "fixed"
