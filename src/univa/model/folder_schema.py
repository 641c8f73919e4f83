"""The schema of an exported folder's `config.json`, checked whole before any tensor is built.

A folder may come from anyone (a hub id), so every key and value is checked, and a mistake is
one line naming the file and the key (`key 'network.num_heads' must be a positive integer`),
never a `ZeroDivisionError` deep in the network. The types of `network` and `training` are
read from the dataclasses that take them (`UniVAConfig`, `LossConfig`, `OptimizerConfig`),
whose own `__post_init__` checks their ranges; the smaller sections are written here as
`univa.export.exported_config` writes them.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NewType, Union

from univa.constants import MODALITIES, PROVENANCE_KEYS, VA_NORMS
from univa.errors import InputError
from univa.model.config import LossConfig, OptimizerConfig, UniVAConfig, split_options

Seed = NewType("Seed", int)  # an integer >= 0; every other integer of the file is a size (> 0)
# the packaged dataset group (univa.conf, a layer above: its schemas collect every layer's options)
DATASETS: tuple[str, ...] = tuple(
    sorted(p.stem for p in (Path(__file__).parents[1] / "conf" / "dataset").glob("*.yaml"))
)


@dataclass(frozen=True)
class Fields:
    """An object with these keys (`hints`: key -> type), `required` among them; or null when
    `nullable`."""

    hints: dict[str, Any]
    required: frozenset[str] = frozenset()
    nullable: bool = False


def _of(*classes: type) -> Fields:
    """The fields of dataclasses `classes` with their annotated types; required: no default."""
    hints = {name: hint for cls in classes for name, hint in typing.get_type_hints(cls).items()}
    required = {
        f.name
        for cls in classes
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    return Fields(hints, frozenset(required))


def _modality_map(value: Any) -> Any:
    return dict[Literal[MODALITIES], value]


PROVENANCE = _modality_map(dict[Literal[PROVENANCE_KEYS], str])
FEATURE = Fields(
    {"width": int, "max_len": int, "raw_text": bool, **dict.fromkeys(PROVENANCE_KEYS, str)}
)
THRESHOLDS = Fields(
    {"fixed": float, "tuned": dict[str, float] | None, "mode": str | None, "source": str}
)
# what `univa.training.data_settings.record` writes, less `data_dir`: a folder records no path
DATA_SETTINGS = Fields(
    {
        "dataset": Literal[DATASETS],
        "name": str,
        "text_encoder": str,
        "va_norm": Literal[VA_NORMS],
        "modalities": list[Literal[MODALITIES]],
        "flavor": str,
        "size": str,
        "seed": Seed,
        "features": PROVENANCE,
    },
    frozenset({"dataset"}),
    nullable=True,  # a checkpoint of a data module of no dataset group records none
)
CONFIG = Fields(
    {
        "format": str,
        "format_version": int,
        "network": _of(UniVAConfig),
        "univa_version": str,
        "thresholds": THRESHOLDS,
        "features": _modality_map(FEATURE),
        "data_settings": DATA_SETTINGS,
        "training": _of(LossConfig, OptimizerConfig),
    },
    frozenset({"format", "format_version", "network"}),
)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# integer keys whose 0 means something: no layers over a modality a PLM reads (PLM presets)
MAY_BE_ZERO = ("network.num_layers.",)


def _problem(key: str, value: Any, hint: Any) -> str | None:
    """Why `value` at `key` is not of type `hint`, or None; the first problem found."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if isinstance(hint, Fields):
        return _fields_problem(key, value, hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _problem(key, value, next(a for a in args if a is not type(None)))
    if origin is Literal:
        return None if value in args else f"must be one of {list(args)}, got {_shown(value)}"
    if origin is list:
        if not isinstance(value, list):
            return f"must be a list, got {_shown(value)}"
        return next(
            (p for i, item in enumerate(value) if (p := _at(f"{key}[{i}]", item, args[0]))), None
        )
    if origin is dict:
        if not isinstance(value, dict):
            return f"must be an object, got {_shown(value)}"
        for name, item in value.items():
            if typing.get_origin(args[0]) is Literal and name not in typing.get_args(args[0]):
                return f"key '{key}.{name}' is unknown; expected {list(typing.get_args(args[0]))}"
            if problem := _at(f"{key}.{name}", item, args[1]):
                return problem
        return None
    return _scalar_problem(value, hint, key)


def _scalar_problem(value: Any, hint: Any, key: str) -> str | None:
    if hint is bool:
        ok, what = isinstance(value, bool), "true or false"
    elif hint is str:
        ok, what = isinstance(value, str) and bool(value), "a non-empty string"
    elif hint is float:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok, what = number and math.isfinite(value), "a finite number"
    elif hint is int or hint is Seed:  # a size, or a seed
        minimum = 0 if hint is Seed or key.startswith(MAY_BE_ZERO) else 1
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
        what = "an integer >= 0" if minimum == 0 else "a positive integer"
    else:
        raise TypeError(f"no check for values of type {hint}")  # a new option's type: add one
    return None if ok else f"must be {what}, got {_shown(value)}"


def _at(key: str, value: Any, hint: Any) -> str | None:
    """`_problem`, worded as a sentence about `key` (nested problems name their own key)."""
    problem = _problem(key, value, hint)
    if problem is None or problem.startswith("key '"):
        return problem
    return f"key '{key}' {problem}"


def _fields_problem(key: str, value: Any, fields: Fields) -> str | None:
    prefix = f"{key}." if key else ""
    if value is None and fields.nullable:
        return None
    if not isinstance(value, dict):
        return f"must be an object, got {_shown(value)}"
    unknown = sorted(set(value) - set(fields.hints))
    if unknown:
        return f"key '{prefix}{unknown[0]}' is unknown; expected one of {sorted(fields.hints)}"
    missing = sorted(fields.required - set(value))
    if missing:
        return f"key '{prefix}{missing[0]}' is missing"
    return next(
        (p for name, item in value.items() if (p := _at(prefix + name, item, fields.hints[name]))),
        None,
    )


def _ranges_problem(config: dict[str, Any]) -> str | None:
    """What the option dataclasses refuse in values of the right type (ranges, agreement)."""
    network = config["network"]
    try:
        UniVAConfig(**network)
    except InputError as error:
        return f"key 'network' is refused: {error}"
    training = config.get("training", {})
    try:
        LossConfig(**split_options(LossConfig, training)[0])
        OptimizerConfig(**split_options(OptimizerConfig, training)[0])
    except InputError as error:
        return f"key 'training' is refused: {error}"
    return _thresholds_problem(config.get("thresholds", {}), network)


def _thresholds_problem(thresholds: dict[str, Any], network: dict[str, Any]) -> str | None:
    threshold = network.get("threshold", UniVAConfig.threshold)
    if thresholds.get("fixed", threshold) != threshold:
        return (
            f"key 'thresholds.fixed' must be network.threshold ({threshold}), "
            f"got {thresholds['fixed']}"
        )
    tuned = thresholds.get("tuned")
    if tuned is None:
        return None
    if sorted(tuned) != sorted(network["labels"]):
        return (
            f"key 'thresholds.tuned' must name the labels {network['labels']}, got {sorted(tuned)}"
        )
    return next(
        (
            f"key 'thresholds.tuned.{label}' must lie in [0, 1], got {value}"
            for label, value in tuned.items()
            if not 0.0 <= value <= 1.0
        ),
        None,
    )


def check_folder_config(config: Any, path: Path) -> None:
    """Refuse `config` (read from `path`) unless every key and value is one this univa writes."""
    problem = _problem("", config, CONFIG) or _ranges_problem(config)
    if problem is not None:
        raise InputError(f"{path}: {problem}")
