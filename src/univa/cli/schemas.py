"""Hydra structured-config schemas of the `model`, `dataset`, `text` and `analysis` configs.

Each schema is generated from the one place that defines the options' defaults (the option
dataclasses, a data module's constructor), so a default is written once; the groups' YAML files
extend a schema (`defaults: [/schema/<name>@_here_, _self_]`) and hold only what differs from it. A misspelt
key or a value of the wrong type then fails when Hydra composes the config, before any data is
read. The `model` keys stay flat (`model.temperature`, `model.lr`), as docs/api.md §2.2 names them.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, Union

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from univa.data.options import DataOptions, SyntheticOptions
from univa.model.config import DATA_FIELDS
from univa.report.options import AnalysisOptions
from univa.training.options import OPTION_CLASSES
from univa.vocabulary import GLOVE

TARGET = "_target_"  # set by each YAML file: the class it builds
SCHEMA_GROUP = "schema"


@dataclass
class TextOptions:
    """The `text` group: `encoder` is "glove" or a PLM's hub name or local folder."""

    encoder: str = GLOVE


def schema_type(hint: Any) -> Any:
    """`hint` as OmegaConf can check it: a literal as its values' type, a path as a string,
    `X | None` as Optional."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        return type(typing.get_args(hint)[0])
    if origin in (Union, types.UnionType):
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        inner = str if Path in args else schema_type(args[0])
        return Optional[inner] if len(args) < len(typing.get_args(hint)) else inner  # noqa: UP045
    return hint


def _field(name: str, hint: Any, default: Any = MISSING, factory: Any = None) -> tuple:
    if factory is not None:
        return name, schema_type(hint), dataclasses.field(default_factory=factory)
    return name, schema_type(hint), dataclasses.field(default=default)


def flat_schema(name: str, classes: tuple[type, ...], exclude: tuple[str, ...] = ()) -> type:
    """One dataclass with the fields of `classes` side by side (their defaults, by reference)
    and a `_target_`, less `exclude`."""
    fields = [_field(TARGET, str)]
    for cls in classes:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name in exclude:
                continue
            factory = None if f.default_factory is dataclasses.MISSING else f.default_factory
            fields.append(_field(f.name, hints[f.name], f.default, factory))
    return dataclasses.make_dataclass(name, fields)


def constructor_schema(name: str, cls: type, exclude: tuple[str, ...] = ()) -> type:
    """A dataclass of the keyword options of `cls`'s constructor (and of its bases', where it
    passes `**kwargs` on), with their defaults, plus a `_target_`."""
    fields: dict[str, tuple] = {TARGET: _field(TARGET, str)}
    for klass in cls.__mro__[:-1]:  # not `object`
        if "__init__" not in vars(klass):
            continue
        hints = typing.get_type_hints(klass.__init__)
        parameters = list(inspect.signature(klass.__init__).parameters.values())[1:]
        for p in parameters:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in exclude:
                default = MISSING if p.default is p.empty else p.default
                fields.setdefault(p.name, _field(p.name, hints[p.name], default))
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            break
    return dataclasses.make_dataclass(name, list(fields.values()))


ModelOptions = flat_schema("ModelOptions", OPTION_CLASSES, exclude=DATA_FIELDS)
# MOSEI and M3ED take the options of UniVADataModule (DataOptions); the synthetic one adds its
# own; the folder one takes the same as MOSEI and M3ED, its data_dir the user's (no default)
DATASET_SCHEMAS: dict[str, type] = {
    "released_data": constructor_schema("ReleasedDataOptions", DataOptions),
    "synthetic_data": constructor_schema("SyntheticDataOptions", SyntheticOptions),
    "folder_data": constructor_schema("FolderDataOptions", DataOptions),
}


def register_schemas() -> None:
    """Store the schemas in Hydra's ConfigStore, group `schema` (not a choice of any group),
    where the YAML files find them: `defaults: [/schema/model@_here_, _self_]`."""
    store = ConfigStore.instance()
    store.store(group=SCHEMA_GROUP, name="model", node=ModelOptions)
    for name, schema in DATASET_SCHEMAS.items():
        store.store(group=SCHEMA_GROUP, name=name, node=schema)
    store.store(group=SCHEMA_GROUP, name="text", node=TextOptions)
    store.store(group=SCHEMA_GROUP, name="analysis", node=AnalysisOptions)
