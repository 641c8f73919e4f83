"""A small exported folder written without training, for tests of loading (`univa.load_pretrained`)."""

from __future__ import annotations

from pathlib import Path

from univa.model import UniVA, UniVAConfig
from univa.model.pretrained import folder_config, save_network

LABELS = ["happy", "sad", "anger"]


def tiny_network(hidden_size: int = 8) -> UniVA:
    """A GloVe-path UniVA of a few thousand weights."""
    return UniVA(
        UniVAConfig(
            labels=list(LABELS),
            input_dims={"text": 6, "audio": 5, "vision": 4},
            max_lens={"text": 7, "audio": 6, "vision": 5},
            hidden_size=hidden_size,
            num_heads=2,
            ffn_size=16,
            num_layers={"text": 1, "audio": 1, "vision": 1},
        )
    )


def write_folder(folder: Path, network: UniVA | None = None, **entries) -> Path:
    """`folder` as `univa.export` writes it, for `network` (a fresh tiny one by default)."""
    network = network or tiny_network()
    folder.mkdir(parents=True, exist_ok=True)
    thresholds = {"fixed": 0.18, "tuned": None, "mode": None, "source": "model.threshold"}
    save_network(network, folder, folder_config(network, thresholds=thresholds, **entries))
    return folder
