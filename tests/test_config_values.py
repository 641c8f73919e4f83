"""What a command does follows its config's values, never what was typed: `train(cfg)` called
from Python with a composed config behaves as `python -m univa.train` with the same overrides.
(evaluate and predict: tests/adversarial/test_checkpoints.py, `compose_plain`.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from command_line import run_in_process
from composing import compose_plain
from folder_data import write_tiny
from univa.errors import InputError
from univa.train import train
from univa.training.from_checkpoint import build_datamodule
from univa.training.lit_module import network_inputs

ALL = "model.modalities=[text,audio,vision]"


def test_modalities_asked_for_that_the_data_lacks_are_refused_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_tiny(tmp_path / "data")  # text and audio, no vision
    overrides = ("dataset=folder", f"dataset.data_dir={data}", ALL)
    with pytest.raises(InputError, match=r"the dataset has no vision") as refused:
        train(compose_plain("train", tmp_path / "python", *overrides))
    (tmp_path / "cli").mkdir()
    failure = run_in_process(monkeypatch, tmp_path / "cli", "univa.train", *overrides)
    assert failure.returncode == 1 and str(refused.value) in failure.stderr


def test_modalities_left_null_are_those_the_data_has(tmp_path: Path) -> None:
    data = write_tiny(tmp_path / "data")
    cfg = compose_plain("train", tmp_path, "dataset=folder", f"dataset.data_dir={data}")
    assert cfg.model.modalities is None
    spec = network_inputs(build_datamodule(cfg).data_spec, cfg.model.modalities)
    assert spec["modalities"] == ["text", "audio"]
