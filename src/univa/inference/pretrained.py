"""`univa.load_pretrained`: an exported folder (or hub id) as a `TrainedModel`."""

from __future__ import annotations

from pathlib import Path

from univa.constants import is_glove
from univa.inference.trained_model import TrainedModel
from univa.model.pretrained import CONFIG_FILE, load_network, resolve
from univa.model.thresholds import Thresholds


def load_pretrained(source: str | Path) -> TrainedModel:
    """The model of a folder written by `univa.export` (or a hub id `org/name`), deciding at
    the thresholds the folder records: those tuned on validation when its run tuned them,
    else its fixed `model.threshold`. Loading reads tensors and JSON only and runs no code.

    >>> model = univa.load_pretrained("my_model")
    >>> model.predict("new_data")  # a folder in the generic format, labels not needed
    """
    folder = resolve(source)
    network, stored = load_network(folder)
    config = network.config
    return TrainedModel(
        network=network,
        thresholds=Thresholds.of_exported(
            stored, config.labels, folder / CONFIG_FILE, config.threshold
        ),
        text_source=None if is_glove(config.text_encoder) else config.text_encoder,
        data_settings=stored.get("data_settings"),
    )
