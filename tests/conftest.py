"""Shared fixtures: compose the real Hydra configs, and a tiny synthetic dataset per session.

Under pytest-xdist (the fast lane runs `-n 2` on 2 cores) each worker and the commands it
starts compute on one thread, so that the workers do not fight over the cores.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from univa.cli import CONFIG_DIR
from univa.data.synthetic.generator import write_synthetic_dataset

if "PYTEST_XDIST_WORKER" in os.environ:
    import torch

    os.environ["OMP_NUM_THREADS"] = "1"  # for the commands the tests start
    torch.set_num_threads(1)


@pytest.fixture
def compose_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """Compose `train.yaml` with overrides, outputs in tmp_path, as `python -m univa.train` would."""

    def _compose(*overrides: str) -> DictConfig:
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            cfg = compose(
                config_name="train",
                overrides=[f"paths.root_dir={tmp_path}", *overrides],
                return_hydra_config=True,
            )
        HydraConfig().set_config(cfg)
        with open_dict(cfg):
            cfg.paths.output_dir = str(tmp_path / "run")
        return cfg

    yield _compose
    GlobalHydra.instance().clear()


@pytest.fixture(scope="session")
def tiny_mosei(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic MOSEI-flavoured dataset in the released layout (shared, read-only)."""
    return write_synthetic_dataset(
        tmp_path_factory.mktemp("data") / "MOSEI", flavor="mosei", size="tiny"
    )


@pytest.fixture(scope="session")
def tiny_m3ed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_dataset(
        tmp_path_factory.mktemp("data") / "M3ED", flavor="m3ed", size="tiny"
    )
