"""`univa.report.results`: results.json as scripts read it, and the summary a run prints."""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import OmegaConf
from rich.console import Console

from univa.constants import RESULTS_FILE
from univa.report.results import print_config_tree, print_results_table, write_results


def metrics(acc: float, num_samples: int) -> dict:
    return {
        "acc": acc,
        "hl": 0.1234,
        "micro_f1": 55.556,
        "macro_f1": 44.444,
        "num_samples": num_samples,
    }


def recorded() -> Console:
    return Console(record=True, width=200, color_system=None)


def test_write_results_is_the_json_scripts_read_and_is_replaced_whole(tmp_path: Path) -> None:
    path = write_results(tmp_path, {"seed": 1, "test": {"micro_f1": 50.0}})
    assert path == tmp_path / RESULTS_FILE
    write_results(tmp_path, {"seed": 2})
    assert json.loads(path.read_text()) == {"seed": 2}
    assert [p.name for p in tmp_path.iterdir()] == [RESULTS_FILE]


def test_results_table_has_a_row_per_split_and_tuned_split_with_their_formats() -> None:
    test = metrics(63.0, 26) | {
        "per_label_f1": {"happy": 71.25, "sad": 12.5},
        "best_constant_micro_f1": 33.333,
        "thresholds": {"mode": "global", "values": {"happy": 0.3, "sad": 0.3}},
    }
    results = {
        "val": metrics(61.0, 10),
        "test": test,
        "fixed": {"threshold": 0.18, "test": metrics(62.0, 26)},
        "tuned": {"mode": "global", "test": test},
        "best_checkpoint": "/runs/x/checkpoints/best.ckpt",
    }
    console = recorded()
    print_results_table(results, Path("/runs/x"), {"predictions": "/runs/x/p.csv"}, console)
    lines = console.export_text().splitlines()
    rows = {line.split("│")[1].strip(): line for line in lines if line.count("│") > 2}
    assert set(rows) >= {"val", "test (threshold 0.18)", "test (global thresholds)"}
    assert "test" not in rows  # the tuned thresholds decide the run's test metrics
    assert "val (global thresholds)" not in rows  # only the splits the tuning reported
    assert "61.00" in rows["val"] and "0.123" in rows["val"] and "55.56" in rows["val"]
    assert "63.00" in rows["test (global thresholds)"]
    assert "62.00" in rows["test (threshold 0.18)"]
    text = "\n".join(lines)
    assert "71.25" in text and "12.50" in text  # per-label test F1
    assert "best constant prediction on test: miF1 33.33" in text
    assert "/runs/x/results.json" in text and "/runs/x/checkpoints/best.ckpt" in text
    assert "/runs/x/p.csv" in text


def test_results_table_without_a_test_split_prints_no_per_label_table() -> None:
    console = recorded()
    print_results_table(
        {"val": metrics(1.0, 3), "best_checkpoint": "b.ckpt"}, Path("r"), console=console
    )
    text = console.export_text()
    assert "val" in text and "F1 per label" not in text and "best constant" not in text


def test_config_tree_has_a_branch_per_group_resolved_and_leaves_out_hydra() -> None:
    cfg = OmegaConf.create(
        {
            "seed": 7,
            "paths": {"root": "/r", "data_dir": "${paths.root}/data"},
            "hydra": {"job": {"name": "secret_hydra_job"}},
        }
    )
    console = recorded()
    print_config_tree(cfg, console)
    text = console.export_text()
    assert "seed" in text and "7" in text
    assert "data_dir: /r/data" in text  # interpolations resolved
    assert "secret_hydra_job" not in text and "hydra" not in text


def test_results_of_a_run_without_checkpoints_name_no_best_checkpoint() -> None:
    """debug=fdr saves no checkpoint: no `best checkpoint  None` line."""
    console = recorded()
    print_results_table(
        {"val": metrics(1.0, 3), "best_checkpoint": None}, Path("r"), console=console
    )
    text = console.export_text()
    assert "None" not in text
    assert [line.split()[0] for line in text.splitlines()[-1:]] == ["results"]
