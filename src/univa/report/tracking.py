"""Experiment trackers around one run: W&B naming under multirun, the resolved config, the
end-of-run figures and tables, and finishing the W&B run before the next job starts.

Lightning's loggers log the metrics; this module adds what they do not know about. Under DDP
only rank 0 has a real W&B run (Lightning gives the other ranks a dummy), and only rank 0
calls `log_analysis`.
"""

from __future__ import annotations

import os
from pathlib import Path

from lightning.pytorch.loggers import Logger, TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf, open_dict

from univa.errors import InputError
from univa.report.analysis import CONFUSION_COLUMNS, RunAnalysis


def is_wandb(node: DictConfig | None) -> bool:
    return node is not None and str(node.get("_target_", "")).endswith(".WandbLogger")


def earlier_wandb_run_id(save_dir: Path) -> str | None:
    """The id of the newest W&B run in `<save_dir>/wandb` (`[offline-]run-<stamp>-<id>`)."""
    runs = [path.name for path in (save_dir / "wandb").glob("*run-*-*") if path.is_dir()]
    if not runs:
        return None
    return max(runs, key=lambda name: name.split("run-", 1)[1]).rsplit("-", 1)[1]


def continue_wandb_run(cfg: DictConfig) -> None:
    """Give the W&B logger of a run resumed in its own folder that folder's W&B run id: it
    continues that run (Lightning's `WandbLogger` resumes with `resume="allow"`) instead of
    starting another. `logger.wandb.id` and WANDB_RUN_ID win."""
    for node in (cfg.get("logger") or {}).values():
        if not is_wandb(node) or node.get("id") is not None or "WANDB_RUN_ID" in os.environ:
            continue
        run_id = earlier_wandb_run_id(Path(str(node.save_dir)))
        if run_id:
            with open_dict(node):
                node.id = run_id


def start_tracking(loggers: list[Logger], cfg: DictConfig) -> None:
    """Start the W&B run now, so a missing login fails before training with a fix in the message,
    and record the whole resolved config (not only the module's arguments, and the run's `tags`)
    with every logger."""
    tags = [str(tag) for tag in cfg.get("tags") or []]
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            _start_wandb_run(logger)
            _add_wandb_tags(logger, tags)
    run_keys = [key for key in cfg if key != "hydra"]
    config = OmegaConf.to_container(OmegaConf.masked_copy(cfg, run_keys), resolve=True)
    for logger in loggers:
        logger.log_hyperparams(config)


@rank_zero_only
def _start_wandb_run(logger: WandbLogger) -> None:
    import wandb

    # Lightning always passes `anonymous` (None by default), a setting wandb warns is gone
    if logger._wandb_init.get("anonymous") is None:
        logger._wandb_init.pop("anonymous", None)
    try:
        logger.experiment  # noqa: B018 (the property creates the run)
    except wandb.errors.Error as error:
        raise InputError(
            f"logger=wandb could not start a W&B run ({type(error).__name__}: {error}); run "
            "`wandb login`, or log locally with logger.wandb.mode=offline (or WANDB_MODE=offline)"
        ) from error


@rank_zero_only
def _add_wandb_tags(logger: WandbLogger, tags: list[str]) -> None:
    """The config's `tags` after those W&B already has (`logger.wandb.tags`, WANDB_TAGS)."""
    run = logger.experiment
    new = [tag for tag in tags if tag not in run.tags]
    if new:
        run.tags = (*run.tags, *new)


def tracker_locations(loggers: list[Logger]) -> dict[str, str]:
    """Where each logger put the run, for the end-of-run summary (rank 0)."""
    locations = {}
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            run = logger.experiment
            if run.settings.mode == "disabled":
                continue
            if run.settings.mode in ("offline", "dryrun"):
                locations["W&B run"] = f"{Path(run.dir).parent} (upload: wandb sync <folder>)"
            else:
                locations["W&B run"] = str(run.url)
        elif logger.log_dir:
            locations[type(logger).__name__.removesuffix("Logger")] = str(logger.log_dir)
    return locations


def log_analysis(loggers: list[Logger], analysis: RunAnalysis, results: dict, step: int) -> None:
    """Tuned-threshold metrics to every logger; figures to TensorBoard; figures, tables and a
    per-label F1 bar chart to W&B."""
    tuned = analysis.decisions.tuned
    if tuned:
        scalars = {
            f"tuned_{split}/{key}": value
            for split in ("val", "test")
            for key, value in tuned.get(split, {}).items()
            if key != "per_label_f1"
        }
        for logger in loggers:
            logger.log_metrics(scalars, step=step)
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            _log_to_wandb(logger, analysis, results)
        elif isinstance(logger, TensorBoardLogger):
            for name, figure in analysis.figures.items():
                logger.experiment.add_figure(f"analysis/{name}", figure, step, close=False)
        logger.save()


def _log_to_wandb(logger: WandbLogger, analysis: RunAnalysis, results: dict) -> None:
    import wandb

    media: dict = {
        f"analysis/{name}": wandb.Image(str(path))
        for name, path in analysis.files.items()
        if path.suffix == ".png"
    }
    sweep = analysis.sweep_rows()
    media["analysis/threshold_sweep_val_table"] = wandb.Table(
        columns=["threshold", "micro_f1", "macro_f1"], data=sweep
    )
    media["analysis/threshold_sweep_val_chart"] = wandb.plot.line_series(
        xs=[row[0] for row in sweep],
        ys=[[row[1] for row in sweep], [row[2] for row in sweep]],
        keys=["micro_f1", "macro_f1"],
        title="F1 against the decision threshold (validation)",
        xname="threshold",
    )
    if analysis.test is not None:
        per_label = wandb.Table(
            columns=["label", "f1"],
            data=[list(item) for item in results["test"]["per_label_f1"].items()],
        )
        media["test/per_label_f1_table"] = per_label
        media["test/per_label_f1_chart"] = wandb.plot.bar(
            per_label, "label", "f1", title="test F1 per label (best checkpoint)"
        )
        media["test/confusion_counts"] = wandb.Table(
            columns=["label", *CONFUSION_COLUMNS], data=analysis.confusion_rows()
        )
        media["test/predictions"] = wandb.Table(
            columns=analysis.predictions_header(), data=analysis.predictions_rows()
        )
    logger.experiment.log(media)


def finish_tracking(loggers: list[Logger], failed: bool) -> None:
    """End this job's W&B run (marked failed on an error): a new `WandbLogger` would otherwise
    reuse it, and the next job of a multirun would log into this job's run."""
    if not any(isinstance(logger, WandbLogger) for logger in loggers):
        return
    import wandb

    if wandb.run is not None:
        wandb.run.finish(exit_code=1 if failed else 0)
