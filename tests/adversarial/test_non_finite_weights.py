"""NaN or infinite weights (issue 20, item 5): refused at load, naming the tensor, in an exported
folder and in a `.ckpt`; a non-finite probability is never written as a prediction."""

from __future__ import annotations

from pathlib import Path

import lightning
import pytest
import torch
from safetensors.torch import load_file, save_file

import univa
from composing import compose_task
from pretrained_folders import write_folder
from univa.errors import UniVAError
from univa.model.finite import refuse_non_finite_probabilities
from univa.model.pretrained import WEIGHTS_FILE
from univa.predict import predict
from univa.training.from_checkpoint import load_module
from univa.training.lit_module import UniVALitModule

TENSOR = "classifier.0.weight"


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_an_exported_folder_with_non_finite_weights_is_refused(
    tmp_path: Path, value: float
) -> None:
    folder = write_folder(tmp_path / "model")
    tensors = load_file(folder / WEIGHTS_FILE)
    tensors[TENSOR][0, 0] = value
    save_file(tensors, folder / WEIGHTS_FILE)
    with pytest.raises(UniVAError, match=rf"model.safetensors: tensor {TENSOR} holds NaN") as e:
        univa.load_pretrained(folder)
    assert "\n" not in str(e.value)
    output = tmp_path / "preds.csv"
    cfg = compose_task("predict", tmp_path, f"pretrained={folder}", f"output={output}")
    with pytest.raises(UniVAError, match=rf"tensor {TENSOR} holds NaN"):
        predict(cfg)
    assert not output.exists()


def test_a_checkpoint_with_non_finite_weights_is_refused(tmp_path: Path) -> None:
    module = UniVALitModule(
        ["happy", "sad"],
        {"text": 6, "audio": 5},
        {"text": 4, "audio": 3},
        modalities=["text", "audio"],
        hidden_size=8,
        num_heads=2,
        ffn_size=16,
    )
    state = module.state_dict()
    state[f"model.{TENSOR}"][0, 0] = float("nan")
    path = tmp_path / "nan.ckpt"
    torch.save(
        {
            "state_dict": state,
            "hyper_parameters": dict(module.hparams),
            "pytorch-lightning_version": lightning.__version__,
        },
        path,
    )
    with pytest.raises(UniVAError, match=rf"nan.ckpt: tensor model.{TENSOR} holds NaN"):
        load_module(path)


def test_non_finite_probabilities_are_never_predictions() -> None:
    probs = torch.tensor([[0.2, 0.9], [float("nan"), 0.1], [0.5, float("inf")]])
    with pytest.raises(UniVAError, match=r"for 2 utterance\(s\) \(u1, u2\); no prediction"):
        refuse_non_finite_probabilities(probs, ["u0", "u1", "u2"])
    refuse_non_finite_probabilities(probs[:1], ["u0"])
