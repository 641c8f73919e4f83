"""The data settings a checkpoint carries, so that evaluate and predict score the data it learnt.

A checkpoint written while training records which dataset group, folder, synthetic
flavor/size/seed, text encoder, VA normalisation and modalities built its data, as plain values
(it still loads with `weights_only=True`). evaluate and predict rebuild the `dataset` config from
them where their config leaves a value null (`dataset: recorded`, `text: recorded`, their
defaults); a value given is the user's. Only the package's own dataset groups are rebuilt: a
checkpoint names a group, never code to run. A recorded data folder is only ever read: it never
decides where a dataset is generated.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

from hydra.utils import get_class
from lightning import LightningDataModule
from omegaconf import DictConfig, OmegaConf, open_dict

from univa.constants import GLOVE, MODALITIES, is_glove
from univa.errors import InputError

DATA_SETTINGS_KEY = "univa_data"  # the checkpoint entry holding them
# the packaged dataset group (univa.conf, a layer above: its schemas collect every layer's options)
DATASET_GROUP_DIR = Path(__file__).parents[1] / "conf" / "dataset"
# the recorded options that build the data; data_dir only where nothing it is derived from
# (`${.flavor}`: the synthetic flavor/size/seed) is given
RECORDED_FIELDS = ("data_dir", "flavor", "size", "seed", "text_encoder", "va_norm")
_RELATIVE = re.compile(r"\$\{\.([\w.]+)\}")  # `${.flavor}`


@functools.cache
def dataset_groups() -> dict[str, DictConfig]:
    """The package's dataset config groups, name -> node (conf/dataset/<name>.yaml, without its
    defaults list: the schema's defaults are the data module's own); not `recorded`, which
    builds none."""
    groups = {path.stem: OmegaConf.load(path) for path in sorted(DATASET_GROUP_DIR.glob("*.yaml"))}
    for node in groups.values():
        node.pop("defaults", None)
    return {name: node for name, node in groups.items() if "_target_" in node}


def record(datamodule: LightningDataModule) -> dict[str, Any] | None:
    """The data settings of `datamodule` (after setup); None if no dataset group builds it."""
    group = next(
        (
            name
            for name, node in dataset_groups().items()
            if get_class(node._target_) is type(datamodule)
        ),
        None,
    )
    if group is None:
        return None
    text_encoder = str(datamodule.text_encoder)
    read = set(datamodule.input_dims) | ({"text"} if not is_glove(text_encoder) else set())
    settings: dict[str, Any] = {
        "dataset": group,
        "name": str(datamodule.name),
        "data_dir": str(Path(datamodule.data_dir).resolve()),
        "text_encoder": text_encoder,
        "va_norm": str(datamodule.va_norm),
        "modalities": [m for m in MODALITIES if m in read],
    }
    for name in ("flavor", "size", "seed"):  # the synthetic dataset's
        if hasattr(datamodule, name):
            settings[name] = getattr(datamodule, name)
    provenance = getattr(datamodule, "feature_provenance", None)
    if provenance:  # what computed each modality's features, as the dataset declares it
        settings["features"] = {m: dict(entry) for m, entry in provenance.items()}
    return settings


def _derived_from(group: DictConfig) -> set[str]:
    """The options the default `data_dir` of the dataset `group` is derived from
    (`${.flavor}` -> flavor); none for a group without a default folder (`folder`)."""
    return set(_RELATIVE.findall(str(OmegaConf.to_container(group).get("data_dir") or "")))


def _readable_as_recorded(group: DictConfig, settings: dict[str, Any]) -> bool:
    """Whether the recorded data folder holds the data to read: always, for a data module that
    only reads; for one that generates its dataset (synthetic), only when that dataset is
    already there. Elsewhere it is generated where the user's own config says, never at a path
    a checkpoint or a model folder names."""
    generated_in = getattr(get_class(group._target_), "generated_in", None)
    return generated_in is None or generated_in(settings["data_dir"], settings.get("flavor"))


def _checked(settings: Any, path: Path) -> dict[str, Any]:
    """`settings` if they name a dataset group of univa and hold plain values only."""
    groups = dataset_groups()
    if not isinstance(settings, dict) or settings.get("dataset") not in groups:
        named = settings.get("dataset") if isinstance(settings, dict) else settings
        raise InputError(
            f"{path}: its data settings name no dataset of univa ({', '.join(groups)}): {named!r}"
        )
    for name in RECORDED_FIELDS:
        value = settings.get(name)
        plain = isinstance(value, (str, int)) and not isinstance(value, bool)
        if value is not None and (not plain or "${" in str(value)):
            raise InputError(f"{path}: its data setting {name}={value!r} is not a plain value")
    return settings


def dataset_config(cfg: DictConfig, settings: Any, path: Path) -> DictConfig:
    """A copy of `cfg` whose `dataset` node builds the data `settings` describe where the node
    leaves a value null: every one with `dataset: recorded`, only the text encoder (`text:
    recorded`) when a dataset group is chosen, whose data is then the user's.

    Without settings (a checkpoint written before univa recorded them, or converted), the user
    must choose the dataset group of the training run.
    """
    chosen = "_target_" in cfg.dataset
    if settings is not None:
        settings = _checked(settings, path)
    elif not chosen:
        raise InputError(
            f"{path} records no data settings (written before univa stored them, or converted "
            "from the original code): give the dataset overrides of its training, e.g. "
            "dataset=mosei dataset.data_dir=DIR text=glove, or dataset=synthetic dataset.size=tiny"
        )
    cfg = copy.deepcopy(cfg)
    with open_dict(cfg):
        if chosen:  # its values are the user's; the text is read as the model reads it
            if cfg.dataset.get("text_encoder") is None:
                cfg.dataset.text_encoder = (settings or {}).get("text_encoder", GLOVE)
            return cfg
        given = {name: value for name, value in cfg.dataset.items() if value is not None}
        stored = dataset_groups()[settings["dataset"]]
        recorded = {name: settings[name] for name in RECORDED_FIELDS if name in settings}
        if "data_dir" in recorded and (
            _derived_from(stored) & set(given) or not _readable_as_recorded(stored, settings)
        ):
            del recorded["data_dir"]
        cfg.dataset = copy.deepcopy(stored)
        cfg.dataset.update(recorded | given)
    if cfg.dataset.get("data_dir") is None:  # an exported model records no local path
        raise InputError(
            f"{path} records no data folder of its dataset (exported models never do): give "
            "dataset.data_dir=DIR, the labelled data to score, or label new data with input=DIR"
        )
    return cfg
