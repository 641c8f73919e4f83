"""`univa.load_pretrained`: an exported folder (or hub id) as a `TrainedModel`."""

from __future__ import annotations

from pathlib import Path

from univa.constants import is_glove
from univa.inference.trained_model import TrainedModel
from univa.model.pretrained import CONFIG_FILE, load_network, recorded_thresholds


def load_pretrained(source: str | Path) -> TrainedModel:
    """The model of a folder written by `univa.export` (or a hub id `org/name`), deciding at
    the thresholds the folder records: those tuned on validation when its run tuned them,
    else its fixed `model.threshold`. Loading reads tensors and JSON only and runs no code.

    >>> model = univa.load_pretrained("my_model")
    >>> model.predict("new_data")  # a folder in the generic format, labels not needed
    """
    network, stored = load_network(source)
    labels, text_encoder = list(network.config.labels), network.config.text_encoder
    tuned = recorded_thresholds(stored, labels)
    if tuned is None:
        fixed = float(network.config.threshold)
        thresholds, whence = dict.fromkeys(labels, fixed), f"fixed: model.threshold={fixed:g}"
    else:
        mode = stored.get("thresholds", {}).get("mode")
        thresholds, whence = tuned, f"{mode} thresholds tuned on validation"
    return TrainedModel(
        network=network,
        thresholds=thresholds,
        threshold_source=f"{whence} (recorded in {CONFIG_FILE})",
        text_source=None if is_glove(text_encoder) else text_encoder,  # its text_encoder/
        data_settings=stored.get("data_settings"),
    )
