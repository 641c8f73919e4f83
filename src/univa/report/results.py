"""What a run reports: its config at the start, then `results.json` and a summary of it."""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from rich.tree import Tree

from univa.constants import METRIC_FORMATS, RESULTS_FILE, format_metric, metric_name
from univa.files import write_text
from univa.model.thresholds import FIXED
from univa.report.console import console as default_console


def write_results(output_dir: Path, results: dict) -> Path:
    """`<output_dir>/results.json` (docs/run-folder.md §2), the file scripts and `aggregate` read."""
    path = output_dir / RESULTS_FILE
    write_text(path, json.dumps(results, indent=2))  # the old file stays whole on a full disk
    return path


def reported_metrics(results: dict) -> dict[str, dict]:
    """Name -> metrics of each entry of a run's results: `val` (at model.threshold, which chose
    the checkpoint), validation at the tuned thresholds, `test` at the run's thresholds, and
    test at model.threshold when tuned thresholds decided (`fixed`)."""
    rows = {"val": results["val"]} if "val" in results else {}
    tuned = results.get("tuned") or {}
    if "val" in tuned:
        rows[f"val ({tuned['mode']} thresholds)"] = tuned["val"]
    if "test" in results:
        mode = results["test"].get("thresholds", {}).get("mode", FIXED)
        rows["test" if mode == FIXED else f"test ({mode} thresholds)"] = results["test"]
    if "fixed" in results:
        rows[f"test (threshold {results['fixed']['threshold']:g})"] = results["fixed"]["test"]
    return rows


def print_results_table(
    results: dict,
    output_dir: Path,
    locations: dict[str, str] | None = None,
    console: Console | None = None,
) -> None:
    """Acc / HL / miF1 / maF1 of the best checkpoint on valid and test (and at tuned thresholds),
    per-label test F1, then where the run's files are (`locations`: what -> where)."""
    console = console or default_console()
    table = Table(title="UniVA: best checkpoint", title_style="bold")
    table.add_column("split")
    for name in (*map(metric_name, METRIC_FORMATS), "utterances"):
        table.add_column(name, justify="right")
    for name, m in reported_metrics(results).items():
        table.add_row(
            name, *(format_metric(k, m[k]) for k in METRIC_FORMATS), str(m["num_samples"])
        )
    console.print(table)
    if "test" in results:
        per_label = Table(title="test F1 per label")
        labels = list(results["test"]["per_label_f1"])
        for label in labels:
            per_label.add_column(label, justify="right")
        f1 = results["test"]["per_label_f1"]  # shown like maF1, their mean
        per_label.add_row(*(format_metric("macro_f1", f1[label]) for label in labels))
        console.print(per_label)
        constant = format_metric("micro_f1", results["test"]["best_constant_micro_f1"])
        console.print(f"best constant prediction on test: {metric_name('micro_f1')} {constant}")
    where = {"results": str(output_dir / RESULTS_FILE)}
    if results.get("best_checkpoint"):  # none without checkpointing (debug=fdr)
        where["best checkpoint"] = results["best_checkpoint"]
    where |= locations or {}
    width = max(map(len, where)) + 2
    for name, path in where.items():  # whole paths, never cut to the terminal's width
        console.print(f"{name:<{width}}{path}", highlight=False, soft_wrap=True)


def print_config_tree(cfg: DictConfig, console: Console | None = None) -> None:
    """The resolved run config as a tree, one branch per top-level group, before training."""
    tree = Tree("config", guide_style="dim")
    for key, value in cfg.items():
        if key == "hydra":
            continue
        text = (
            OmegaConf.to_yaml(value, resolve=True) if isinstance(value, DictConfig) else str(value)
        )
        tree.add(f"[bold]{key}[/bold]").add(Syntax(text.rstrip(), "yaml", theme="ansi_dark"))
    (console or default_console()).print(tree)
