"""Checks of a composed run config that Hydra does not make, run before any data is read.

The `model`, `dataset`, `text` and `analysis` configs are typed (`univa.conf`): Hydra
refuses a misspelt key or a wrong type there while composing. The other groups' YAML files
(trainer, logger, callbacks, top-level keys) are untyped, so Hydra accepts `trainer.max_epochs=x`
and the mistake would surface deep in a run without naming the key; and a GPU trainer on a
machine without one would fail inside Lightning. Each check raises an `InputError` naming the key.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import types
import typing
from typing import Any, Literal, Union

from hydra import compose
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.utils import get_class
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from univa.errors import InputError

GPU_ACCELERATORS = ("gpu", "cuda")
# the commands that use a trained network, and the one model option that applies to it
TRAINED_MODEL_CONFIGS = ("evaluate", "predict")
THRESHOLD = "model.threshold"
# what each scalar type accepts, and how a message names it
SCALARS: dict[type, tuple[tuple[type, ...], str]] = {
    bool: ((bool,), "true or false"),
    int: ((int,), "an integer"),
    float: ((int, float), "a number"),
    str: ((str, int, float, bool), "a string"),
}


def check_config(cfg: DictConfig) -> None:
    """Every interpolation resolves, command-line values have their key's type, and a GPU
    trainer has a GPU."""
    if HydraConfig.initialized() and GlobalHydra.instance().is_initialized():
        check_override_types(cfg, HydraConfig.get())  # first: typed keys interpolate them
    dataset = cfg.get("dataset")
    if isinstance(dataset, DictConfig) and OmegaConf.is_missing(dataset, "data_dir"):
        raise InputError(  # dataset=folder without its folder
            "dataset.data_dir is required (dataset=folder needs dataset.data_dir=PATH, a folder "
            "in the univa dataset format)"
        )
    try:
        OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as error:
        raise InputError(f"{error.full_key}: {first_line(error)}") from None
    check_accelerator(cfg.get("trainer"))


def first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def check_accelerator(trainer: DictConfig | None) -> None:
    """`trainer=gpu`, `trainer=ddp4` or `trainer.accelerator=gpu` need a visible CUDA device."""
    if not trainer or str(trainer.get("accelerator", "")).lower() not in GPU_ACCELERATORS:
        return
    from lightning.fabric.accelerators import CUDAAccelerator  # heavy: only for a GPU run

    if CUDAAccelerator.is_available():  # NVML-based: does not initialise CUDA before a fork
        return
    raise InputError(
        f"trainer.accelerator={trainer.accelerator} but no GPU was found; train on the CPU with "
        "trainer=cpu, or run DDP processes on the CPU with trainer=ddp trainer.accelerator=cpu"
    )


def check_override_types(cfg: DictConfig, hydra_cfg: DictConfig) -> None:
    """Each `key=value` of the command line outside the typed configs against its key's type:
    the type hint of the `_target_` parameter it sets when there is one, else the type of the
    key's value in the config composed without the command line's values."""
    overrides = OverridesParser.create().parse_overrides(
        OmegaConf.to_container(hydra_cfg.overrides.task)  # as typed: `${...}` unresolved
    )
    check_typed_overrides(cfg, overrides)
    if hydra_cfg.job.config_name in TRAINED_MODEL_CONFIGS:
        refuse_model_options(overrides)
    choices = hydra_cfg.runtime.choices
    groups = [o for o in overrides if o.key_or_group in choices]
    values = [
        o
        for o in overrides
        if o not in groups
        and not o.is_delete()
        and not o.is_hydra_override()
        and not _typed_by_schema(cfg, o.key_or_group)
    ]
    if not values:
        return
    defaults = compose(
        config_name=hydra_cfg.job.config_name, overrides=[str(o.input_line) for o in groups]
    )
    for key in dict.fromkeys(o.key_or_group for o in values):  # the last value of a key wins
        value = _select(cfg, key)
        expected = _expected_by_target(cfg, key, value)
        if expected is None:
            expected = _expected_by_default(_select(defaults, key), value)
        if expected:
            raise InputError(f"{key}={_text(value)}: expected {expected}")


def refuse_model_options(overrides: list[Override]) -> None:
    """`model.X=` (but the threshold) or `ablation=` given to evaluate or predict: the network
    and its options are the checkpoint's, and an option that changes nothing must not look as
    if it had been applied."""
    given = {o.key_or_group for o in overrides}
    ignored = sorted({k for k in given if k.startswith("model.") or k == "ablation"} - {THRESHOLD})
    if ignored:
        raise InputError(
            f"{', '.join(ignored)}: the network and its options come from the checkpoint; of the "
            f"model options only {THRESHOLD} applies to a trained model"
        )


def check_typed_overrides(cfg: DictConfig, overrides: list[Override]) -> None:
    """Overrides of a config typed by a schema that its type check lets through: `+key=value`
    (Hydra adds the key, and nothing reads it: `+analysis.threshold_tunning=global` would tune
    nothing without a word), and a bool given as anything but true or false (OmegaConf reads
    `analysis.enabled=3` or `model.contrastive=yes` as true)."""
    for override in overrides:
        prefix, _, name = override.key_or_group.rpartition(".")
        schema = _schema_of(_select(cfg, prefix)) if prefix and not override.is_delete() else None
        if schema is None:
            continue
        fields = {f.name: f.type for f in sorted(dataclasses.fields(schema), key=lambda f: f.name)}
        if override.is_add() and name not in fields:
            close = difflib.get_close_matches(name, list(fields), n=1)
            hint = (
                f"did you mean {prefix}.{close[0]}?" if close else f"its keys: {', '.join(fields)}"
            )
            raise InputError(
                f"+{override.key_or_group}: {prefix} has a fixed set of keys and no {name!r}; {hint}"
            )
        value = override.value()
        if fields.get(name) in (bool, "bool") and not isinstance(value, bool):
            raise InputError(f"{override.key_or_group}={value}: expected true or false")


def _schema_of(node: Any) -> type | None:
    """The dataclass that types `node`, if any."""
    if OmegaConf.is_dict(node) and dataclasses.is_dataclass(OmegaConf.get_type(node)):
        return OmegaConf.get_type(node)
    return None


def _typed_by_schema(cfg: DictConfig, key: str) -> bool:
    """Whether `key` lies in a config typed by a schema, which checked it while composing."""
    parts = key.split(".")
    for depth in range(1, len(parts)):
        if _schema_of(_select(cfg, ".".join(parts[:depth]))) is not None:
            return True
    return False


def _text(value: Any) -> str:
    return OmegaConf.to_yaml(value).strip() if OmegaConf.is_config(value) else str(value)


def _select(cfg: DictConfig, key: str) -> Any:
    try:
        return OmegaConf.select(cfg, key)
    except OmegaConfBaseException:
        return None


def _expected_by_default(default: Any, value: Any) -> str:
    """What `value` should be, judged by the key's default; "" when it fits or nothing is
    known (no default, or null)."""
    if default is None or value is None:
        return ""
    if isinstance(default, ListConfig):
        return "" if isinstance(value, ListConfig) else f"a list, like {default}"
    if isinstance(default, DictConfig):
        return "" if isinstance(value, DictConfig) else "a group of keys (key=value)"
    kind = type(default)
    if kind not in SCALARS:
        return ""
    accepted, name = SCALARS[kind]
    fits = isinstance(value, accepted) and (kind is bool or not isinstance(value, bool))
    return "" if fits else f"{name} (its default is {default})"


def _expected_by_target(cfg: DictConfig, key: str, value: Any) -> str | None:
    """What the `_target_` whose parameter `key` is accepts: "" when `value` fits or the hint
    allows more than scalars, None when there is no target or no hint for `key`."""
    parent_key, _, name = key.rpartition(".")
    parent = _select(cfg, parent_key) if parent_key else cfg
    if not isinstance(parent, DictConfig) or "_target_" not in parent:
        return None
    try:
        target = get_class(str(parent._target_))
        hints = typing.get_type_hints(target.__init__)
    except Exception:  # an unresolvable target or annotation: instantiate will tell
        return None
    if name not in hints or name not in inspect.signature(target).parameters:
        return None
    allowed = _scalar_options(hints[name])
    if allowed is None:
        return ""
    return "" if any(_fits(value, option) for option in allowed) else _describe(allowed)


def _scalar_options(hint: Any) -> list | None:
    """The scalar types, `None` and literal values a hint allows; None if it allows more."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options: list = []
        for arg in typing.get_args(hint):
            inner = _scalar_options(arg)
            if inner is None:
                return None
            options += inner
        return options
    if origin is Literal:
        return [("literal", arg) for arg in typing.get_args(hint)]
    if hint is type(None) or hint in SCALARS:
        return [hint]
    return None


def _fits(value: Any, option: Any) -> bool:
    if isinstance(option, tuple):  # ("literal", allowed value)
        return type(value) is type(option[1]) and value == option[1]
    if option is type(None):
        return value is None
    accepted = SCALARS[option][0]
    return isinstance(value, accepted) and (option is bool or not isinstance(value, bool))


def _describe(options: list) -> str:
    literals = list(
        dict.fromkeys(str(option[1]) for option in options if isinstance(option, tuple))
    )
    names = [SCALARS[option][1] for option in options if option in SCALARS]
    if type(None) in options:
        names.append("null")
    if literals:
        names.insert(0, "one of " + ", ".join(literals))
    return " or ".join(names)
