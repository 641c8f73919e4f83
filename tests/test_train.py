"""End-to-end runs of `univa.train` on tiny synthetic data."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from omegaconf import open_dict

from univa import UniVALitModule
from univa.errors import NonFiniteLossError
from univa.train import train

TINY = [
    "dataset.size=tiny",
    "trainer.max_epochs=2",
    "trainer.log_every_n_steps=1",
    "dataset.batch_size=8",
    "logger=csv",
]


@pytest.mark.slow
def test_train_writes_results_and_checkpoints(compose_cfg, tmp_path: Path) -> None:
    cfg = compose_cfg(*TINY)
    best_val_f1 = train(cfg)
    output_dir = Path(cfg.paths.output_dir)
    results = json.loads((output_dir / "results.json").read_text())
    assert results["val"]["micro_f1"] == pytest.approx(best_val_f1)
    assert results["seed"] == 1111
    test = results["test"]
    assert set(test) >= {"acc", "hl", "micro_f1", "macro_f1", "num_samples", "per_label_f1"}
    assert list(test["per_label_f1"]) == ["happy", "sad", "anger", "surprise", "disgust", "fear"]
    assert 0.0 <= test["hl"] <= 1.0 and 0.0 <= test["micro_f1"] <= 100.0
    data_dir = Path(cfg.dataset.data_dir)
    with open(data_dir / "preprocess_data/final_feat/A/MOSEI_test_audio_utt_VA.pkl", "rb") as file:
        import pickle

        num_test = len(pickle.load(file)["test"]["labels_class"])
    assert test["num_samples"] == num_test
    assert Path(results["best_checkpoint"]).is_file()
    assert (output_dir / "checkpoints" / "last.ckpt").is_file()
    assert (output_dir / "csv" / "metrics.csv").is_file()


@pytest.mark.slow
def test_checkpoint_loads_with_weights_only(compose_cfg) -> None:
    cfg = compose_cfg(*TINY, "trainer.max_epochs=1", "test=false")
    train(cfg)
    path = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    torch.load(path, weights_only=True)  # nothing pickled but tensors and plain values
    module = UniVALitModule.load_from_checkpoint(path)
    assert module.model.config.hidden_size == cfg.model.hidden_size
    assert module.labels == ["happy", "sad", "anger", "surprise", "disgust", "fear"]


@pytest.mark.slow
def test_cli_runs_m3ed_flavour_with_label_prior_and_bce(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "univa.train",
        f"paths.root_dir={tmp_path}",
        *TINY,
        "trainer.max_epochs=1",
        "dataset.flavor=m3ed",
        "model.label_prior=true",
        "model.loss_mode=bce",
        "model.threshold=0.5",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = list(tmp_path.glob("logs/train/runs/*/results.json"))
    assert len(results) == 1
    assert list(json.loads(results[0].read_text())["test"]["per_label_f1"]) == [
        "Happy",
        "Surprise",
        "Sad",
        "Disgust",
        "Anger",
        "Fear",
        "Neutral",
    ]


@pytest.mark.slow
def test_default_run_beats_the_best_constant_prediction_by_10_points(compose_cfg) -> None:
    """The README's first command, as a test: the synthetic default is learnable, not noise."""
    cfg = compose_cfg()
    train(cfg)
    test = json.loads((Path(cfg.paths.output_dir) / "results.json").read_text())["test"]
    assert test["micro_f1"] >= test["best_constant_micro_f1"] + 10.0, test


@pytest.mark.slow
@pytest.mark.parametrize("flavor", ["mosei", "m3ed"])
def test_plm_path_trains_offline_on_the_tiny_local_model(
    compose_cfg, flavor: str, monkeypatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = compose_cfg(*TINY, "text=roberta", f"dataset.flavor={flavor}", "trainer.max_epochs=1")
    assert cfg.dataset.text_encoder.endswith("text_model")
    train(cfg)
    results = json.loads((Path(cfg.paths.output_dir) / "results.json").read_text())
    assert results["test"]["num_samples"] > 0
    module = UniVALitModule.load_from_checkpoint(results["best_checkpoint"])
    assert module.model.config.text_encoder == cfg.dataset.text_encoder
    assert not any(p.requires_grad for p in module.model.encoders["text"].plm.pooler.parameters())


def test_batch_of_one_with_the_contrastive_loss_is_refused_before_reading_data(
    compose_cfg, tmp_path: Path
) -> None:
    cfg = compose_cfg(
        "dataset=mosei", "dataset.batch_size=1", f"dataset.data_dir={tmp_path}/missing"
    )
    with pytest.raises(ValueError, match=r"dataset.batch_size=1.*model.contrastive=false"):
        train(cfg)


@pytest.mark.slow
def test_a_diverging_run_stops_with_a_clear_message(compose_cfg) -> None:
    cfg = compose_cfg(*TINY, "model.lr=1e30", "trainer.gradient_clip_val=null")
    with pytest.raises(
        NonFiniteLossError, match=r"training loss is (nan|inf).*stopped before updating"
    ):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "results.json").exists()


MISTAKES = {
    "missing dataset folder": (
        "dataset=mosei dataset.data_dir={tmp}/missing",
        "dataset.data_dir={tmp}/missing does not hold",
    ),
    "alpha": ("dataset.size=tiny model.alpha=2", "model.alpha must lie in [0, 1], got 2"),
    "threshold": ("dataset.size=tiny model.threshold=1.5", "model.threshold must lie in (0, 1)"),
    "threshold tuning": (
        "dataset=mosei dataset.data_dir={tmp}/missing analysis.threshold_tuning=best",
        "analysis.threshold_tuning=best: expected null, dataset or one of ('global', 'per_label')",
    ),
    "wandb without login": (
        "dataset.size=tiny logger=wandb logger.wandb.mode=online",
        "logger=wandb could not start a W&B run",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize(("override", "message"), MISTAKES.values(), ids=MISTAKES.keys())
def test_user_mistakes_end_in_one_message_without_a_traceback(
    tmp_path: Path, override: str, message: str
) -> None:
    overrides = override.format(tmp=tmp_path).split()
    command = [sys.executable, "-m", "univa.train", f"paths.root_dir={tmp_path}", *overrides]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env["WANDB_CONFIG_DIR"] = str(tmp_path / "wandb_home")  # no stored login
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("univa.train: error: ")
    assert message.format(tmp=tmp_path) in done.stderr


@pytest.mark.slow
def test_generic_data_decides_at_thresholds_tuned_on_validation_by_default(compose_cfg) -> None:
    """At the paper's 0.18 a four-label model predicts nearly every label: the generic flavour's
    test metrics are those at per-label thresholds tuned on validation, also without the
    analysis, and results.json says which thresholds they are."""
    cfg = compose_cfg(
        "dataset.flavor=generic",
        "preset=synthetic_glove",
        "dataset.size=small",
        "analysis.enabled=false",
    )
    train(cfg)
    output_dir = Path(cfg.paths.output_dir)
    results = json.loads((output_dir / "results.json").read_text())
    test = results["test"]
    assert test["thresholds"] == {"mode": "per_label", "values": results["tuned"]["thresholds"]}
    assert test["micro_f1"] >= test["best_constant_micro_f1"] + 5.0, test
    assert results["fixed"]["threshold"] == 0.18
    assert results["fixed"]["test"]["num_samples"] == test["num_samples"]
    assert not (output_dir / "analysis").exists()


@pytest.mark.slow
def test_a_degenerate_run_ends_with_a_warning(compose_cfg, capsys: pytest.CaptureFixture) -> None:
    cfg = compose_cfg(*TINY, "model.threshold=0.01", "analysis.enabled=false")
    train(cfg)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("warning: degenerate test predictions: ")
    assert "is predicted for 100% of utterances" in last
    assert "analysis.threshold_tuning=per_label" in last
    results = json.loads((Path(cfg.paths.output_dir) / "results.json").read_text())
    labels = list(results["test"]["per_label_f1"])
    assert results["test"]["thresholds"] == {"mode": "fixed", "values": dict.fromkeys(labels, 0.01)}
    assert "tuned" not in results and "fixed" not in results


@pytest.mark.slow
def test_untested_run_tunes_and_analyses_on_validation_only(compose_cfg) -> None:
    cfg = compose_cfg(*TINY, "test=false", "analysis.threshold_tuning=per_label")
    train(cfg)
    output_dir = Path(cfg.paths.output_dir)
    results = json.loads((output_dir / "results.json").read_text())
    assert "test" not in results and set(results["tuned"]) == {"mode", "thresholds", "val"}
    assert results["tuned"]["val"]["macro_f1"] >= results["val"]["macro_f1"] - 1e-6
    written = {p.name for p in (output_dir / "analysis").iterdir()}
    assert written == {
        "per_label_f1.png",
        "threshold_sweep.png",
        "feature_projection.png",
        "threshold_sweep_val.csv",
    }


@pytest.mark.slow
def test_a_run_continues_its_folder_only_when_asked_and_lightning_warns_of_nothing(
    compose_cfg,
) -> None:
    """`ckpt_path=last` continues this folder's run from `last.ckpt` and replaces its results
    and analysis; the path reaches Lightning explicitly, so it picks nothing by itself (a fresh
    run into the folder is refused: tests/adversarial/test_run_folder.py)."""
    cfg = compose_cfg(*TINY, "trainer.max_epochs=1")
    output_dir = Path(cfg.paths.output_dir)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train(cfg)
        first = (output_dir / "analysis" / "predictions_test.csv").stat().st_mtime_ns
        with open_dict(cfg):
            cfg.ckpt_path = "last"
            cfg.trainer.max_epochs = 2
        train(cfg)
    assert [str(w.message) for w in caught if "ckpt_path" in str(w.message)] == []
    results = json.loads((output_dir / "results.json").read_text())
    assert Path(results["best_checkpoint"]).parent == output_dir / "checkpoints"
    assert torch.load(output_dir / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 1
    assert (output_dir / "analysis" / "predictions_test.csv").stat().st_mtime_ns > first


@pytest.mark.slow
def test_group_by_dialogue_trains_and_evaluates_on_the_plm_path(compose_cfg, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    overrides = ["dataset.group_by_dialogue=true", "analysis.enabled=false", "text=roberta"]
    cfg = compose_cfg(*TINY, *overrides, "dataset.flavor=m3ed", "trainer.max_epochs=1")
    train(cfg)
    results = json.loads((Path(cfg.paths.output_dir) / "results.json").read_text())
    structure = Path(cfg.dataset.data_dir) / "preprocess_data" / "videos_structure.json"
    num_test = sum(map(len, json.loads(structure.read_text())["test"].values()))
    assert results["test"]["num_samples"] == num_test
