"""Hostile or damaged exported folders and exports (issue 15): each ends in one clear line, runs
no code from the folder, and creates nothing."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

import univa
from composing import compose_task
from pretrained_folders import tiny_network, write_folder
from univa.errors import InputError, InputFileNotFoundError, UniVAError
from univa.export import main as export_main
from univa.model.pretrained import CONFIG_FILE, FORMAT_VERSION, WEIGHTS_FILE
from univa.predict import predict


def refused(source: Path | str, match: str) -> UniVAError:
    """load_pretrained(source) fails with a one-line univa error matching `match`."""
    with pytest.raises(UniVAError, match=match) as caught:
        univa.load_pretrained(source)
    assert "\n" not in str(caught.value)
    return caught.value


def edit_config(folder: Path, **changes) -> None:
    config = json.loads((folder / CONFIG_FILE).read_text())
    config.update(changes)
    (folder / CONFIG_FILE).write_text(json.dumps(config))


def test_weights_of_another_network_are_refused_and_predict_writes_nothing(
    tmp_path: Path,
) -> None:
    folder = write_folder(tmp_path / "model")
    other = write_folder(tmp_path / "wider", tiny_network(hidden_size=16))
    (folder / WEIGHTS_FILE).write_bytes((other / WEIGHTS_FILE).read_bytes())
    refused(folder, r"model.safetensors does not fit the network of its config.json: shapes ")
    output = tmp_path / "preds.csv"
    cfg = compose_task("predict", tmp_path, f"pretrained={folder}", f"output={output}")
    with pytest.raises(InputError, match="does not fit"):
        predict(cfg)
    assert not output.exists()


@pytest.mark.parametrize("damage", ["missing", "unexpected"])
def test_a_tensor_missing_or_foreign_is_named(tmp_path: Path, damage: str) -> None:
    folder = write_folder(tmp_path / "model")
    tensors = load_file(folder / WEIGHTS_FILE)
    name = "classifier.0.weight"
    if damage == "missing":
        del tensors[name]
    else:
        tensors["backdoor.weight"] = tensors[name].clone()
    save_file(tensors, folder / WEIGHTS_FILE)
    named = name if damage == "missing" else "backdoor.weight"
    refused(folder, rf"does not fit the network of its config.json: {damage} {named}")


def test_a_newer_format_is_refused(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "model")
    edit_config(folder, format_version=FORMAT_VERSION + 1)
    refused(folder, rf"format_version {FORMAT_VERSION + 1} is newer than this univa reads")


def test_a_folder_of_another_library_is_refused(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "model")
    edit_config(folder, format="transformers")
    refused(folder, r"not a univa model")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"hidden_size": "wide"}, r"key 'network.hidden_size' must be a positive integer"),
        ({"labels": None}, r"key 'network.labels' must be a list, got None"),
        ({"exec": "import os"}, r"key 'network.exec' is unknown"),
    ],
)
def test_hostile_network_options_are_refused(tmp_path: Path, change: dict, match: str) -> None:
    folder = write_folder(tmp_path / "model")
    network = json.loads((folder / CONFIG_FILE).read_text())["network"]
    edit_config(folder, network={**network, **change})
    refused(folder, match)


def test_tuned_thresholds_out_of_range_are_refused(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "model")
    tuned = {"happy": 0.2, "sad": 7.0, "anger": 0.1}
    edit_config(folder, thresholds={"fixed": 0.18, "tuned": tuned, "mode": "per_label"})
    refused(folder, r"config.json: key 'thresholds.tuned.sad' must lie in \[0, 1\], got 7.0")


class _Payload:
    """Unpickling this would create `marker`: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickle_posing_as_the_weights_runs_nothing(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "model")
    marker = tmp_path / "code-ran"
    (folder / WEIGHTS_FILE).write_bytes(pickle.dumps({"weights": _Payload(marker)}))
    refused(folder, r"cannot read .*model.safetensors")
    assert not marker.exists()


def test_an_unreachable_hub_id_is_one_line(tmp_path: Path, monkeypatch) -> None:
    import huggingface_hub

    def offline(repo_id: str, **kwargs):
        raise OSError("We have no connection\nand this is line two")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    error = refused("someone/absent", r"someone/absent: no such local folder, and the hub")
    assert isinstance(error, InputFileNotFoundError)


def test_export_never_writes_into_a_folder_holding_files(tmp_path: Path) -> None:
    """Refused before the checkpoint is even read (here it is not one)."""
    checkpoint = tmp_path / "model.ckpt"
    checkpoint.write_text("never read")
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the user's")
    with pytest.raises(SystemExit) as stop:
        export_main([f"ckpt_path={checkpoint}", f"out={out}"])
    assert str(stop.value).startswith("univa.export: error: out=")
    assert "not an empty folder" in str(stop.value) and "\n" not in str(stop.value)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "the user's"


def test_export_refuses_a_malformed_hub_repository_before_writing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as stop:
        export_main([f"ckpt_path={tmp_path / 'x.ckpt'}", f"out={out}", "push_to_hub=no spaces/ok"])
    assert str(stop.value) == (
        "univa.export: error: push_to_hub=no spaces/ok: expected a hub repository ORG/NAME"
    )
    assert not out.exists()


@pytest.mark.slow
def test_predict_on_a_newer_folder_fails_in_one_line(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "model")
    edit_config(folder, format_version=FORMAT_VERSION + 1)
    output = tmp_path / "preds.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "univa.predict",
            f"paths.root_dir={tmp_path / 'root'}",
            f"pretrained={folder}",
            f"output={output}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert (
        lines[-1].startswith("univa.predict: error: ") and "is newer than this univa" in lines[-1]
    )
    assert "Traceback" not in done.stderr
    assert not output.exists()
    assert [p for p in (tmp_path / "root").rglob("*") if p.is_file()] == []  # no run folder left
