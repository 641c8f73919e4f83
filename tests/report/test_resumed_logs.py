"""A resumed run's loggers continue its records: the CSV file appended to after the rows of
steps before the checkpoint, W&B's earlier run found by its folder."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

from univa.report.resumed_logs import CSVLogger, keep_csv_rows_before
from univa.report.tracking import earlier_wandb_run_id


def test_a_resumed_csv_logger_appends_after_the_rows_before_its_step(tmp_path: Path) -> None:
    first = CSVLogger(tmp_path, name="csv", version="")
    for step in range(5):
        first.log_metrics({"loss": float(step)}, step=step)
    first.save()
    path = Path(first.log_dir) / "metrics.csv"
    keep_csv_rows_before(path, 3)  # the interrupted run's steps 3 and 4 come again
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Lightning's "previous log files ... will be deleted"
        resumed = CSVLogger(tmp_path, name="csv", version="")
        for step in (3, 4):
            resumed.log_metrics({"loss": float(step), "val/f1": 1.0}, step=step)
        resumed.save()
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [row["step"] for row in rows] == ["0", "1", "2", "3", "4"]
    assert [row["val/f1"] for row in rows] == ["", "", "", "1.0", "1.0"]


def test_the_earlier_wandb_run_is_the_newest_in_the_folder(tmp_path: Path) -> None:
    assert earlier_wandb_run_id(tmp_path) is None
    (tmp_path / "wandb" / "offline-run-20260101_120000-first").mkdir(parents=True)
    (tmp_path / "wandb" / "run-20260102_120000-second").mkdir()
    (tmp_path / "wandb" / "debug.log").write_text("")
    assert earlier_wandb_run_id(tmp_path) == "second"
