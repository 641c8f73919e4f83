"""Shared steps of the command lines that start from a trained checkpoint (evaluate, predict).

Each takes the network from the checkpoint (read with `weights_only=True`) or from a folder of
`univa.export` (`pretrained=`: safetensors and JSON, no pickle), and builds the data
module from the data settings the checkpoint records where the config leaves them null, and the
trainer from the composed config, as `univa.train` does. Mistakes a user can fix (a missing
checkpoint, a checkpoint of another dataset, an unknown split) are `UsageError`s, reported as
one message.
"""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from univa.constants import is_glove
from univa.data.datamodule import UniVADataModule
from univa.errors import UsageError
from univa.model.finite import refuse_non_finite_weights
from univa.model.pretrained import load_network, resolve
from univa.training.checkpoint_io import load_error_reason
from univa.training.data_settings import dataset_config
from univa.training.lit_module import UniVALitModule


def checkpoint_path(cfg: DictConfig) -> Path:
    """The model to load: the existing file `ckpt_path` names, or the folder `pretrained` names
    (written by `univa.export`; a hub id `org/name` is fetched); exactly one of the two."""
    ckpt = None if OmegaConf.is_missing(cfg, "ckpt_path") else cfg.get("ckpt_path")
    pretrained = cfg.get("pretrained")
    if ckpt and pretrained:
        raise UsageError(
            f"ckpt_path={ckpt} and pretrained={pretrained}: give one of the two, the model to load"
        )
    if pretrained:
        return resolve(str(pretrained))
    if not ckpt:
        raise UsageError(
            "ckpt_path is required: the Lightning checkpoint to load, e.g. "
            "ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt (or pretrained=DIR, a folder "
            "written by univa.export)"
        )
    path = Path(ckpt)
    if not path.is_file():
        raise UsageError(f"ckpt_path={path} is not a file")
    return path


def chosen_split(cfg: DictConfig, valid: tuple[str, ...]) -> str:
    if cfg.split not in valid:
        raise UsageError(f"split={cfg.split} is not one of {', '.join(valid)}")
    return str(cfg.split)


def build_datamodule(cfg: DictConfig) -> UniVADataModule:
    """The data module of `cfg.dataset`, set up (all splits read)."""
    datamodule = instantiate(cfg.dataset)
    datamodule.setup("test")
    return datamodule


def same_text_encoder(trained: str, read: str) -> bool:
    """Whether the data is read for the text encoder the model was trained with: the same name,
    or the same local folder however it is written."""
    if trained == read:
        return True
    return (
        Path(trained).is_dir()
        and Path(read).is_dir()
        and Path(trained).resolve() == Path(read).resolve()
    )


def _incompatibilities(module: UniVALitModule, spec: dict[str, Any]) -> list[str]:
    config = module.model.config
    problems = []
    if list(config.labels) != spec["labels"]:
        problems.append(f"labels {list(config.labels)}, the dataset's are {spec['labels']}")
    missing = [m for m in config.modalities if m not in spec.get("modalities", config.modalities)]
    if missing:
        problems.append(f"the modalities {missing}, which the dataset does not have")
    for modality, width in spec["input_dims"].items():
        if config.input_dims.get(modality) != width:
            problems.append(
                f"{modality} features of width {config.input_dims.get(modality)}, the dataset's "
                f"are {width}"
            )
    for modality, length in spec["max_lens"].items():
        if length > config.max_lens.get(modality, 0):
            problems.append(
                f"{modality} sequences up to {config.max_lens.get(modality)} steps, the dataset "
                f"has {length}"
            )
    if not same_text_encoder(config.text_encoder, spec["text_encoder"]):
        problems.append(
            f"text.encoder={config.text_encoder}, the data is read for {spec['text_encoder']}"
        )
    return problems


def load_module(path: Path) -> UniVALitModule:
    """The checkpoint's module and its `data_settings`, read with `weights_only=True`."""
    convert = (
        "a file of the original code converts with "
        "`python -m univa.convert_reference src=FILE.pth out=OUT.ckpt`"
    )
    if path.is_file() and not zipfile.is_zipfile(path):  # what torch.save writes
        raise UsageError(
            f"cannot load {path} as a univa checkpoint: it is not a Lightning checkpoint (not the "
            f"zip archive torch saves: another kind of file, or damaged or truncated); {convert}"
        )
    try:
        module = UniVALitModule.load_from_checkpoint(path, map_location="cpu")
    except Exception as error:  # torch and Lightning raise many types for damaged or foreign files
        raise UsageError(
            f"cannot load {path} as a univa checkpoint ({load_error_reason(error)}); {convert}"
        ) from error
    refuse_non_finite_weights(module.state_dict(), path)
    return module


def load_pretrained_module(folder: Path) -> UniVALitModule:
    """The network of an exported folder in a module that evaluates it, with its loss options;
    on the PLM path its data settings read the text with the folder's own tokenizer."""
    network, stored = load_network(folder)
    config = network.config
    training = stored.get("training", {})  # checked by `read_config`
    module = UniVALitModule(
        config.labels, config.input_dims, config.max_lens, network=network, **training
    )
    settings = stored.get("data_settings")
    if isinstance(settings, dict) and not is_glove(config.text_encoder):
        settings = {**settings, "text_encoder": config.text_encoder}  # the folder's text_encoder/
    module.data_settings = settings
    return module


def apply_threshold(cfg: DictConfig, module: UniVALitModule) -> None:
    """`model.threshold` given (not null) replaces the checkpoint's: it is not learnt, and the
    network's `preds` decide at it (range-checked by `UniVAConfig`)."""
    threshold = cfg.model.get("threshold")
    if threshold is not None:
        config = module.model.config
        module.model.config = dataclasses.replace(config, threshold=float(threshold))


def load_checkpoint_and_data(cfg: DictConfig, path: Path) -> tuple[UniVALitModule, UniVADataModule]:
    """The checkpoint's module (`model.threshold` given applied) and the data it was trained on
    (its recorded data settings where the config leaves them null), set up; data that does not
    fit the network is refused."""
    module = load_pretrained_module(path) if path.is_dir() else load_module(path)
    apply_threshold(cfg, module)
    datamodule = build_datamodule(dataset_config(cfg, module.data_settings, path))
    problems = _incompatibilities(module, datamodule.data_spec)
    if problems:
        raise UsageError(
            f"{path} does not fit dataset.data_dir={datamodule.data_dir}: the checkpoint expects "
            + "; ".join(problems)
        )
    return module, datamodule


def build_trainer(cfg: DictConfig, **overrides: Any) -> L.Trainer:
    """The trainer of `cfg.trainer`, without loggers or checkpointing (nothing is trained)."""
    return instantiate(
        cfg.trainer, logger=False, callbacks=[], enable_checkpointing=False, **overrides
    )
