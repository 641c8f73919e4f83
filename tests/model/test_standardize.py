"""`model.standardize`: the network standardises a modality's features per feature with the
training split's statistics, which travel in its config (checkpoint hyper-parameters, an
exported folder's config.json), never in its state dict; padded steps stay 0."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from pretrained_folders import tiny_network, write_folder
from univa.data.datamodule import feature_moments
from univa.errors import InputError
from univa.model import UniVA, UniVAConfig
from univa.model.pretrained import load_network

WIDTH = 5  # tiny_network's audio


def stats(width: int = WIDTH, std: float = 2.0) -> dict[str, dict[str, list[float]]]:
    return {"audio": {"mean": [float(i) for i in range(width)], "std": [std] * width}}


def standardized(network: UniVA) -> UniVA:
    config = dataclasses.replace(network.config, standardize=["audio"], feature_stats=stats())
    return UniVA(config)


def test_moments_count_only_the_real_steps_and_a_constant_feature_becomes_zero() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(3.0, 2.0, size=(7, 4, 3)).astype(np.float32)
    features[..., 2] = 5.0  # constant: std 1, so that it standardises to 0
    mask = np.ones((7, 4), dtype=np.float32)
    mask[::2, 2:] = 0
    features[mask == 0] = 1e6  # padding that must not count
    moments = feature_moments(torch.from_numpy(features), torch.from_numpy(mask), rows=3)
    real = features[mask == 1]
    np.testing.assert_allclose(moments["mean"], real.mean(0), rtol=1e-6)
    np.testing.assert_allclose(moments["std"][:2], real[:, :2].std(0), rtol=1e-5)
    assert moments["std"][2] == 1.0


def test_the_encoder_reads_standardised_features_with_padding_at_zero() -> None:
    torch.manual_seed(0)
    plain = tiny_network().eval()
    network = standardized(plain).eval()
    network.load_state_dict(plain.state_dict())  # the same weights: no key added or missing
    audio = torch.randn(2, 6, WIDTH) * 3 + 1
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.float32)
    seen = network.standardizers["audio"](audio, mask)
    mean, std = torch.tensor(stats()["audio"]["mean"]), 2.0
    torch.testing.assert_close(seen[1], (audio[1] - mean) / std)
    assert torch.all(seen[0, 3:] == 0)
    batch = {"audio": audio, "audio_mask": mask}
    torch.testing.assert_close(
        network.encode("audio", batch), plain.encode("audio", batch | {"audio": seen})
    )


def test_the_statistics_travel_in_an_exported_folder(tmp_path: Path) -> None:
    network = standardized(tiny_network()).eval()
    folder = write_folder(tmp_path / "model", network)
    loaded, _ = load_network(folder)
    assert loaded.config.feature_stats == stats()
    assert "standardizers.audio.mean" not in network.state_dict()
    torch.testing.assert_close(
        loaded.standardizers["audio"].mean, network.standardizers["audio"].mean
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"standardize": ["audio"]}, r"audio needs the training split's mean and std of its 5"),
        ({"standardize": ["audio"], "feature_stats": stats(3)}, r"of its 5 features"),
        (
            {
                "standardize": ["audio"],
                "feature_stats": {"audio": {"mean": [0.0] * 5, "std": [0.0] * 5}},
            },
            r"std of audio must be > 0",
        ),
        ({"standardize": ["text"], "text_encoder": "roberta-base"}, r"read by the PLM as text"),
        ({"standardize": ["audio"], "modalities": ["text"]}, r"name modalities the model reads"),
    ],
)
def test_a_standardisation_that_cannot_be_is_refused(changes: dict, message: str) -> None:
    config = dataclasses.asdict(tiny_network().config) | changes
    with pytest.raises(InputError, match=message):
        UniVAConfig(**config)
