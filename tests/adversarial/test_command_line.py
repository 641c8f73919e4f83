"""Hostile or faulty command lines: each ends in one line, and a failed command removes only
a run folder that holds nothing but what Hydra wrote; anything else is left as it was."""

from __future__ import annotations

import os
from pathlib import Path

from lightning.fabric.accelerators import CUDAAccelerator

from command_line import created_folders, run_in_process


def one_line(failure, program: str = "univa.train") -> str:
    assert failure.returncode != 0 and len(failure.lines) == 1, failure.stderr
    assert failure.lines[0].startswith(f"{program}: error: ")
    return failure.lines[0]


def test_a_user_file_in_the_run_folder_keeps_the_folder(monkeypatch, tmp_path: Path) -> None:
    run = tmp_path / "my_run"
    run.mkdir()
    (run / "notes.txt").write_text("keep me")
    failure = run_in_process(
        monkeypatch, tmp_path, "univa.train", f"hydra.run.dir={run}", "model.temperature=abc"
    )
    one_line(failure)
    assert (run / "notes.txt").read_text() == "keep me"


def test_a_folder_holding_checkpoints_is_never_removed(monkeypatch, tmp_path: Path) -> None:
    run = tmp_path / "logs" / "train" / "runs" / "previous"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.ckpt").write_bytes(b"weights")
    # continuing the run passes the run-folder guard; the mistake is found inside the task
    failure = run_in_process(
        monkeypatch,
        tmp_path,
        "univa.train",
        f"hydra.run.dir={run}",
        "ckpt_path=last",
        "trainer.max_epochs=x",
    )
    assert "trainer.max_epochs=x" in one_line(failure)
    assert (run / "checkpoints" / "last.ckpt").read_bytes() == b"weights"
    assert (run / ".hydra").is_dir()  # the folder is left exactly as Hydra and the user made it


def test_a_symlink_in_the_run_folder_is_not_followed(monkeypatch, tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data.bin").write_bytes(b"data")
    run = tmp_path / "run"
    run.mkdir()
    (run / "train.log").symlink_to(precious / "data.bin")
    failure = run_in_process(
        monkeypatch, tmp_path, "univa.train", f"hydra.run.dir={run}", "model.temperature=abc"
    )
    one_line(failure)
    assert (precious / "data.bin").read_bytes() == b"data"
    assert (run / "train.log").is_symlink()


def test_a_run_folder_outside_log_dir_leaves_its_parent(monkeypatch, tmp_path: Path) -> None:
    parent = tmp_path / "empty_parent"
    parent.mkdir()
    failure = run_in_process(
        monkeypatch, tmp_path, "univa.train", f"hydra.run.dir={parent}/run", "seed=x"
    )
    assert "seed=x: expected an integer" in one_line(failure)
    assert parent.is_dir() and not (parent / "run").exists()


def test_a_multirun_of_bad_values_leaves_no_sweep_folder(monkeypatch, tmp_path: Path) -> None:
    failure = run_in_process(
        monkeypatch, tmp_path, "univa.train", "-m", "model.temperature=abc,xyz"
    )
    assert "model.temperature=abc" in one_line(failure)
    assert created_folders(tmp_path) == []


def test_a_misspelt_key_in_a_sweep_is_one_line(monkeypatch, tmp_path: Path) -> None:
    failure = run_in_process(monkeypatch, tmp_path, "univa.train", "-m", "model.temprature=0.1,0.2")
    assert "did you mean model.temperature?" in one_line(failure)
    assert created_folders(tmp_path) == []


def test_a_path_as_group_option_reads_nothing(monkeypatch, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("_target_: os.system\n")
    line = one_line(run_in_process(monkeypatch, tmp_path, "univa.train", "dataset=../../outside"))
    assert "no such option" in line and "m3ed, mosei, recorded, synthetic" in line
    assert created_folders(tmp_path) == []


def test_a_newline_in_an_override_cannot_forge_a_second_line(monkeypatch, tmp_path) -> None:
    failure = run_in_process(
        monkeypatch, tmp_path, "univa.train", "seed=[1\nuniva.train: error: forged"
    )
    assert "\n" not in one_line(failure)


def test_a_missing_environment_variable_names_the_key(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("UNIVA_NO_SUCH_VARIABLE", raising=False)
    failure = run_in_process(
        monkeypatch, tmp_path, "univa.train", "paths.data_dir=${oc.env:UNIVA_NO_SUCH_VARIABLE}"
    )
    assert one_line(failure).startswith("univa.train: error: paths.data_dir")
    assert created_folders(tmp_path) == []


def test_a_sweep_asked_for_its_config_is_one_line(monkeypatch, tmp_path: Path) -> None:
    failure = run_in_process(
        monkeypatch, tmp_path, "univa.train", "--cfg", "hydra", "-m", "seed=1,2"
    )
    assert one_line(failure).startswith("univa.train: error: Only one of --run, --multirun")
    assert "without -m" in one_line(failure)
    assert created_folders(tmp_path) == []


def test_the_users_hydra_full_error_is_kept_and_mistakes_stay_one_line(
    monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    one_line(run_in_process(monkeypatch, tmp_path, "univa.train", "model.temprature=1"))
    assert os.environ["HYDRA_FULL_ERROR"] == "0"
    monkeypatch.delenv("HYDRA_FULL_ERROR")
    one_line(run_in_process(monkeypatch, tmp_path, "univa.train", "model.temprature=1"))
    assert "HYDRA_FULL_ERROR" not in os.environ


def test_an_experiment_pinning_a_gpu_on_a_cpu_machine(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(CUDAAccelerator, "is_available", staticmethod(lambda: False))
    failure = run_in_process(
        monkeypatch, tmp_path, "univa.train", "experiment=mosei_glove_no_contrastive"
    )
    assert "no GPU was found" in one_line(failure)
    assert created_folders(tmp_path) == []


def test_predict_output_naming_a_folder_is_one_line(monkeypatch, tmp_path: Path) -> None:
    """`output=preds/` (a folder, not there yet) wrote the CSV as a file named `preds`."""
    (tmp_path / "any.ckpt").write_bytes(b"refused before it is read")
    failure = run_in_process(
        monkeypatch, tmp_path, "univa.predict", "ckpt_path=any.ckpt", "output=preds/"
    )
    assert "output=preds/ names a folder" in one_line(failure, "univa.predict")
    assert not (tmp_path / "preds").exists()
    assert created_folders(tmp_path) == []
