"""`python -m univa.evaluate ckpt_path=... [split=valid] [overrides]`: test a checkpoint on a split.

`pretrained=DIR` instead of `ckpt_path=` tests a folder written by `univa.export` (or a hub id).
Writes `${paths.output_dir}/results.json` as `{split: {acc, hl, micro_f1, macro_f1, num_samples,
per_label_f1}, "checkpoint": path, "thresholds": {"values": {label: t}, "source": line}}`
("pretrained": DIR for a folder): the metrics decide at the thresholds `univa.predict` decides
at (`univa.predict.decision_thresholds`: `model.threshold` when given, else those the run tuned
on validation for this checkpoint, else its fixed one), and `source` says which. The data is
the checkpoint's own (`dataset: recorded`: each data option left null is the recorded one); a
dataset option given, or a dataset group chosen, is the user's, as in `univa.train`.
`evaluate(cfg)` is importable and returns that dict.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from univa.cli.command import entry_point
from univa.constants import METRIC_FORMATS, format_metric, metric_name

# split -> (the Trainer method that runs it, the key the module stores its summary under)
RUNS = {"valid": ("validate", "val"), "test": ("test", "test")}


def evaluate(cfg: DictConfig) -> dict:
    """Metrics of the checkpoint `cfg.ckpt_path` (or the folder `cfg.pretrained`) on `cfg.split`,
    also written to results.json."""
    # here, not at import: --help and --cfg answer without Lightning
    from univa.predict import decision_thresholds
    from univa.report.results import write_results
    from univa.training.from_checkpoint import (
        build_trainer,
        checkpoint_path,
        chosen_split,
        load_checkpoint_and_data,
    )

    path = checkpoint_path(cfg)
    split = chosen_split(cfg, tuple(RUNS))
    module, datamodule = load_checkpoint_and_data(cfg, path)
    # the thresholds predict decides at, so that both give one answer per model
    thresholds = decision_thresholds(cfg, path, module)
    module.eval_thresholds = thresholds
    trainer = build_trainer(cfg)
    run, stage = RUNS[split]
    getattr(trainer, run)(module, datamodule=datamodule, verbose=False)
    whence = f"thresholds: {thresholds.source}"
    source = "pretrained" if path.is_dir() else "checkpoint"  # an exported folder, or a .ckpt
    results = {
        split: module.last_summary[stage],
        source: str(path),
        "thresholds": {"values": thresholds.values, "source": whence},
    }
    if trainer.is_global_zero:
        output = write_results(Path(cfg.paths.output_dir), results)
        m = results[split]
        shown = "  ".join(f"{metric_name(k)} {format_metric(k, m[k])}" for k in METRIC_FORMATS)
        print(f"{split}: {shown}  ({m['num_samples']} utterances)\n{whence}\nresults: {output}")
    return results


main = entry_point("univa.evaluate", "evaluate", evaluate)


if __name__ == "__main__":
    main()
