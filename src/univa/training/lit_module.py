"""`UniVALitModule`: the Lightning glue around the plain-PyTorch network, losses and metrics."""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path
from typing import IO, Any

import lightning as L
import torch

from univa.constants import MODALITIES, Batch
from univa.errors import InputError
from univa.losses import LossConfig, univa_losses
from univa.metrics import EmotionMetrics, summarize
from univa.model import UniVA, UniVAConfig, UniVAOutput
from univa.model.config import NetworkOptions, split_options
from univa.model.thresholds import Thresholds
from univa.optimizer import OptimizerConfig, build_optimizer
from univa.training.data_settings import DATA_SETTINGS_KEY, record


def unknown_options_message(unknown: dict[str, Any]) -> str:
    """Name each unknown `model.*` option, with the closest valid one."""
    options = (NetworkOptions, LossConfig, OptimizerConfig)
    valid = sorted(f.name for cls in options for f in dataclasses.fields(cls))
    hints = []
    for name in sorted(unknown):
        close = difflib.get_close_matches(name, valid, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return f"unknown model option(s) {', '.join(hints)}; valid options: {valid}"


def network_inputs(data_spec: dict[str, Any], modalities: list[str] | None) -> dict[str, Any]:
    """The data module's `data_spec` as the network's arguments, its `modalities` those given
    (`model.modalities`), else (null) all those the data has: a dataset without vision trains on
    the rest. An asked-for modality the data lacks is refused, never dropped silently."""
    offered = data_spec.get("modalities", list(MODALITIES))
    if modalities is None:
        return {**data_spec, "modalities": [m for m in MODALITIES if m in offered]}
    missing = [m for m in modalities if m not in offered]
    if missing:
        raise InputError(
            f"model.modalities={list(modalities)}: the dataset has no {', '.join(missing)}, "
            f"only {offered}"
        )
    return {**data_spec, "modalities": list(modalities)}


class UniVALitModule(L.LightningModule):
    """Trains UniVA with AdamW, linear warm-up and decay per optimizer step (docs/method.md §6.1).

    Every argument is a plain value (the data-derived `labels`, `input_dims`, `max_lens` plus
    the flat options of `NetworkOptions`, `LossConfig` and `OptimizerConfig`, whose defaults they
    keep), so checkpoints load with `weights_only=True` and `load_from_checkpoint(path)` needs
    nothing else; a checkpoint saved with fewer options gets the defaults of the others. Checkpoints also
    record the data settings of the training's data module (`univa.training.data_settings`), read back
    into `data_settings`.
    """

    @classmethod
    def load_from_checkpoint(
        cls,
        checkpoint_path: str | Path | IO,
        map_location: Any = None,
        hparams_file: str | Path | None = None,
        strict: bool | None = None,
        weights_only: bool = True,
        **kwargs: Any,
    ) -> UniVALitModule:
        """Lightning's loader, always with `weights_only=True`: univa checkpoints hold plain
        values only, and a file whose pickle would run code stays refused even when
        TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD is set (torch honours it only when the caller is silent).
        """
        if weights_only is not True:
            raise InputError("univa checkpoints load with weights_only=True only")
        return super().load_from_checkpoint(
            checkpoint_path, map_location, hparams_file, strict, weights_only=True, **kwargs
        )

    def __init__(
        self,
        labels: list[str],
        input_dims: dict[str, int],
        max_lens: dict[str, int],
        network: UniVA | None = None,
        **options: Any,
    ) -> None:
        """`network`, a trained UniVA (`univa.model.pretrained.load_network`), is used as it
        is instead of building one from the options (which then only set the losses)."""
        super().__init__()
        self.save_hyperparameters(ignore=["network"])
        model_options, rest = split_options(UniVAConfig, options)
        loss_options, rest = split_options(LossConfig, rest)
        optimizer_options, unknown = split_options(OptimizerConfig, rest)
        if unknown:
            raise InputError(unknown_options_message(unknown))
        self.model = network or UniVA(
            UniVAConfig(
                labels=list(labels),
                input_dims=dict(input_dims),
                max_lens=dict(max_lens),
                **model_options,
            )
        )
        self.loss_config = LossConfig(**loss_options)
        self.optimizer_config = OptimizerConfig(**optimizer_options)
        # evaluation shards differ in size across ranks, and nothing is learnt from their loss
        self.eval_loss_config = dataclasses.replace(self.loss_config, gather_negatives=False)
        # compile the forward function, not the module, so state-dict keys stay the same
        forward = self.model.forward
        self.network = torch.compile(forward) if self.model.config.compile else forward
        self.metrics = torch.nn.ModuleDict(
            {stage: EmotionMetrics(len(labels)) for stage in ("val", "test")}
        )
        self.last_summary: dict[str, dict] = {}
        # the thresholds the val/test metrics decide at instead of model.threshold: those
        # evaluate shares with predict (univa.predict.decision_thresholds); None: the model's
        self.eval_thresholds: Thresholds | None = None
        self.data_settings: dict[str, Any] | None = None

    @property
    def labels(self) -> list[str]:
        return self.model.config.labels

    def forward(self, batch: Batch) -> UniVAOutput:
        return self.network(batch)

    def compute_losses(self, batch: Batch, out: UniVAOutput) -> dict[str, torch.Tensor]:
        """`cls`, `prior` (with the label prior), `con`, per-modality `con_<m>` and `total`
        (docs/method.md §3)."""
        similarity = getattr(self.model, "label_similarity", None)
        config = self.loss_config if self.training else self.eval_loss_config
        return univa_losses(out, batch, config, similarity, loss_mode=self.model.config.loss_mode)

    def _shared_step(self, batch: Batch, stage: str) -> dict[str, torch.Tensor]:
        out = self(batch)
        losses = self.compute_losses(batch, out)
        logged = {f"{stage}/loss_{name}": value for name, value in losses.items()}
        if stage == "train":  # each step this rank's batch (logged by rank 0): no all-reduce
            self.log_dict(
                {f"{key}_step": v for key, v in logged.items()}, on_step=True, on_epoch=False
            )
            logged = {f"{key}_epoch": value for key, value in logged.items()}
        # the epoch's mean over the utterances of all ranks, reduced once at the epoch's end
        self.log_dict(
            logged,
            on_step=False,
            on_epoch=True,
            batch_size=batch["labels"].shape[0],
            sync_dist=True,
        )
        if stage in self.metrics:
            self.metrics[stage].update(self._decisions(out), batch["labels"].long())
        return losses

    def _decisions(self, out: UniVAOutput) -> torch.Tensor:
        """0/1 predictions (B, C) the metrics score: the model's, or at `eval_thresholds`."""
        if self.eval_thresholds is None:
            return out["preds"]
        return self.eval_thresholds.apply(out["probs"])

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "train")["total"]

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._shared_step(batch, "test")

    def _log_epoch_metrics(self, stage: str) -> None:
        metrics = self.metrics[stage]
        summary = summarize(metrics.compute(), self.labels)
        metrics.reset()
        self.last_summary[stage] = summary
        scalars = {f"{stage}/{k}": float(v) for k, v in summary.items() if k != "per_label_f1"}
        scalars |= {f"{stage}/f1_{label}": v for label, v in summary["per_label_f1"].items()}
        # already global (torchmetrics synchronised them); the mean over ranks changes nothing
        self.log_dict(scalars, sync_dist=True)

    def on_validation_epoch_end(self) -> None:
        self._log_epoch_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics("test")

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record the data settings of the trainer's data module (else those loaded with the
        weights), so evaluate and predict rebuild the same data from the checkpoint alone."""
        datamodule = self._trainer.datamodule if self._trainer is not None else None
        settings = record(datamodule) if datamodule is not None else self.data_settings
        if settings is not None:
            checkpoint[DATA_SETTINGS_KEY] = settings

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.data_settings = checkpoint.get(DATA_SETTINGS_KEY)

    def configure_optimizers(self) -> dict:
        return build_optimizer(
            self.parameters(), self.optimizer_config, self.trainer.estimated_stepping_batches
        )
