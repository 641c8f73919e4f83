"""`python -m univa.train [overrides]`: fit UniVA, test the best checkpoint, write results.json.

`train(cfg)` is importable and returns the best validation micro-F1, the value Hydra sweepers
optimise.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from univa.cli.command import entry_point
from univa.cli.hydra_job import name_sweep_runs, share_output_dir_with_workers
from univa.errors import InputError, InterruptedRunError

# Lightning, torch, transformers and matplotlib load when a run starts, not at import: the
# command line's --help, --cfg and --info answer without them
if TYPE_CHECKING:
    import lightning as L
    from lightning.pytorch.callbacks import Callback

    from univa.data.datamodule import UniVADataModule
    from univa.report.outputs import SplitOutputs
    from univa.training.lit_module import UniVALitModule
    from univa.training.run_folder import ResumeCheckpoint


def _instantiate_all(group: DictConfig | None) -> list:
    """Objects of a config group holding several `_target_` entries (callbacks, loggers)."""
    if not group:
        return []
    return [instantiate(node) for node in group.values() if node is not None and "_target_" in node]


@contextlib.contextmanager
def distributed_job_scope() -> Iterator[None]:
    """Leave the process as the job found it: no process group, no launcher environment.

    Lightning's DDP launcher sets LOCAL_RANK, MASTER_PORT etc. in the launching process; the
    next job of a multirun would take them for an external launcher and wait for workers that
    never come.
    """
    import torch.distributed as dist

    environ = dict(os.environ)
    try:
        yield
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
        os.environ.clear()
        os.environ.update(environ)


def train(cfg: DictConfig) -> float:
    """Fit, validate and test one run described by `cfg`; return the best validation micro-F1.

    The run owns its output folder meanwhile and resumes only from the checkpoint `ckpt_path`
    names (`last`: the folder's own `checkpoints/last.ckpt`); see `univa.training.run_folder`.
    """
    from univa.training.run_folder import claim_run_folder

    if cfg.text.encoder is None:  # text=roberta on dataset=folder (its preset): the manifest's
        from univa.data.generic.format import manifest_text_encoder

        cfg.text.encoder = manifest_text_encoder(cfg.dataset.data_dir)
    check_options(cfg)
    with distributed_job_scope():
        share_output_dir_with_workers()
        output_dir = Path(cfg.paths.output_dir)
        with claim_run_folder(output_dir, cfg.get("ckpt_path")) as resume:
            return _fit_and_test(cfg, resume)


def check_options(cfg: DictConfig) -> None:
    """Options that only fail together, and values the schemas' types allow but the code does
    not, caught before any data is read (keys and types fail earlier, at composition)."""
    unset = [
        key
        for key in ("dataset._target_", "dataset.text_encoder", "model.threshold")
        if OmegaConf.select(cfg, key) is None
    ]
    if unset:  # dataset=recorded, text=recorded: evaluate and predict's, for a trained model
        raise InputError(
            f"{', '.join(unset)}: null, which in evaluate and predict means the trained model's "
            "own (dataset=recorded, text=recorded); training needs its own, e.g. "
            "dataset=synthetic|mosei|m3ed|folder text=glove|roberta model.threshold=0.18"
        )
    if cfg.model.contrastive and cfg.dataset.batch_size < 2:
        raise InputError(
            f"dataset.batch_size={cfg.dataset.batch_size}: the contrastive loss needs at least 2 "
            "utterances per batch (or set model.contrastive=false)"
        )
    analysis = cfg.get("analysis")
    if not analysis:
        return
    from univa.report.threshold_tuning import check_tuning_option, threshold_grid

    check_tuning_option(analysis.get("threshold_tuning"))
    threshold_grid(**analysis.thresholds, include=cfg.model.threshold)


def _fit_and_test(cfg: DictConfig, resume: ResumeCheckpoint | None) -> float:
    import lightning as L

    from univa.report.results import print_config_tree
    from univa.report.resumed_logs import continue_logs
    from univa.report.tracking import (
        continue_wandb_run,
        finish_tracking,
        start_tracking,
    )
    from univa.training.from_checkpoint import build_datamodule
    from univa.training.lit_module import network_inputs

    datamodule = build_datamodule(cfg)
    modalities = cfg.model.modalities
    spec = network_inputs(datamodule.data_spec, None if modalities is None else list(modalities))
    if cfg.model.get("standardize"):  # the training split's statistics go with the network
        spec["feature_stats"] = datamodule.feature_statistics(list(cfg.model.standardize))
    # after the data is read and checked: an error in it is the one line a failed run prints
    if "LOCAL_RANK" not in os.environ:  # once, in the launching process
        print_config_tree(cfg)
    # seeded after the data: generating or caching it must not change the initial weights
    L.seed_everything(cfg.seed, workers=True)
    module = instantiate(cfg.model, _convert_="all", **spec)
    if resume:
        resume.check_fits(module)
        resume.check_data(datamodule)
        config = module.model.config
        resume.check_standardized(config.standardize, config.feature_stats)

    callbacks: list[Callback] = _instantiate_all(cfg.get("callbacks"))
    name_sweep_runs(cfg)
    if resume:
        continue_wandb_run(cfg)
    trainer: L.Trainer = instantiate(
        cfg.trainer, callbacks=callbacks, logger=_instantiate_all(cfg.get("logger"))
    )
    if resume:  # before anything is logged
        continue_logs(trainer.loggers, resume.step)
    failed = True
    try:
        start_tracking(trainer.loggers, cfg)
        results = _fit_and_test_module(cfg, trainer, module, datamodule, callbacks, resume)
        failed = False
    finally:
        finish_tracking(trainer.loggers, failed)
    return float(results["val"]["micro_f1"])


def _fit_and_test_module(
    cfg: DictConfig,
    trainer: L.Trainer,
    module: UniVALitModule,
    datamodule: UniVADataModule,
    callbacks: list[Callback],
    resume: ResumeCheckpoint | None,
) -> dict:
    """Fit, then validate and test the best checkpoint; on rank 0 analyse it and write results."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    from univa.metrics import best_constant_micro_f1
    from univa.training.run_folder import interruption_message

    output_dir = Path(cfg.paths.output_dir)
    # an explicit path or None: Lightning picks no checkpoint of its own; univa checkpoints
    # hold plain values only: load them without unpickling code
    ckpt_path = str(resume.path) if resume else None
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    except SystemExit:  # how Lightning ends a run on SIGTERM or Ctrl-C, after saving its state
        if not (trainer.interrupted or trainer.received_sigterm):
            raise
    if trainer.interrupted or trainer.received_sigterm:
        raise InterruptedRunError(interruption_message(output_dir))

    checkpoint = next((c for c in callbacks if isinstance(c, ModelCheckpoint)), None)
    best_path = checkpoint.best_model_path if checkpoint and checkpoint.best_model_path else None
    trainer.validate(
        module, datamodule=datamodule, ckpt_path=best_path, verbose=False, weights_only=True
    )
    results = {
        "val": module.last_summary["val"],
        "best_checkpoint": best_path,
        "seed": int(cfg.seed),
    }
    val = None
    if cfg.get("test", True):  # the module holds the best weights now: no second restore
        val = _tune_before_test(cfg, trainer, module, datamodule)
        trainer.test(module, datamodule=datamodule, verbose=False)
        results["test"] = module.last_summary["test"]
        test_labels = datamodule.split_labels("test")
        results["test"]["best_constant_micro_f1"] = best_constant_micro_f1(test_labels)

    if trainer.is_global_zero:
        module.to(trainer.strategy.root_device)  # evaluation moved it back to the CPU
        with trainer.precision_plugin.forward_context():
            _decide_and_report(cfg, trainer, module, datamodule, results, val)
    return results


def _tune_before_test(
    cfg: DictConfig, trainer: L.Trainer, module: UniVALitModule, datamodule: UniVADataModule
) -> SplitOutputs | None:
    """When the run tunes its thresholds, tune them on validation now (on every rank: the same
    outputs, so the same thresholds) and let the test pass decide at them, so that test's
    logged metrics and results.json are one answer; the validation outputs, or None."""
    from univa.report.outputs import collect_outputs
    from univa.report.threshold_tuning import decide, tuning_mode

    options = cfg.get("analysis")
    mode = tuning_mode(options.get("threshold_tuning"), datamodule) if options else None
    if not mode:
        return None
    module.to(trainer.strategy.root_device)
    with trainer.precision_plugin.forward_context():
        val = collect_outputs(module.model, datamodule, "valid")
    fixed = float(module.model.config.threshold)
    module.eval_thresholds = decide(val, None, module.labels, fixed, options, mode).thresholds
    return val


def _decide_and_report(
    cfg: DictConfig,
    trainer: L.Trainer,
    module: UniVALitModule,
    datamodule: UniVADataModule,
    results: dict,
    val: SplitOutputs | None,
) -> None:
    """On rank 0: choose the decision thresholds (tuned on validation when asked, the paper's fixed
    one otherwise), make test's metrics those at them, analyse, write results.json, print the
    summary and a warning when the test predictions are degenerate."""
    from univa.metrics import metric_summary
    from univa.model.thresholds import Thresholds, predict_at
    from univa.report.analysis import analyse_run
    from univa.report.console import console
    from univa.report.outputs import collect_outputs
    from univa.report.results import print_results_table, write_results
    from univa.report.threshold_tuning import decide, degenerate_warning, tuning_mode
    from univa.report.tracking import log_analysis, tracker_locations

    output_dir = Path(cfg.paths.output_dir)
    options = cfg.get("analysis")
    enabled = bool(options and options.enabled)
    mode = tuning_mode(options.get("threshold_tuning"), datamodule) if options else None
    model, labels = module.model, module.labels
    fixed = float(model.config.threshold)
    test = collect_outputs(model, datamodule, "test") if "test" in results else None
    if val is None and (enabled or mode):
        val = collect_outputs(model, datamodule, "valid")
    decisions = decide(val, test, labels, fixed, options, mode) if val is not None else None
    thresholds = decisions.thresholds if decisions else Thresholds.fixed(labels, fixed)
    if decisions and decisions.tuned:
        results["tuned"] = decisions.tuned
        if test is not None:  # the test pass decided at the tuned thresholds; fixed for reference
            at_fixed = metric_summary(predict_at(test.probs, fixed), test.targets, labels)
            constant = {"best_constant_micro_f1": results["test"]["best_constant_micro_f1"]}
            results["fixed"] = {"threshold": fixed, "test": at_fixed | constant}
    if test is not None:
        results["test"]["thresholds"] = thresholds.record()

    files = {}
    if enabled:
        analysis = analyse_run(val, test, decisions, results, output_dir)
        log_analysis(trainer.loggers, analysis, results, step=trainer.global_step)
        files["analysis"] = str(output_dir / "analysis")
    write_results(output_dir, results)
    print_results_table(results, output_dir, files | tracker_locations(trainer.loggers))
    if test is not None:
        warning = degenerate_warning(
            results["test"], thresholds.apply(test.probs), labels, tuned=bool(mode)
        )
        if warning:
            console().print(warning, style="yellow", highlight=False, soft_wrap=True)


main = entry_point("univa.train", "train", train)


if __name__ == "__main__":
    main()
