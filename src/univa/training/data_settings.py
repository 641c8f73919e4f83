"""The data settings a checkpoint carries, so that evaluate and predict score the data it learnt.

A checkpoint written while training records which dataset group, folder, synthetic
flavor/size/seed, text encoder, VA normalisation and modalities built its data, as plain values
(it still loads with `weights_only=True`). evaluate and predict rebuild the `dataset` config from
them, and what the user sets on the command line wins. Only the package's own dataset groups are
rebuilt: a checkpoint names a group, never code to run. A recorded data folder is only ever read:
it never decides where a dataset is generated.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.utils import get_class
from lightning import LightningDataModule
from omegaconf import DictConfig, OmegaConf, open_dict

from univa.constants import MODALITIES, is_glove
from univa.errors import InputError

DATA_SETTINGS_KEY = "univa_data"  # the checkpoint entry holding them
# the packaged dataset group (univa.conf, a layer above: its schemas collect every layer's options)
DATASET_GROUP_DIR = Path(__file__).parents[1] / "conf" / "dataset"
# each recorded dataset option -> the command-line keys that leave it to the user; data_dir also
# to the keys its group's default folder is derived from (`_derived_from`: paths.data_dir, the
# synthetic flavor/size/seed), and only to those: a folder dataset's stays where it was recorded
FIELD_OVERRIDES: dict[str, tuple[str, ...]] = {
    "data_dir": ("dataset.data_dir",),
    "flavor": ("dataset.flavor",),
    "size": ("dataset.size",),
    "seed": ("dataset.seed",),
    "text_encoder": ("dataset.text_encoder", "text", "text.encoder"),
    "va_norm": ("dataset.va_norm",),
}
READING_FIELDS = ("text_encoder", "va_norm")  # how the data is read, whatever the dataset
GROUP_OVERRIDES = ("dataset", "experiment")  # keys that choose the dataset group
DATA_ROOT_KEY = "paths.data_dir"  # where the default folders of the datasets lie
_REFERENCE = re.compile(r"\$\{(\.?)([\w.]+)\}")  # `${paths.data_dir}`, `${.flavor}`


@functools.cache
def dataset_groups() -> dict[str, DictConfig]:
    """The package's dataset config groups, name -> node (conf/dataset/<name>.yaml, without its
    defaults list: the schema's defaults are the data module's own)."""
    groups = {path.stem: OmegaConf.load(path) for path in sorted(DATASET_GROUP_DIR.glob("*.yaml"))}
    for node in groups.values():
        node.pop("defaults", None)
    return groups


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


def user_overrides() -> set[str]:
    """The config keys and groups set on the command line (none outside a Hydra app)."""
    if not HydraConfig.initialized():
        return set()
    overrides = OmegaConf.to_container(HydraConfig.get().overrides.task)  # `${...}` as typed
    return {
        override.key_or_group for override in OverridesParser.create().parse_overrides(overrides)
    }


def _gives_data(given: set[str]) -> bool:
    """Whether the command line chooses the data (a dataset, its folder or synthetic settings);
    loader options such as `dataset.batch_size` do not."""
    keys = {key for keys in FIELD_OVERRIDES.values() for key in keys} | set(GROUP_OVERRIDES)
    return bool(given & (keys | {DATA_ROOT_KEY}))


def _derived_from(group: DictConfig) -> set[str]:
    """The command-line keys the default `data_dir` of the dataset `group` is derived from
    (`${paths.data_dir}/MOSEI` -> paths.data_dir; `${.flavor}` -> dataset.flavor); none for a
    group without a default folder (`folder`)."""
    default = OmegaConf.to_container(group).get("data_dir")  # unresolved
    return {
        f"dataset.{name}" if relative else name
        for relative, name in _REFERENCE.findall(str(default or ""))
    }


def _overriding(name: str, group: DictConfig) -> set[str]:
    """The command-line keys that leave the recorded option `name` of `group` to the user."""
    derived = _derived_from(group) if name == "data_dir" else set()
    return set(FIELD_OVERRIDES[name]) | derived


def _applies(name: str, settings: dict[str, Any], given: set[str], group: DictConfig) -> bool:
    """Whether the recorded option `name` builds the data: recorded, not left to the user, and
    a data folder only where it can be read as recorded."""
    if name not in settings or given & _overriding(name, group):
        return False
    return name != "data_dir" or _readable_as_recorded(group, settings)


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
    for name in FIELD_OVERRIDES:
        value = settings.get(name)
        plain = isinstance(value, (str, int)) and not isinstance(value, bool)
        if value is not None and (not plain or "${" in str(value)):
            raise InputError(f"{path}: its data setting {name}={value!r} is not a plain value")
    return settings


def dataset_config(cfg: DictConfig, settings: Any, path: Path) -> DictConfig:
    """A copy of `cfg` whose `dataset` node builds the data `settings` describe, except for what
    the user set on the command line.

    Without settings (a checkpoint written before univa recorded them, or converted), the user
    must give the dataset overrides of the training run.
    """
    given = user_overrides()
    if settings is None:
        if _gives_data(given):
            return cfg
        raise InputError(
            f"{path} records no data settings (written before univa stored them, or converted "
            "from the original code): give the dataset overrides of its training, e.g. "
            "dataset=mosei dataset.data_dir=DIR text=glove, or dataset=synthetic dataset.size=tiny"
        )
    settings = _checked(settings, path)
    stored = dataset_groups()[settings["dataset"]]
    cfg = copy.deepcopy(cfg)
    fields = tuple(FIELD_OVERRIDES)
    with open_dict(cfg):
        if cfg.dataset.get("_target_") != stored._target_:
            if given & set(GROUP_OVERRIDES):  # the user chose another dataset
                fields = READING_FIELDS
            else:
                node = copy.deepcopy(stored)
                for key in given:
                    name = key.split(".")[1] if key.startswith("dataset.") else None
                    if name is not None and name in cfg.dataset:
                        node[name] = cfg.dataset[name]
                cfg.dataset = node
        for name in fields:
            if _applies(name, settings, given, stored):
                cfg.dataset[name] = settings[name]
    if cfg.dataset.get("data_dir") is None:  # an exported model records no local path
        why = (
            "records no data folder of its dataset (exported models never do)"
            if "data_dir" not in settings
            else "records its data folder, but the command line set dataset.data_dir to none"
        )
        raise InputError(
            f"{path} {why}: give dataset.data_dir=DIR, the labelled data to score, or label "
            "new data with input=DIR"
        )
    return cfg
