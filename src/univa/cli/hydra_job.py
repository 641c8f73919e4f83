"""What a Hydra job tells a training run: its output folder, for the DDP workers Lightning
launches, and its place in a multirun sweep, for the W&B run's group and name. Both do nothing
for a config composed outside a Hydra app."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict, read_write


def share_output_dir_with_workers() -> None:
    """Make the DDP processes Lightning launches write into this job's Hydra output folder.

    Lightning relaunches `sys.argv` with `hydra.run.dir=<HydraConfig run.dir>`. Under multirun
    that would restart the whole sweep in a folder of its own; so pin run.dir to this job's
    output folder and relaunch only this job's overrides.
    """
    if not HydraConfig.initialized() or "LOCAL_RANK" in os.environ:
        return
    hydra_cfg = HydraConfig.get()
    if OmegaConf.is_missing(hydra_cfg.runtime, "output_dir"):  # composed, not launched by Hydra
        return
    with read_write(hydra_cfg), open_dict(hydra_cfg):
        hydra_cfg.run.dir = hydra_cfg.runtime.output_dir
    sys.argv = [sys.argv[0], *OmegaConf.to_container(hydra_cfg.overrides.task)]


def name_sweep_runs(cfg: DictConfig) -> None:
    """Under multirun, give W&B runs without a group one group per sweep (the sweep folder's
    name) and, without a name, the job number and overrides (`hydra.job.override_dirname`) as
    name. WANDB_RUN_GROUP and WANDB_NAME win."""
    from univa.report.tracking import is_wandb  # Lightning's loggers: not for --help

    if not HydraConfig.initialized():
        return
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode != RunMode.MULTIRUN or OmegaConf.is_missing(hydra_cfg.job, "num"):
        return
    for node in (cfg.get("logger") or {}).values():
        if not is_wandb(node):
            continue
        with open_dict(node):
            if node.get("group") is None and "WANDB_RUN_GROUP" not in os.environ:
                node.group = f"{cfg.task_name}_{Path(hydra_cfg.sweep.dir).name}"
            if node.get("name") is None and "WANDB_NAME" not in os.environ:
                node.name = f"{hydra_cfg.job.num}:{hydra_cfg.job.override_dirname}"
