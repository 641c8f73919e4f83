"""The dataclasses holding the options of the `model` group, each default defined there once;
light (no torch, no Lightning), for the config schemas of `univa.cli.schemas`."""

from __future__ import annotations

from univa.model.config import LossConfig, OptimizerConfig, UniVAConfig

OPTION_CLASSES: tuple[type, ...] = (UniVAConfig, LossConfig, OptimizerConfig)
