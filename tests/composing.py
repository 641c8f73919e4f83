"""Compose an entry config as its `python -m univa.<task>` would, outside a Hydra app."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from univa.cli import CONFIG_DIR


def compose_task(config_name: str, root: Path, *overrides: str) -> DictConfig:
    """`config_name` composed with the user's `overrides`, outputs in `root/run`; Hydra's config
    is set, as the tasks read it (the overrides the user gave)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            config_name=config_name,
            overrides=[f"paths.root_dir={root}", *overrides],
            return_hydra_config=True,
        )
    HydraConfig().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(root / "run")
    GlobalHydra.instance().clear()
    return cfg


def compose_plain(config_name: str, root: Path, *overrides: str) -> DictConfig:
    """`config_name` composed as a Python user composes it, Hydra's own config left unset: the
    task reads only the config's values."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=[f"paths.root_dir={root}", *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(root / "run")
    GlobalHydra.instance().clear()
    return cfg
