"""A tampered exported `config.json` and data settings that name paths (issue 20, items 4, 7
and 8): every key and value is checked before any tensor is built, in one line naming the file
and the key; a data folder read from a model never decides where a dataset is generated; and
`paths.data_dir` moves only the datasets whose default folder is derived from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import univa
from composing import compose_task
from pretrained_folders import write_folder
from univa.data import FolderDataModule
from univa.data.synthetic.generator import write_synthetic_dataset
from univa.errors import InputError
from univa.model.folder_schema import check_folder_config
from univa.model.pretrained import CONFIG_FILE
from univa.predict import predict
from univa.training.data_settings import record
from univa.training.from_checkpoint import load_checkpoint_and_data
from univa.training.lit_module import UniVALitModule

from .test_checkpoints import SMALL, save_checkpoint, tiny_checkpoint

SETTINGS = {"dataset": "folder", "name": "mine", "text_encoder": "glove", "va_norm": "reference"}
TRAINING = {"temperature": 0.6, "alpha": 0.4, "lr": 7e-5}


def tampered(folder: Path, section: str | None, **changes) -> None:
    """Replace `changes` in the `section` of the folder's config.json (top level: None)."""
    config = json.loads((folder / CONFIG_FILE).read_text())
    (config[section] if section else config).update(changes)
    (folder / CONFIG_FILE).write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("section", "change", "key", "why"),
    [
        ("network", {"num_heads": 0}, "network.num_heads", "must be a positive integer, got 0"),
        (None, {"thresholds": [0.5]}, "thresholds", "must be an object"),
        ("training", {"temperature": "hot"}, "training.temperature", "must be a finite number"),
        (
            "training",
            {"temperature": -1.0},
            "training",
            "is refused: model.temperature must be > 0",
        ),
        ("training", {"warmup": 0.1}, "training.warmup", "is unknown"),
        ("network", {"threshold": float("nan")}, "network.threshold", "must be a finite number"),
        (
            "network",
            {"threshold": 1.5},
            "network",
            r"is refused: model.threshold must lie in \(0, 1\)",
        ),
        ("network", {"hidden_dropout": 5}, "network", r"is refused: model.hidden_dropout"),
        ("network", {"labels": []}, "network", "is refused: model.labels must be distinct"),
        ("network", {"hidden_size": "wide"}, "network.hidden_size", "must be a positive integer"),
        ("network", {"exec": "import os"}, "network.exec", "is unknown"),
        ("thresholds", {"fixed": 0.5}, "thresholds.fixed", r"must be network.threshold"),
        (None, {"notes": "hi"}, "notes", "is unknown"),
        ("data_settings", {"shell": "rm"}, "data_settings.shell", "is unknown"),
        ("data_settings", {"dataset": "os.system"}, "data_settings.dataset", "must be one of"),
        (
            "data_settings",
            {"modalities": ["smell"]},
            r"data_settings.modalities\[0\]",
            "must be one of",
        ),
        ("features", {"text": {"width": -6}}, "features.text.width", "must be a positive integer"),
    ],
)
def test_a_tampered_config_is_one_line_naming_the_key(
    tmp_path: Path, section: str | None, change: dict, key: str, why: str
) -> None:
    folder = write_folder(
        tmp_path / "model",
        data_settings=dict(SETTINGS),
        training=dict(TRAINING),
        features={"text": {"width": 6, "max_len": 7}},
    )
    univa.load_pretrained(folder)  # as written, it loads
    tampered(folder, section, **change)
    with pytest.raises(InputError, match=rf"model/{CONFIG_FILE}: key '{key}' {why}") as caught:
        univa.load_pretrained(folder)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("tuned", [{"happy": 0.2, "sad": 1.5, "anger": 0.1}, {"happy": 0.2}])
def test_tampered_tuned_thresholds_are_refused_before_predicting(
    tmp_path: Path, tuned: dict
) -> None:
    folder = write_folder(tmp_path / "model")
    tampered(folder, "thresholds", tuned=tuned, mode="per_label")
    output = tmp_path / "preds.csv"
    cfg = compose_task("predict", tmp_path, f"pretrained={folder}", f"output={output}")
    with pytest.raises(InputError, match=rf"model/{CONFIG_FILE}: key 'thresholds.tuned"):
        predict(cfg)
    assert not output.exists()


def test_a_folder_naming_a_data_folder_generates_nothing_there(tmp_path: Path) -> None:
    """Exported folders record no data folder: one that does is refused, before the synthetic
    dataset its settings name is generated into (or crashes on) that folder."""
    victim = tmp_path / "theirs"
    victim.mkdir()
    (victim / "final_multi_labels.csv").write_text("the user's\n")
    settings = {"dataset": "synthetic", "flavor": "mosei", "size": "tiny", "seed": 1111}
    folder = write_folder(tmp_path / "model", data_settings={**settings, "data_dir": str(victim)})
    cfg = compose_task(
        "predict", tmp_path, f"pretrained={folder}", "split=test", f"output={tmp_path / 'p.csv'}"
    )
    with pytest.raises(InputError, match=r"key 'data_settings.data_dir' is unknown"):
        predict(cfg)
    assert [p.name for p in victim.iterdir()] == ["final_multi_labels.csv"]
    assert not (tmp_path / "data").exists()


def test_a_checkpoint_naming_a_foreign_folder_generates_under_the_users_data_dir(
    tiny_mosei: Path, tmp_path: Path
) -> None:
    """A synthetic dataset is read from the folder a checkpoint records only when it is there;
    else it is generated under the user's paths.data_dir, never into the recorded folder."""
    victim = tmp_path / "theirs"
    victim.mkdir()
    (victim / "final_multi_labels.csv").write_text("the user's\n")
    synthetic = {"dataset": "synthetic", "flavor": "mosei", "size": "tiny", "seed": 1111}
    path = tiny_checkpoint(
        tiny_mosei, tmp_path / "m.ckpt", settings={**synthetic, "data_dir": str(victim)}
    )
    cfg = compose_task("evaluate", tmp_path, f"ckpt_path={path}")
    _, data = load_checkpoint_and_data(cfg, path)
    assert data.data_dir == tmp_path / "data" / "synthetic" / "mosei-tiny-seed1111"
    assert [p.name for p in victim.iterdir()] == ["final_multi_labels.csv"]


@pytest.fixture(scope="module")
def folder_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a tiny generic dataset, an untrained checkpoint of dataset=folder recording it)."""
    root = tmp_path_factory.mktemp("folder_data")
    data = write_synthetic_dataset(root / "gen", flavor="generic", size="tiny")
    datamodule = FolderDataModule(data)
    datamodule.setup()
    layers = dict.fromkeys(datamodule.data_spec["input_dims"], 1)
    module = UniVALitModule(**datamodule.data_spec, num_layers=layers, **SMALL)
    return data, save_checkpoint(module, root / "folder.ckpt", record(datamodule))


def test_paths_data_dir_leaves_a_folder_datasets_recorded_folder(
    folder_checkpoint: tuple[Path, Path], tmp_path: Path
) -> None:
    data, path = folder_checkpoint
    cfg = compose_task("evaluate", tmp_path, f"ckpt_path={path}", "paths.data_dir=data")
    _, datamodule = load_checkpoint_and_data(cfg, path)
    assert datamodule.data_dir == data.resolve()


def test_paths_data_dir_does_not_stand_for_an_exported_folders_data(tmp_path: Path) -> None:
    """An exported folder records no data folder: paths.data_dir=data still asks for one."""
    folder = write_folder(tmp_path / "model", data_settings=dict(SETTINGS))
    cfg = compose_task("evaluate", tmp_path, f"pretrained={folder}", "paths.data_dir=data")
    with pytest.raises(InputError, match=r"records no data folder .*: give dataset.data_dir=DIR"):
        load_checkpoint_and_data(cfg, folder)


def test_no_layers_over_a_modality_is_a_valid_config(tmp_path: Path) -> None:
    """The PLM presets build no layers over the text a PLM reads: `num_layers.text` 0 is theirs,
    while a negative count is refused."""
    folder = write_folder(tmp_path / "model", data_settings=dict(SETTINGS))
    config = json.loads((folder / CONFIG_FILE).read_text())
    check_folder_config(
        config
        | {"network": {**config["network"], "num_layers": {"text": 0, "audio": 1, "vision": 1}}},
        folder / CONFIG_FILE,
    )
    with pytest.raises(InputError, match=r"'network.num_layers.text' must be an integer >= 0"):
        check_folder_config(
            config
            | {
                "network": {
                    **config["network"],
                    "num_layers": {"text": -1, "audio": 1, "vision": 1},
                }
            },
            folder / CONFIG_FILE,
        )
