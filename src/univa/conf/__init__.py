"""The packaged Hydra configs and their schemas.

`CONFIG_DIR` holds the entry configs and one folder per group. The `model`, `dataset`, `text`
and `analysis` configs are typed: their YAML files extend a schema of the `schema` group
(`defaults: [/schema/model@_here_, _self_]`) and hold only what differs from it. A schema is the
dataclass of the options (each default defined there once) plus the `_target_` the YAML names;
importing this package stores them in Hydra's ConfigStore, so any composition with `CONFIG_DIR`
refuses a misspelt key or a value of the wrong type. The `model` keys stay flat
(`model.temperature`, `model.lr`), as docs/api.md §2 names them.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from univa.constants import GLOVE
from univa.data.options import DataOptions, SyntheticOptions
from univa.model.config import LossConfig, NetworkOptions, OptimizerConfig
from univa.report.options import AnalysisOptions

CONFIG_DIR = str(Path(__file__).parent)


@dataclass
class ModelSchema(OptimizerConfig, LossConfig, NetworkOptions):
    """`model`: the network's, the losses' and the optimiser's options side by side."""

    _target_: str = MISSING


@dataclass
class DatasetSchema(DataOptions):
    """`dataset=mosei|m3ed|folder`: the options of every data module."""

    _target_: str = MISSING


@dataclass
class SyntheticDatasetSchema(SyntheticOptions):
    """`dataset=synthetic`: those and the generator's."""

    _target_: str = MISSING


@dataclass
class RecordedDatasetSchema:
    """`dataset=recorded` (evaluate, predict): every option of the data modules, null for the
    one the model records, else the user's, typed as there."""

    data_dir: str | None = None
    text_encoder: str | None = None
    batch_size: int | None = None
    va_norm: str | None = None
    eval_batch_size: int | None = None
    num_workers: int | None = None
    pin_memory: bool | None = None
    shuffle_seed: int | None = None
    va_source: Any = None
    group_by_dialogue: bool | None = None
    flavor: str | None = None
    seed: int | None = None
    size: str | None = None


@dataclass
class TextSchema:
    """`text`: `encoder` is "glove" or a PLM's hub name or local folder; null: the dataset's
    own (a folder dataset's manifest names it), or in evaluate and predict the recorded one."""

    encoder: str | None = GLOVE


SCHEMAS: dict[str, type] = {
    "model": ModelSchema,
    "dataset": DatasetSchema,
    "synthetic_dataset": SyntheticDatasetSchema,
    "recorded_dataset": RecordedDatasetSchema,
    "text": TextSchema,
    "analysis": AnalysisOptions,
}
for _name, _schema in SCHEMAS.items():
    ConfigStore.instance().store(group="schema", name=_name, node=_schema)
