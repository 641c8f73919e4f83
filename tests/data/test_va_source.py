"""`dataset.va_source`: each modality's VA from the dataset, from its labels' points, or none
(only the sample itself is a positive, with one warning); the label prior takes the points of
the dataset's labels."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from folder_data import LABELS, write_tiny
from univa.constants import MOSEI_LABELS
from univa.data import FolderDataModule, MoseiDataModule
from univa.data.va import NEUTRAL_VA, NoVAWarning, labels_va, normalize_va, resolve_va_sources
from univa.errors import InputError
from univa.label_prior import EMOTION_VA, label_similarity
from univa.losses import LossConfig, univa_losses
from univa.training.lit_module import UniVALitModule, network_inputs

POINTS = {"joy": [0.9, 0.6], "anger": [0.1, 0.9], "calm": [0.7, 0.1], "awe": [0.8, 0.7]}
SMALL = {"hidden_size": 16, "num_heads": 2, "ffn_size": 32}


def test_labels_va_is_the_mean_of_the_labels_points_or_neutral() -> None:
    labels = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]])
    va = labels_va(labels, LABELS, POINTS)
    np.testing.assert_allclose(va, [[0.9, 0.6], [0.5, 0.75], NEUTRAL_VA], rtol=1e-6)


def test_default_source_is_the_data_then_the_labels_then_none() -> None:
    sources = resolve_va_sources(None, ["text", "audio", "vision"], {"audio"}, labels_known=True)
    assert sources == {"text": "labels", "audio": "dataset", "vision": "labels"}
    assert resolve_va_sources(None, ["audio"], set(), labels_known=False) == {"audio": "none"}
    mixed = resolve_va_sources({"text": "none"}, ["text", "audio"], {"text", "audio"}, True)
    assert mixed == {"text": "none", "audio": "dataset"}


@pytest.mark.parametrize(
    ("va_source", "scored", "message"),
    [
        ("dataset", set(), "has no audio VA scores"),
        ("mean", {"audio"}, "must be one of"),
        ({"vision": "none"}, {"audio"}, "names \\['vision'\\]"),
        (3, {"audio"}, "must be one of"),
    ],
)
def test_a_wrong_source_is_refused(va_source, scored: set, message: str) -> None:
    with pytest.raises(InputError, match=message):
        resolve_va_sources(va_source, ["audio"], scored, labels_known=True)


def test_labels_without_points_cannot_give_va(tmp_path: Path) -> None:
    out = write_tiny(tmp_path / "ds", va=False)  # only anger is in the built-in table
    with pytest.raises(InputError, match=r"none for \['joy', 'calm', 'awe'\].*label_va"):
        FolderDataModule(out, va_source="labels").setup()


def test_va_from_labels_replaces_missing_scores(tmp_path: Path) -> None:
    out = write_tiny(tmp_path / "ds", va=False, manifest={"label_va": POINTS})
    datamodule = FolderDataModule(out, va_source="labels")
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoVAWarning)
        datamodule.setup()
    tensors = datamodule.datasets["train"].tensors
    expected = normalize_va(torch.from_numpy(labels_va(tensors["labels"].numpy(), LABELS, POINTS)))
    assert torch.equal(tensors["va_text"], expected) and torch.equal(tensors["va_audio"], expected)
    assert datamodule.va_sources == {"text": "labels", "audio": "labels"}


def test_no_va_leaves_it_out_of_the_batch_with_one_warning(tmp_path: Path) -> None:
    out = write_tiny(tmp_path / "ds", va=False)
    datamodule = FolderDataModule(out, va_source="none", batch_size=8)
    with pytest.warns(NoVAWarning) as caught:
        datamodule.setup()
    assert len([w for w in caught if issubclass(w.category, NoVAWarning)]) == 1
    assert "text, audio" in str(caught[0].message)
    batch = next(iter(datamodule.train_dataloader()))
    assert not any(key.startswith("va_") for key in batch)
    module = UniVALitModule(**network_inputs(datamodule.data_spec, ["text", "audio"]), **SMALL)
    losses = univa_losses(module.model(batch), batch, LossConfig(), loss_mode="kl")
    assert torch.isfinite(losses["con_text"]) and torch.isfinite(losses["con_audio"])


def test_the_benchmarks_keep_their_own_scores(tiny_mosei: Path) -> None:
    datamodule = MoseiDataModule(tiny_mosei)
    datamodule.setup()
    assert datamodule.va_sources == dict.fromkeys(("text", "audio", "vision"), "dataset")


def test_label_prior_takes_the_datasets_points() -> None:
    table = {name: list(EMOTION_VA[name]) for name in MOSEI_LABELS}
    assert torch.equal(label_similarity(MOSEI_LABELS, table), label_similarity(MOSEI_LABELS))
    similarity = label_similarity(LABELS, POINTS)
    assert similarity.shape == (4, 4) and torch.allclose(similarity.diagonal(), torch.ones(4))


def test_label_prior_without_points_is_refused_in_one_line() -> None:
    with pytest.raises(InputError) as error:
        label_similarity(LABELS, {"joy": [0.9, 0.6]})
    message = str(error.value)
    assert "['anger', 'calm', 'awe']" not in message  # anger is in the built-in table
    assert "['calm', 'awe']" in message
    assert "label_va" in message and "model.label_prior=false" in message
    assert "\n" not in message
