"""`univa.evaluate` and `univa.predict` on a checkpoint trained on the tiny synthetic dataset."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf, open_dict

from composing import compose_task
from univa.cli import CONFIG_DIR
from univa.errors import UsageError
from univa.evaluate import evaluate
from univa.metrics import emotion_metrics, metric_summary
from univa.predict import output_path, predict
from univa.train import train

TINY = ["dataset.size=tiny", "dataset.batch_size=8", "trainer.log_every_n_steps=1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Path]:
    """(root of the run, its results.json, its best checkpoint) after one tiny epoch."""
    root = tmp_path_factory.mktemp("trained")
    cfg = compose_task(
        "train", root, *TINY, "trainer.max_epochs=1", "analysis.threshold_tuning=per_label"
    )
    train(cfg)
    results = json.loads((Path(cfg.paths.output_dir) / "results.json").read_text())
    return root, results, Path(results["best_checkpoint"])


@pytest.mark.slow
@pytest.mark.parametrize(("split", "key"), [("test", "test"), ("valid", "val")])
def test_evaluate_reproduces_the_training_run_metrics(
    trained, tmp_path: Path, split: str, key: str
) -> None:
    root, train_results, checkpoint = trained
    cfg = compose_task("evaluate", root, *TINY, f"ckpt_path={checkpoint}", f"split={split}")
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "evaluate")
    results = evaluate(cfg)
    written = json.loads((tmp_path / "evaluate" / "results.json").read_text())
    assert written == results
    assert written["checkpoint"] == str(checkpoint)
    expected = train_results["tuned"][key]  # decided at the thresholds the run tuned, as predict
    assert set(written[split]) == {
        "acc",
        "hl",
        "micro_f1",
        "macro_f1",
        "num_samples",
        "per_label_f1",
    }
    for name in ("acc", "hl", "micro_f1", "macro_f1", "num_samples", "per_label_f1"):
        assert written[split][name] == pytest.approx(expected[name]), name


def read_predictions(
    output: Path, labels: list[str]
) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """utt_ids, probabilities (N, C) and 0/1 predictions (N, C) of a predict CSV."""
    with output.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == [
        "utt_id",
        *(f"prob_{x}" for x in labels),
        *(f"pred_{x}" for x in labels),
    ]
    probs = torch.tensor([[float(row[f"prob_{x}"]) for x in labels] for row in rows])
    preds = torch.tensor([[int(row[f"pred_{x}"]) for x in labels] for row in rows])
    return [row["utt_id"] for row in rows], probs, preds


def trained_data_dir(checkpoint: Path) -> Path:
    """The data folder the checkpoint records."""
    return Path(torch.load(checkpoint, weights_only=True)["univa_data"]["data_dir"])


def tiny_test_labels(data_dir: Path, split: str = "test") -> torch.Tensor:
    from univa.data import SyntheticDataModule

    datamodule = SyntheticDataModule(data_dir, size="tiny")
    datamodule.setup()
    return datamodule.datasets[split].tensors["labels"]


@pytest.mark.slow
@pytest.mark.parametrize("split", ["test", "valid"])
def test_evaluate_scores_the_decisions_predict_writes(trained, tmp_path: Path, split: str) -> None:
    """One answer per model: evaluate decides at the thresholds predict decides at (those the
    run tuned), and says which."""
    root, train_results, checkpoint = trained
    cfg = compose_task("evaluate", root, *TINY, f"ckpt_path={checkpoint}", f"split={split}")
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "evaluate")
    evaluated = evaluate(cfg)
    output = tmp_path / "preds.csv"
    predict(
        compose_task(
            "predict", root, f"ckpt_path={checkpoint}", f"output={output}", f"split={split}"
        )
    )
    labels = list(train_results["test"]["per_label_f1"])
    _, _, preds = read_predictions(output, labels)
    key = "test" if split == "test" else "val"
    recomputed = metric_summary(
        preds, tiny_test_labels(trained_data_dir(checkpoint), split), labels
    )
    for name in ("acc", "hl", "micro_f1", "macro_f1", "num_samples", "per_label_f1"):
        assert evaluated[split][name] == pytest.approx(recomputed[name]), name
        assert evaluated[split][name] == pytest.approx(train_results["tuned"][key][name]), name
    assert evaluated["thresholds"]["values"] == train_results["tuned"]["thresholds"]
    assert evaluated["thresholds"]["source"].startswith("thresholds: per_label thresholds tuned")


@pytest.mark.slow
def test_predict_writes_one_row_per_utterance_at_the_tuned_thresholds(
    trained, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The run tuned per-label thresholds on validation: predict uses them and says so."""
    root, train_results, checkpoint = trained
    output = tmp_path / "out" / "preds.csv"
    cfg = compose_task("predict", root, f"ckpt_path={checkpoint}", f"output={output}")
    assert predict(cfg) == output
    labels = list(train_results["test"]["per_label_f1"])
    utt_ids, probs, preds = read_predictions(output, labels)
    data_dir = trained_data_dir(checkpoint)
    structure = json.loads((data_dir / "preprocess_data/videos_structure.json").read_text())
    assert utt_ids == [utt for dialogue in structure["test"].values() for utt in dialogue]
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(len(utt_ids)), atol=1e-4, rtol=0)
    tuned = train_results["tuned"]
    thresholds = torch.tensor([tuned["thresholds"][x] for x in labels])
    assert torch.equal(preds, (probs > thresholds).long())
    metrics = emotion_metrics(preds, tiny_test_labels(data_dir))
    assert metrics["micro_f1"] == pytest.approx(tuned["test"]["micro_f1"])
    printed = capsys.readouterr().out
    assert (
        f"per_label thresholds tuned on validation, from {root / 'run' / 'results.json'}" in printed
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", ["tuned_thresholds=false", "last.ckpt"])
def test_predict_at_the_fixed_threshold(
    trained, tmp_path: Path, capsys: pytest.CaptureFixture, case: str
) -> None:
    """Asked to (tuned_thresholds=false), or for a checkpoint the thresholds were not tuned
    for (last.ckpt), predict uses model.threshold and says so."""
    root, train_results, checkpoint = trained
    overrides = [case] if case.startswith("tuned") else []
    if case == "last.ckpt":
        checkpoint = checkpoint.parent / "last.ckpt"
    output = tmp_path / "preds.csv"
    cfg = compose_task("predict", root, f"ckpt_path={checkpoint}", f"output={output}", *overrides)
    predict(cfg)
    labels = list(train_results["test"]["per_label_f1"])
    _, probs, preds = read_predictions(output, labels)
    assert torch.equal(preds, (probs > 0.18).long())  # the model's, KL mode, docs/method.md §2.5
    printed = capsys.readouterr().out
    if case == "last.ckpt":  # says that the run's tuned thresholds are another checkpoint's
        assert "thresholds: model.threshold=0.18 (fixed; the thresholds tuned in " in printed
        assert f"are for {Path(train_results['best_checkpoint']).name}" in printed
    else:
        assert "thresholds: model.threshold=0.18 (fixed)" in printed
    if case != "last.ckpt":  # one epoch: last.ckpt holds the same weights as the best
        return
    metrics = emotion_metrics(preds, tiny_test_labels(trained_data_dir(checkpoint)))
    assert metrics["micro_f1"] == pytest.approx(train_results["fixed"]["test"]["micro_f1"])


@pytest.mark.slow
def test_evaluate_scores_the_data_the_checkpoint_was_trained_on(trained, tmp_path: Path) -> None:
    """A copied tiny-data checkpoint, evaluated without repeating the training overrides, scores
    the tiny test split (not the default-size one: 526 utterances)."""
    _, train_results, checkpoint = trained
    copied = tmp_path / "elsewhere" / "model.ckpt"
    copied.parent.mkdir()
    shutil.copy(checkpoint, copied)
    cfg = compose_task("evaluate", tmp_path, f"ckpt_path={copied}")
    results = evaluate(cfg)
    assert results["test"]["num_samples"] == train_results["test"]["num_samples"] == 26
    # copied away from its run's results.json: no tuned thresholds, the fixed one decides
    at_fixed = train_results["fixed"]["test"]["micro_f1"]
    assert results["test"]["micro_f1"] == pytest.approx(at_fixed)
    assert not (tmp_path / "data").exists()  # no default-size dataset generated


def test_evaluate_composes_the_groups_of_train() -> None:
    """evaluate.yaml copies train.yaml's groups (see its header): keep them alike, but for the
    command's own `--help` text and the data a trained model records (`recorded`)."""

    def groups(name: str) -> list:
        defaults = OmegaConf.to_container(OmegaConf.load(Path(CONFIG_DIR) / name).defaults)
        return [
            next(iter(entry)) if isinstance(entry, dict) else entry
            for entry in defaults
            if "override hydra/help" not in entry and entry != "_self_"
        ]

    assert groups("evaluate.yaml") == groups("train.yaml")
    choices = OmegaConf.load(Path(CONFIG_DIR) / "evaluate.yaml").defaults
    assert {"dataset": "recorded"} in choices and {"text": "recorded"} in choices


def test_predict_refuses_to_overwrite(tmp_path: Path) -> None:
    checkpoint = tmp_path / "model.ckpt"
    checkpoint.write_text("never read: the output check comes first")
    output = tmp_path / "preds.csv"
    output.write_text("the user's own file")
    cfg = compose_task("predict", tmp_path, f"ckpt_path={checkpoint}", f"output={output}")
    with pytest.raises(UsageError, match=r"preds.csv already exists; not overwriting it"):
        predict(cfg)
    assert output.read_text() == "the user's own file"


def test_predict_takes_output_without_plus(tmp_path: Path) -> None:
    cfg = compose_task("predict", tmp_path, "ckpt_path=model.ckpt", "output=preds.csv")
    assert output_path(cfg) == Path("preds.csv")


def test_predict_needs_an_output(tmp_path: Path) -> None:
    checkpoint = tmp_path / "model.ckpt"
    checkpoint.write_text("")
    cfg = compose_task("predict", tmp_path, f"ckpt_path={checkpoint}")
    with pytest.raises(UsageError, match=r"^output=<file.csv> is required"):
        predict(cfg)


@pytest.mark.parametrize("task", [evaluate, predict])
@pytest.mark.parametrize(
    ("ckpt", "message"),
    [(None, "ckpt_path is required"), ("nowhere.ckpt", "ckpt_path=.*nowhere.ckpt is not a file")],
)
def test_checkpoint_must_be_given_and_exist(task, ckpt, message: str, tmp_path: Path) -> None:
    overrides = [] if ckpt is None else [f"ckpt_path={tmp_path / ckpt}"]
    if task is predict:
        overrides.append("output=preds.csv")
    cfg = compose_task(task.__name__, tmp_path, *overrides)
    with pytest.raises(UsageError, match=message):
        task(cfg)


@pytest.mark.slow
def test_checkpoint_of_another_dataset_is_refused(trained, tmp_path: Path) -> None:
    root, _, checkpoint = trained
    # the override wins over the checkpoint's flavor; its tiny size still applies
    cfg = compose_task("evaluate", root, "dataset.flavor=m3ed", f"ckpt_path={checkpoint}")
    with pytest.raises(UsageError, match=r"does not fit .*labels \['happy'.*'Neutral'\]"):
        evaluate(cfg)


def test_not_a_checkpoint_is_refused(tiny_mosei: Path, tmp_path: Path) -> None:
    checkpoint = tmp_path / "notes.ckpt"
    checkpoint.write_text("not a checkpoint")
    cfg = compose_task(
        "evaluate",
        tmp_path,
        "dataset=mosei",
        f"dataset.data_dir={tiny_mosei}",
        f"ckpt_path={checkpoint}",
    )
    with pytest.raises(UsageError, match=r"cannot load .*notes.ckpt as a univa checkpoint"):
        evaluate(cfg)


def test_unknown_split_is_named(tmp_path: Path) -> None:
    checkpoint = tmp_path / "model.ckpt"
    checkpoint.write_text("")
    cfg = compose_task("evaluate", tmp_path, f"ckpt_path={checkpoint}", "split=train")
    with pytest.raises(UsageError, match="split=train is not one of valid, test"):
        evaluate(cfg)


@pytest.mark.slow
def test_cli_reports_a_missing_checkpoint_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "univa.evaluate", f"paths.root_dir={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert "univa.evaluate: error: ckpt_path is required" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_predict_cli_writes_the_csv(trained, tmp_path: Path) -> None:
    root, _, checkpoint = trained
    output = tmp_path / "valid.csv"
    command = [
        sys.executable,
        "-m",
        "univa.predict",
        f"paths.root_dir={root}",
        *TINY,
        f"ckpt_path={checkpoint}",
        f"output={output}",
        "split=valid",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(output.read_text().splitlines()) == 1 + 19  # header + the tiny valid split


@pytest.mark.slow
def test_the_runs_own_test_predictions_equal_predict(trained, tmp_path: Path) -> None:
    """`<run>/analysis/predictions_test.csv`, written at the end of training, and `predict` on
    the best checkpoint agree row by row."""
    root, results, checkpoint = trained
    output = tmp_path / "preds.csv"
    predict(compose_task("predict", root, *TINY, f"ckpt_path={checkpoint}", f"output={output}"))
    with output.open(newline="") as file:
        predicted = list(csv.DictReader(file))
    with (root / "run" / "analysis" / "predictions_test.csv").open(newline="") as file:
        analysed = list(csv.DictReader(file))
    labels = list(results["test"]["per_label_f1"])
    assert [row["utt_id"] for row in analysed] == [row["utt_id"] for row in predicted]
    for mine, theirs in zip(analysed, predicted, strict=True):
        for label in labels:
            assert float(mine[f"prob_{label}"]) == pytest.approx(
                float(theirs[f"prob_{label}"]), abs=2e-6
            )
        on = {label for label in labels if theirs[f"pred_{label}"] == "1"}
        assert set(mine["predicted"].split()) == on
