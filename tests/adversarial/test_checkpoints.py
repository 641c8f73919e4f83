"""Hostile and faulty checkpoints given to evaluate, predict, convert_reference and the Python API.

Each case ends in one clear error naming the file (or, for old checkpoints, the missing
overrides), and no code from a file ever runs: checkpoints load with `weights_only=True` even
when TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 asks torch for unsafe loading.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import lightning
import pytest
import torch

from command_line import created_folders, run_in_process
from composing import compose_plain, compose_task
from univa.convert_reference import main as convert_main
from univa.data import MoseiDataModule
from univa.errors import InputError, UniVAError
from univa.evaluate import evaluate
from univa.metrics import emotion_metrics
from univa.predict import predict
from univa.training.data_settings import DATA_SETTINGS_KEY, record
from univa.training.from_checkpoint import load_checkpoint_and_data
from univa.training.lit_module import UniVALitModule

SMALL = {"hidden_size": 16, "num_heads": 2, "ffn_size": 32}
UNSAFE = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"


class RunsCode:
    """Unpickled unsafely, runs a shell command that creates `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    """(a .ckpt whose pickle would create the marker file, the marker)."""
    marker = tmp_path / "code_ran"
    path = tmp_path / "hostile.ckpt"
    torch.save(
        {"state_dict": {}, "hyper_parameters": {"labels": RunsCode(marker)}, "model": {}}, path
    )
    # the file is truly hostile: unsafe loading runs its code
    torch.load(path, weights_only=False)
    assert marker.exists()
    marker.unlink()
    return path, marker


def save_checkpoint(module: UniVALitModule, path: Path, settings: dict | None) -> Path:
    """A checkpoint as Lightning writes it, with `settings` as its data settings (None: none)."""
    checkpoint = {
        "state_dict": module.state_dict(),
        "hyper_parameters": dict(module.hparams),
        "pytorch-lightning_version": lightning.__version__,
    }
    if settings is not None:
        checkpoint[DATA_SETTINGS_KEY] = settings
    torch.save(checkpoint, path)
    return path


def tiny_checkpoint(
    data: Path, path: Path, text_encoder: str = "glove", settings: dict | None = None
) -> Path:
    """An untrained small UniVA for the tiny MOSEI-like `data`, recording the data settings of
    that data (with `settings` replacing some of them)."""
    datamodule = MoseiDataModule(data, text_encoder=text_encoder)
    datamodule.setup()
    layers = {"text": 0 if text_encoder != "glove" else 1, "audio": 1, "vision": 1}
    module = UniVALitModule(**datamodule.data_spec, num_layers=layers, **SMALL)
    return save_checkpoint(module, path, record(datamodule) | (settings or {}))


@pytest.fixture
def mosei_checkpoint(tiny_mosei: Path, tmp_path: Path) -> Path:
    return tiny_checkpoint(tiny_mosei, tmp_path / "mosei.ckpt")


@pytest.mark.parametrize("task", ["evaluate", "predict"])
def test_hostile_checkpoint_runs_no_code_in_evaluate_and_predict(
    hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, task: str
) -> None:
    path, marker = hostile
    monkeypatch.setenv(UNSAFE, "1")
    output = tmp_path / "preds.csv"
    extra = [f"output={output}"] if task == "predict" else []
    cfg = compose_task(task, tmp_path, f"ckpt_path={path}", *extra)
    with pytest.raises(UniVAError, match=r"cannot load .*hostile.ckpt as a univa checkpoint"):
        (evaluate if task == "evaluate" else predict)(cfg)
    assert not marker.exists()
    assert not output.exists() and not (tmp_path / "run" / "results.json").exists()


def test_hostile_checkpoint_runs_no_code_in_the_python_api(
    hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, marker = hostile
    monkeypatch.setenv(UNSAFE, "1")
    with pytest.raises(Exception, match="Weights only load failed"):
        UniVALitModule.load_from_checkpoint(path)
    with pytest.raises(InputError, match="weights_only=True only"):
        UniVALitModule.load_from_checkpoint(path, weights_only=False)
    assert not marker.exists()


def test_hostile_checkpoint_runs_no_code_in_convert_reference(
    hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, marker = hostile
    monkeypatch.setenv(UNSAFE, "1")
    out = tmp_path / "converted.ckpt"
    with pytest.raises(SystemExit) as exit_info:
        convert_main([f"src={path}", f"out={out}"])
    err = str(exit_info.value.code)
    assert err.startswith("univa.convert_reference: error: ") and "hostile.ckpt" in err
    assert "\n" not in err
    assert not marker.exists() and not out.exists()


@pytest.mark.slow
def test_hostile_checkpoint_cli_ends_in_one_line(hostile, tmp_path: Path) -> None:
    path, marker = hostile
    done = subprocess.run(
        [sys.executable, "-m", "univa.evaluate", f"paths.root_dir={tmp_path}", f"ckpt_path={path}"],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {UNSAFE: "1"},
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("univa.evaluate: error: cannot load "), lines
    assert not marker.exists()


def test_truncated_checkpoint_is_refused(mosei_checkpoint: Path, tmp_path: Path) -> None:
    data = mosei_checkpoint.read_bytes()
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(data[: len(data) // 2])
    cfg = compose_task("evaluate", tmp_path, f"ckpt_path={truncated}")
    with pytest.raises(UniVAError, match=r"cannot load .*truncated.ckpt as a univa checkpoint"):
        evaluate(cfg)


@pytest.mark.parametrize(
    "content",
    [b"not a checkpoint", torch.zeros(3), {"state_dict": {}}, {"weights": [1, 2]}],
    ids=["text", "tensor", "no-hyper-parameters", "other-dict"],
)
def test_file_that_is_no_checkpoint_is_refused(content, tmp_path: Path) -> None:
    path = tmp_path / "other.ckpt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    cfg = compose_task("evaluate", tmp_path, f"ckpt_path={path}")
    with pytest.raises(UniVAError, match=r"cannot load .*other.ckpt as a univa checkpoint"):
        evaluate(cfg)


def test_weights_that_do_not_fit_their_options_are_refused(
    mosei_checkpoint: Path, tmp_path: Path
) -> None:
    checkpoint = torch.load(mosei_checkpoint, weights_only=True)
    checkpoint["hyper_parameters"]["hidden_size"] = 32  # the weights are 16 wide
    path = tmp_path / "mismatch.ckpt"
    torch.save(checkpoint, path)
    cfg = compose_task("evaluate", tmp_path, f"ckpt_path={path}")
    with pytest.raises(UniVAError, match=r"cannot load .*mismatch.ckpt .*size mismatch"):
        evaluate(cfg)


def test_checkpoint_of_another_dataset_is_refused(
    mosei_checkpoint: Path, tiny_m3ed: Path, tmp_path: Path
) -> None:
    cfg = compose_task(
        "evaluate",
        tmp_path,
        f"ckpt_path={mosei_checkpoint}",
        "dataset=m3ed",
        f"dataset.data_dir={tiny_m3ed}",
    )
    with pytest.raises(UniVAError, match=r"does not fit .*M3ED: .*labels \['happy'.*'Neutral'\]"):
        evaluate(cfg)


def test_checkpoint_of_another_plm_is_refused(tiny_mosei: Path, tmp_path: Path) -> None:
    trained_plm = str(tiny_mosei / "text_model")
    path = tiny_checkpoint(tiny_mosei, tmp_path / "plm.ckpt", text_encoder=trained_plm)
    other_plm = tmp_path / "other_plm"
    shutil.copytree(trained_plm, other_plm)
    cfg = compose_task("evaluate", tmp_path, f"ckpt_path={path}", f"text.encoder={other_plm}")
    with pytest.raises(
        UniVAError, match=rf"text.encoder={trained_plm}, the data is read for {other_plm}"
    ):
        evaluate(cfg)


def test_old_checkpoint_asks_for_the_dataset_overrides(tiny_mosei: Path, tmp_path: Path) -> None:
    """Written before checkpoints recorded their data: one line asks for the overrides, and
    with them the checkpoint scores that data."""
    path = tiny_checkpoint(tiny_mosei, tmp_path / "old.ckpt")
    checkpoint = torch.load(path, weights_only=True)
    del checkpoint[DATA_SETTINGS_KEY]
    torch.save(checkpoint, path)
    cfg = compose_task("evaluate", tmp_path, f"ckpt_path={path}")
    with pytest.raises(UniVAError, match=r"old.ckpt records no data settings .*dataset=mosei"):
        evaluate(cfg)
    assert not (tmp_path / "data").exists()  # refused before any data was read or generated
    # a loader option does not say which data: it scored the default dataset without a word
    cfg = compose_task("evaluate", tmp_path, f"ckpt_path={path}", "dataset.num_workers=0")
    with pytest.raises(UniVAError, match=r"old.ckpt records no data settings"):
        evaluate(cfg)
    assert not (tmp_path / "data").exists()
    cfg = compose_task(
        "evaluate", tmp_path, f"ckpt_path={path}", "dataset=mosei", f"dataset.data_dir={tiny_mosei}"
    )
    assert evaluate(cfg)["test"]["num_samples"] == 26


@pytest.mark.parametrize(
    "settings",
    [
        {"dataset": "os.system"},
        {"dataset": "../../../etc/passwd"},
        {"data_dir": "${oc.env:HOME}"},
        {"data_dir": ["/a", "/b"]},
    ],
    ids=["code-as-dataset", "path-as-dataset", "interpolation", "not-plain"],
)
def test_hostile_data_settings_are_refused(
    tiny_mosei: Path, tmp_path: Path, settings: dict
) -> None:
    """A checkpoint names a dataset group of univa and plain values, never code or config."""
    path = tiny_checkpoint(tiny_mosei, tmp_path / "settings.ckpt", settings=settings)
    cfg = compose_task("evaluate", tmp_path, f"ckpt_path={path}")
    with pytest.raises(InputError, match=r"settings.ckpt: its data setting"):
        evaluate(cfg)
    assert not (tmp_path / "run").exists()


def tiny_mosei_test_labels(data: Path) -> torch.Tensor:
    datamodule = MoseiDataModule(data)
    datamodule.setup()
    return datamodule.datasets["test"].tensors["labels"]


@pytest.mark.parametrize("compose", [compose_task, compose_plain], ids=["command-line", "python"])
def test_model_threshold_given_to_evaluate_and_predict_is_the_one_used(
    tiny_mosei: Path, tmp_path: Path, capsys: pytest.CaptureFixture, compose
) -> None:
    """`model.threshold=X` on the command line was silently dropped for the checkpoint's own
    (0.18), and predict preferred the run's tuned thresholds to it: the user's wins in both, as
    in a config composed in Python (whose value, not the command line, says it)."""
    checkpoints = tmp_path / "run_a" / "checkpoints"
    checkpoints.mkdir(parents=True)
    path = tiny_checkpoint(tiny_mosei, checkpoints / "best.ckpt")
    tuned = {"mode": "per_label", "thresholds": dict.fromkeys(MoseiDataModule.labels, 0.99)}
    (tmp_path / "run_a" / "results.json").write_text(
        json.dumps({"best_checkpoint": str(path), "tuned": tuned})
    )
    output = tmp_path / "preds.csv"
    given = ["model.threshold=0.01"]
    predict(compose("predict", tmp_path, f"ckpt_path={path}", f"output={output}", *given))
    assert "thresholds: model.threshold=0.01 (fixed, given on the command line)" in (
        capsys.readouterr().out
    )
    with output.open(newline="") as file:
        rows = list(csv.DictReader(file))
    probs = torch.tensor(
        [[float(row[f"prob_{x}"]) for x in MoseiDataModule.labels] for row in rows]
    )
    preds = torch.tensor([[int(row[f"pred_{x}"]) for x in MoseiDataModule.labels] for row in rows])
    assert torch.equal(preds, (probs > 0.01).long())
    results = evaluate(compose("evaluate", tmp_path, f"ckpt_path={path}", *given))
    expected = emotion_metrics(preds, tiny_mosei_test_labels(tiny_mosei))
    assert results["test"]["micro_f1"] == pytest.approx(expected["micro_f1"])
    assert results["test"]["acc"] == pytest.approx(expected["acc"])
    assert results["thresholds"]["values"] == dict.fromkeys(MoseiDataModule.labels, 0.01)


@pytest.mark.parametrize("compose", [compose_task, compose_plain], ids=["command-line", "python"])
def test_a_data_setting_given_wins_over_the_recorded_one(
    tiny_mosei: Path, tmp_path: Path, compose
) -> None:
    """The checkpoint's data folder has moved: `dataset.data_dir=` says where it is now, and the
    recorded dataset, text encoder and VA normalisation still build the data."""
    moved = {"data_dir": str(tmp_path / "gone"), "va_norm": "per_dim"}
    path = tiny_checkpoint(tiny_mosei, tmp_path / "moved.ckpt", settings=moved)
    cfg = compose("evaluate", tmp_path, f"ckpt_path={path}", f"dataset.data_dir={tiny_mosei}")
    _, datamodule = load_checkpoint_and_data(cfg, path)
    assert (datamodule.data_dir, datamodule.va_norm) == (tiny_mosei, "per_dim")
    assert type(datamodule) is MoseiDataModule and datamodule.text_encoder == "glove"


@pytest.mark.parametrize(
    "override", ["model.hidden_size=32", "model.loss_mode=bce", "ablation=no_contrastive"]
)
def test_a_model_option_a_trained_model_cannot_take_is_refused(
    mosei_checkpoint: Path, tmp_path: Path, override: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The network is the checkpoint's: an option that would change nothing is not ignored
    (a check of the command line, as a misspelt key's)."""
    failure = run_in_process(
        monkeypatch, tmp_path, "univa.evaluate", f"ckpt_path={mosei_checkpoint}", override
    )
    key = override.split("=")[0]
    assert failure.returncode == 1
    assert f"{key}: the network and its options come from" in failure.stderr
    assert created_folders(tmp_path) == []


@pytest.mark.parametrize("bad", [float("nan"), 5.0, "0.5", None], ids=["nan", "5", "str", "null"])
def test_damaged_tuned_thresholds_are_refused(tiny_mosei: Path, tmp_path: Path, bad) -> None:
    """A NaN or out-of-range tuned threshold in results.json predicted every label 0 without a
    word (a string was silently parsed); it is refused, naming the file."""
    checkpoints = tmp_path / "run_a" / "checkpoints"
    checkpoints.mkdir(parents=True)
    path = tiny_checkpoint(tiny_mosei, checkpoints / "best.ckpt")
    thresholds = dict.fromkeys(MoseiDataModule.labels, 0.2) | {"sad": bad}
    results = {
        "best_checkpoint": str(path),
        "tuned": {"mode": "per_label", "thresholds": thresholds},
    }
    (tmp_path / "run_a" / "results.json").write_text(json.dumps(results))
    output = tmp_path / "preds.csv"
    cfg = compose_task("predict", tmp_path, f"ckpt_path={path}", f"output={output}")
    with pytest.raises(UniVAError, match=r"results.json: tuned thresholds sad=.* not numbers in"):
        predict(cfg)
    assert not output.exists()


@pytest.mark.parametrize(
    "results",
    [{"tuned": [0.2], "best_checkpoint": "best.ckpt"}, {"tuned": {}, "best_checkpoint": 5}],
    ids=["tuned-list", "best-number"],
)
def test_a_results_file_of_the_wrong_shape_is_refused(
    tiny_mosei: Path, tmp_path: Path, results: dict
) -> None:
    """A results.json whose `tuned` or `best_checkpoint` has the wrong type ended predict in a
    traceback (TypeError, AttributeError); it is refused in one line naming the file."""
    checkpoints = tmp_path / "run_a" / "checkpoints"
    checkpoints.mkdir(parents=True)
    path = tiny_checkpoint(tiny_mosei, checkpoints / "best.ckpt")
    (tmp_path / "run_a" / "results.json").write_text(json.dumps(results))
    output = tmp_path / "preds.csv"
    cfg = compose_task("predict", tmp_path, f"ckpt_path={path}", f"output={output}")
    with pytest.raises(UniVAError, match=r"results.json: its tuned thresholds are damaged"):
        predict(cfg)
    assert not output.exists()


def test_why_a_text_file_does_not_load_leaves_out_torchs_request_for_an_issue(tmp_path) -> None:
    from univa.training.checkpoint_io import load_error_reason

    path = tmp_path / "notes.pth"
    path.write_text("x\n")
    with pytest.raises(Exception) as refused:
        torch.load(path, weights_only=True)
    reason = load_error_reason(refused.value)
    assert "Unsupported operand" in reason and "Please file an issue" not in reason
