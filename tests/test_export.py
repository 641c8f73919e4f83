"""`univa.export` and `univa.load_pretrained` (issue 15): a checkpoint as a folder of safetensors,
JSON and a model card that predicts exactly as the checkpoint, offline, for GloVe and PLM models."""

from __future__ import annotations

import json
import re
import shutil
import socket
from pathlib import Path

import pytest
import torch

import univa
from composing import compose_task
from pretrained_folders import LABELS, write_folder
from test_evaluate_predict import read_predictions
from univa.constants import METRIC_FORMATS, format_metric
from univa.errors import UsageError
from univa.evaluate import evaluate
from univa.export import export, main, push_to_hub, run_record
from univa.model.pretrained import CONFIG_FILE, TEXT_ENCODER_DIR, WEIGHTS_FILE
from univa.predict import predict
from univa.report.model_card import model_card
from univa.train import train

TINY = ["dataset.size=tiny", "dataset.batch_size=8", "trainer.max_epochs=1"]
TEXT = {"glove": [], "plm": ["text=roberta"]}
# what an exported folder may hold: weights, JSON, the model card, tokenizer text files
ALLOWED_SUFFIXES = {".safetensors", ".json", ".md", ".txt"}


@pytest.fixture(scope="module", params=list(TEXT))
def exported(request, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Path, Path]:
    """(root, results.json, best checkpoint, exported folder) of a one-epoch tiny run that
    tuned per-label thresholds, for GloVe and for the tiny PLM."""
    root = tmp_path_factory.mktemp(f"trained-{request.param}")
    cfg = compose_task(
        "train", root, *TINY, *TEXT[request.param], "analysis.threshold_tuning=per_label"
    )
    train(cfg)
    results = json.loads((Path(cfg.paths.output_dir) / "results.json").read_text())
    checkpoint = Path(results["best_checkpoint"])
    return root, results, checkpoint, export(checkpoint, root / "exported")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """HF_HUB_OFFLINE=1, and any connection attempt fails the test."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.slow
def test_pretrained_predicts_as_the_checkpoint_offline(
    exported, tmp_path: Path, no_network, capsys: pytest.CaptureFixture
) -> None:
    """`predict pretrained=DIR`, no dataset overrides, equals `predict ckpt_path=...`: same
    labels, probabilities within 1e-5, at the tuned thresholds; on the PLM path with the source
    text model moved away, so the folder's own text_encoder/ is all that is read."""
    root, results, checkpoint, folder = exported
    from_checkpoint = tmp_path / "checkpoint.csv"
    predict(compose_task("predict", root, f"ckpt_path={checkpoint}", f"output={from_checkpoint}"))
    source = Path(torch.load(checkpoint, weights_only=True)["univa_data"]["text_encoder"])
    moved = tmp_path / "moved"
    if source.is_dir():  # the PLM path: the tiny text model generated beside the data
        shutil.move(source, moved)
    try:
        from_folder = tmp_path / "pretrained.csv"
        capsys.readouterr()
        predict(compose_task("predict", root, f"pretrained={folder}", f"output={from_folder}"))
    finally:
        if moved.exists():
            shutil.move(moved, source)
    assert f"per_label thresholds tuned on validation, from {folder / CONFIG_FILE}" in (
        capsys.readouterr().out
    )
    labels = results["tuned"]["thresholds"]
    ids_a, probs_a, preds_a = read_predictions(from_checkpoint, list(labels))
    ids_b, probs_b, preds_b = read_predictions(from_folder, list(labels))
    assert ids_a == ids_b
    assert torch.equal(preds_a, preds_b)
    torch.testing.assert_close(probs_a, probs_b, atol=1e-5, rtol=0)
    thresholds = torch.tensor(list(labels.values()))
    assert torch.equal(preds_b, (probs_b > thresholds).long())  # the tuned ones, not 0.18


@pytest.mark.slow
def test_the_folder_holds_no_pickle_and_at_most_half_the_checkpoint(exported) -> None:
    _, _, checkpoint, folder = exported
    files = [path for path in folder.rglob("*") if path.is_file()]
    names = {path.relative_to(folder).as_posix() for path in files}
    assert {WEIGHTS_FILE, CONFIG_FILE, "README.md"} <= names
    assert {path.suffix for path in files} <= ALLOWED_SUFFIXES, names
    for path in files:  # neither a pickle (protocol 2+ starts with 0x80) nor a torch zip
        assert path.read_bytes()[:2] not in (b"\x80\x02", b"\x80\x04", b"\x80\x05", b"PK"), path
    plm = (folder / TEXT_ENCODER_DIR).is_dir()
    assert plm == json.loads((folder / CONFIG_FILE).read_text())["network"][
        "text_encoder"
    ].endswith("text_model")
    size = sum(path.stat().st_size for path in files)
    assert size <= checkpoint.stat().st_size / 2, (size, checkpoint.stat().st_size)


@pytest.mark.slow
def test_model_card_metrics_equal_the_runs_results(exported) -> None:
    _, results, _, folder = exported
    card = (folder / "README.md").read_text()
    header = "| " + " | ".join(name for name, _ in METRIC_FORMATS.values()) + " |"
    row = card.splitlines()[card.splitlines().index(header) + 2]
    test = results["test"]
    assert row == "| " + " | ".join(format_metric(k, test[k]) for k in METRIC_FORMATS) + " |"
    for label, f1 in test["per_label_f1"].items():
        assert f"| {label} | {f1:.2f} |" in card
    assert "Zheng" in card and "ACM" in card and "univa.load_pretrained" in card


def test_the_card_names_the_runs_preset_and_overrides(tmp_path: Path) -> None:
    """From the Hydra record of the checkpoint's run folder, as `python -m univa.train` left it."""
    record = tmp_path / "run" / ".hydra"
    record.mkdir(parents=True)
    (record / "overrides.yaml").write_text("- dataset=mosei\n- seed=3\n")
    (record / "hydra.yaml").write_text(
        "hydra:\n  runtime:\n    choices:\n      preset: mosei_glove\n"
    )
    run, results = run_record(tmp_path / "run" / "checkpoints" / "best.ckpt")
    assert run == {
        "checkpoint": "best.ckpt",
        "overrides": ["dataset=mosei", "seed=3"],
        "preset": "mosei_glove",
    }
    assert results is None  # no results.json there


def test_the_card_shows_no_metrics_of_another_checkpoint_and_no_invented_overrides() -> None:
    network = {"labels": ["joy"], "modalities": ["audio"], "input_dims": {"audio": 4}}
    config = {"network": {**network, "text_encoder": "glove"}, "thresholds": {"fixed": 0.2}}
    results = {"best_checkpoint": "/run/checkpoints/epoch003.ckpt", "test": {"acc": 50.0}}
    card = model_card(config, {"checkpoint": "last.ckpt"}, results)
    assert "None recorded for last.ckpt" in card and "| Acc |" not in card
    assert "- preset and overrides: not recorded" in card


@pytest.mark.slow
def test_load_pretrained_is_a_ready_network_in_eval_mode(exported) -> None:
    _, results, checkpoint, folder = exported
    model = univa.load_pretrained(folder)
    assert isinstance(model, univa.TrainedModel) and not model.network.training
    assert model.labels == list(results["test"]["per_label_f1"])
    assert model.thresholds.values == results["tuned"]["thresholds"]
    assert "per_label thresholds tuned on validation" in model.thresholds.source
    recorded = torch.load(checkpoint, weights_only=True)["univa_data"]
    assert model.data_settings == {k: v for k, v in recorded.items() if k != "data_dir"} | {
        "text_encoder": Path(recorded["text_encoder"]).name  # the tiny PLM's folder name
    }
    stored = torch.load(checkpoint, weights_only=True)["state_dict"]
    for name, tensor in model.network.state_dict().items():
        assert torch.equal(tensor, stored[f"model.{name}"]), name


@pytest.mark.slow
def test_evaluate_pretrained_scores_as_the_checkpoint(exported, tmp_path: Path) -> None:
    root, results, _, folder = exported
    cfg = compose_task("evaluate", root, f"pretrained={folder}")
    scored = evaluate(cfg)
    assert scored["pretrained"] == str(folder)
    for key in (*METRIC_FORMATS, "num_samples", "per_label_f1"):
        assert scored["test"][key] == pytest.approx(results["test"][key]), key


def test_ckpt_path_and_pretrained_are_exclusive(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "exported")
    cfg = compose_task("evaluate", tmp_path, "ckpt_path=model.ckpt", f"pretrained={folder}")
    with pytest.raises(UsageError, match=r"give one of the two"):
        evaluate(cfg)


def test_a_hub_id_is_fetched_through_snapshot_download(tmp_path: Path, monkeypatch) -> None:
    """Nothing reaches the network: the download is a local folder standing in for it."""
    import huggingface_hub

    folder = write_folder(tmp_path / "download")
    asked = []

    def snapshot_download(repo_id: str, **kwargs) -> str:
        asked.append(repo_id)
        return str(folder)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    model = univa.load_pretrained("someone/univa-tiny")
    assert asked == ["someone/univa-tiny"]
    assert model.labels == LABELS and not model.network.training
    assert model.thresholds.values == dict.fromkeys(LABELS, 0.18)


def test_push_to_hub_uploads_the_folder(tmp_path: Path, monkeypatch) -> None:
    import huggingface_hub

    folder = write_folder(tmp_path / "exported")
    calls = []

    class FakeApi:
        def create_repo(self, repo_id: str, **kwargs) -> None:
            calls.append(("create_repo", repo_id, kwargs))

        def upload_folder(self, **kwargs):
            calls.append(("upload_folder", kwargs["repo_id"], kwargs["folder_path"]))
            return type("Commit", (), {"commit_url": "https://hub/commit/1"})()

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    assert push_to_hub(folder, "org/univa-tiny") == "https://hub/commit/1"
    assert calls == [
        ("create_repo", "org/univa-tiny", {"exist_ok": True}),
        ("upload_folder", "org/univa-tiny", folder),
    ]


def test_export_needs_its_two_settings(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["out=somewhere"])
    assert re.fullmatch(
        r"univa\.export: error: ckpt_path is required \(ckpt_path=.*\)", str(stop.value)
    )
    assert not Path("somewhere").exists()
