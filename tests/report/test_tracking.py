"""Experiment tracking end to end, as a user runs it: W&B (offline), TensorBoard and CSV, the
run's analysis files, threshold tuning, W&B groups under multirun, and the Optuna sweep."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from wandb_offline import OfflineRun, offline_runs

TINY = ["dataset.size=tiny", "dataset.batch_size=8", "trainer.log_every_n_steps=1"]
FIGURES = ("per_label_f1", "threshold_sweep", "feature_projection")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_train(
    root: Path, *overrides: str, multirun: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`python -m univa.train` with outputs under root, W&B offline and its home in root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")} | (env or {})
    env |= {
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_CONFIG_DIR": str(root / "wandb_home"),
        "WANDB_CACHE_DIR": str(root / "wandb_home"),
        "WANDB_DATA_DIR": str(root / "wandb_home"),
        "OMP_NUM_THREADS": "1",
    }
    command = [sys.executable, "-m", "univa.train", *(["-m"] if multirun else [])]
    command += [f"paths.root_dir={root}", *TINY, *overrides]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, OfflineRun, str]:
    """A 2-epoch run with the label prior, CSV, TensorBoard and offline W&B logging its
    checkpoints, thresholds tuned globally:
    (run folder, results.json, the W&B run as recorded, stdout)."""
    root = tmp_path_factory.mktemp("tracked")
    done = run_train(
        root,
        "trainer.max_epochs=2",
        "logger=many_loggers",
        "logger.wandb.log_model=true",
        "model.label_prior=true",
        "analysis.threshold_tuning=global",
    )
    (run_dir,) = (root / "logs" / "train" / "runs").iterdir()
    (wandb_run,) = offline_runs(run_dir / "wandb")
    return run_dir, json.loads((run_dir / "results.json").read_text()), wandb_run, done.stdout


@pytest.mark.slow
def test_wandb_run_holds_config_curves_summary_and_media(tracked) -> None:
    run_dir, results, run, _ = tracked
    assert run.exit_code == 0  # finished
    # the resolved config, whole
    composed = yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())
    assert run.config["model"] == composed["model"]
    assert run.config["dataset"]["batch_size"] == 8 and run.config["seed"] == 1111
    assert run.config["analysis"]["threshold_tuning"] == "global"
    # per step: each loss part and the learning rate
    steps = len(run.column("train/loss_total_step"))
    assert steps >= 4
    for part in ("cls", "prior", "con", "con_text", "con_audio", "con_vision"):
        assert len(run.column(f"train/loss_{part}_step")) == steps, part
    assert len(run.column("lr-AdamW")) == steps
    # per epoch: validation metrics and throughput (2 epochs, then the best checkpoint again)
    assert len(run.column("val/micro_f1")) == 3
    assert len(run.column("train/utterances_per_sec")) == 2
    assert all(v > 0 for v in run.column("train/utterances_per_sec"))
    # the summary holds the test metrics of results.json and the tuned ones
    for key in ("acc", "hl", "micro_f1", "macro_f1"):
        assert run.summary[f"test/{key}"] == pytest.approx(results["test"][key], rel=1e-5)
        assert run.summary[f"tuned_test/{key}"] == pytest.approx(results["tuned"]["test"][key])
    # media: the three figures, the tables, and two native charts (per-label F1, threshold sweep)
    images = {p.name.rsplit("_", 2)[0] for p in run.media("images")}
    assert images == set(FIGURES)
    tables = {p.name.rsplit("_", 2)[0]: p for p in run.media("table")}
    assert set(tables) == {
        "predictions",
        "confusion_counts",
        "per_label_f1_table",
        "threshold_sweep_val_table",
        "threshold_sweep_val_chart_table",  # the data of the interactive line chart
    }
    assert "_wandb/visualize/test/per_label_f1_chart" in run.config
    assert "_wandb/visualize/analysis/threshold_sweep_val_chart" in run.config
    predictions = json.loads(tables["predictions"].read_text())
    assert predictions["columns"][:3] == ["utt_id", "true", "predicted"]
    assert len(predictions["data"]) == results["test"]["num_samples"]
    f1_table = json.loads(tables["per_label_f1_table"].read_text())
    assert {label: f1 for label, f1 in f1_table["data"]} == pytest.approx(
        results["test"]["per_label_f1"]
    )


@pytest.mark.slow
def test_run_folder_holds_figures_tables_and_every_logger(tracked) -> None:
    run_dir, results, _, _ = tracked
    analysis = run_dir / "analysis"
    for name in FIGURES:
        assert (analysis / f"{name}.png").read_bytes().startswith(PNG_MAGIC), name
    labels = list(results["test"]["per_label_f1"])
    predictions = read_csv(analysis / "predictions_test.csv")
    assert len(predictions) == results["test"]["num_samples"]
    assert list(predictions[0]) == ["utt_id", "true", "predicted", *(f"prob_{x}" for x in labels)]
    confusion = read_csv(analysis / "confusion_test.csv")
    assert [row["label"] for row in confusion] == labels
    for row, label in zip(confusion, labels, strict=True):
        counts = {k: int(row[k]) for k in ("tp", "fp", "fn", "tn")}
        assert sum(counts.values()) == len(predictions)
        assert counts["tp"] + counts["fn"] == sum(label in p["true"].split() for p in predictions)
        assert counts["tp"] + counts["fp"] == sum(
            label in p["predicted"].split() for p in predictions
        )
    sweep = read_csv(analysis / "threshold_sweep_val.csv")
    assert len(sweep) == 99 and any(float(row["threshold"]) == 0.18 for row in sweep)
    metrics = read_csv(run_dir / "csv" / "metrics.csv")
    assert any(row.get("train/utterances_per_sec") for row in metrics)
    assert any(row.get("tuned_test/micro_f1") for row in metrics)
    (events,) = [
        p
        for p in (run_dir / "tensorboard").glob("events.out.tfevents.*")
        if b"analysis/feature_projection" in p.read_bytes()
    ]
    assert events.stat().st_size > 0


@pytest.mark.slow
def test_tuned_thresholds_are_reported_beside_the_fixed_ones(tracked) -> None:
    _, results, _, stdout = tracked
    tuned = results["tuned"]
    assert tuned["mode"] == "global"
    assert set(tuned["thresholds"]) == set(results["test"]["per_label_f1"])
    assert len(set(tuned["thresholds"].values())) == 1
    # chosen on validation, where it can only match or beat the fixed threshold
    assert tuned["val"]["micro_f1"] >= results["val"]["micro_f1"] - 1e-6
    assert tuned["test"]["num_samples"] == results["test"]["num_samples"]
    assert "test (global thresholds)" in stdout and "results.json" in stdout
    assert "W&B run" in stdout and "analysis" in stdout


@pytest.mark.slow
def test_multirun_is_one_wandb_group_with_one_finished_run_per_job(tmp_path: Path) -> None:
    run_train(
        tmp_path, "trainer.max_epochs=1", "logger=wandb", "model.temperature=0.4,0.7", multirun=True
    )
    (sweep,) = (tmp_path / "logs" / "train" / "multiruns").iterdir()
    runs = {job: offline_runs(sweep / job) for job in ("0", "1")}
    assert all(len(found) == 1 for found in runs.values())
    first, second = runs["0"][0], runs["1"][0]
    assert first.group == second.group == f"train_{sweep.name}"
    assert first.run_id != second.run_id
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert (
        first.name
        == "0:dataset.batch_size=8,dataset.size=tiny,model.temperature=0.4,trainer.log_every_n_steps=1,trainer.max_epochs=1"
    )
    assert (
        first.config["model"]["temperature"] == 0.4 and second.config["model"]["temperature"] == 0.7
    )
    for job, found in runs.items():  # nothing logged twice: one test result per run
        assert len(found[0].column("test/micro_f1")) == 1, job
        results = json.loads((sweep / job / "results.json").read_text())
        assert found[0].summary["test/micro_f1"] == pytest.approx(results["test"]["micro_f1"])


@pytest.mark.slow
def test_optuna_search_maximises_the_validation_micro_f1(tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    run_train(
        tmp_path, "hparams_search=optuna", "hydra.sweeper.n_trials=3", "trainer.max_epochs=1",
        "analysis.enabled=false",
    )  # fmt: skip
    (sweep,) = (tmp_path / "logs" / "train" / "multiruns").iterdir()
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert [job.name for job in jobs] == ["0", "1", "2"]
    values = [json.loads((job / "results.json").read_text())["val"]["micro_f1"] for job in jobs]
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert best["best_value"] == pytest.approx(max(values))
    assert set(best["best_params"]) == {
        "model.temperature",
        "model.alpha",
        "model.delta",
        "model.lr",
    }
    best_job = jobs[values.index(max(values))]
    overrides = yaml.safe_load((best_job / ".hydra" / "overrides.yaml").read_text())
    assert f"model.temperature={best['best_params']['model.temperature']}" in overrides


@pytest.mark.slow
def test_best_checkpoint_is_a_wandb_model_artifact(tracked) -> None:
    _, results, run, _ = tracked
    models = [a for a in run.artifacts if a["type"] == "model"]
    (best,) = [a for a in models if "best" in a["aliases"]]
    assert best["metadata"]["original_filename"] == Path(results["best_checkpoint"]).name
    assert best["metadata"]["score"] == pytest.approx(results["val"]["micro_f1"], rel=1e-5)


@pytest.mark.slow
def test_wandb_settings_come_from_the_usual_environment_variables(tmp_path: Path) -> None:
    variables = {
        "WANDB_PROJECT": "my_project",
        "WANDB_RUN_GROUP": "my_group",
        "WANDB_NAME": "my_name",
        "WANDB_TAGS": "first,second",
    }
    run_train(
        tmp_path, "trainer.max_epochs=1", "logger=wandb", "analysis.enabled=false", env=variables
    )
    (run,) = offline_runs(tmp_path / "logs")
    assert (run.project, run.group, run.name) == ("my_project", "my_group", "my_name")
    assert run.tags == ["first", "second"]


def test_a_wandb_run_starts_without_the_anonymous_setting_wandb_warns_of(monkeypatch) -> None:
    """Lightning passes `anonymous=None`, which wandb answers with 'The anonymous setting has
    no effect'; univa starts the run without it."""
    import wandb
    from lightning.pytorch.loggers import WandbLogger

    from univa.report.tracking import start_tracking

    class StartedError(Exception):
        pass

    def init(**settings):
        raise StartedError(settings)

    monkeypatch.setattr(wandb, "init", init)
    monkeypatch.setattr(wandb, "run", None)
    with pytest.raises(StartedError) as started:
        start_tracking([WandbLogger(project="p", mode="offline")], OmegaConf.create({}))
    assert "anonymous" not in started.value.args[0]
