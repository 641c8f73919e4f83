"""A run resumed in its own folder continues its loggers' records: every epoch once.

Lightning's CSV logger deletes `metrics.csv` when it starts in a folder that holds one, and
TensorBoard and W&B start new records beside the old. Here, before a resumed run logs anything,
the CSV file and TensorBoard's event files drop what the interrupted run logged after its
checkpoint (steps from the checkpoint's step on: its epochs end at the step before) and the
CSV logger appends to what is left; W&B continues the folder's earlier run
(`univa.report.tracking.continue_wandb_run`).
"""

from __future__ import annotations

import csv
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger as LightningCSVLogger
from lightning.pytorch.loggers import Logger, TensorBoardLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only

from univa.files import atomic_write

STEP = "step"  # the CSV column of the step each row was logged at


class CSVLogger(LightningCSVLogger):
    """Lightning's CSV logger, appending to the `metrics.csv` of a resumed run."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir)
        return self._experiment


class _AppendingWriter(ExperimentWriter):
    def _check_log_dir_exists(self) -> None:
        """Keep an earlier `metrics.csv` (Lightning deletes it) and start from its columns.

        A fresh run never finds one: the run folder refuses a used folder
        (`univa.training.run_folder`), so only a resumed run appends.
        """
        if self._fs.isfile(self.metrics_file_path):
            with self._fs.open(self.metrics_file_path, "r", newline="") as file:
                self.metrics_keys = next(csv.reader(file), [])


def keep_csv_rows_before(path: Path, step: int) -> None:
    """Drop the rows of `path` logged at `step` or later."""
    if not path.is_file():
        return
    with path.open(newline="") as file:
        reader = csv.DictReader(file)
        header, rows = list(reader.fieldnames or []), list(reader)
    kept = [row for row in rows if not row.get(STEP) or float(row[STEP]) < step]
    if len(kept) == len(rows):
        return
    with atomic_write(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=header)
        writer.writeheader()
        writer.writerows(kept)


def keep_tensorboard_events_before(log_dir: Path, step: int) -> None:
    """Drop the summaries of the event files in `log_dir` logged at `step` or later."""
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.summary.writer.record_writer import RecordWriter

    for path in sorted(log_dir.glob("events.out.tfevents.*")):
        records = list(RawEventFileLoader(str(path)).Load())
        kept = []
        for record in records:
            event = Event.FromString(record)
            if not event.HasField("summary") or event.step < step:
                kept.append(record)
        if len(kept) == len(records):
            continue
        with atomic_write(path) as file:
            writer = RecordWriter(file)
            for record in kept:
                writer.write(record)


@rank_zero_only
def continue_logs(loggers: list[Logger], step: int) -> None:
    """Make the CSV and TensorBoard records of a run resumed at `step` end before it."""
    for logger in loggers:
        if isinstance(logger, LightningCSVLogger):
            keep_csv_rows_before(Path(logger.log_dir) / ExperimentWriter.NAME_METRICS_FILE, step)
        elif isinstance(logger, TensorBoardLogger):
            keep_tensorboard_events_before(Path(logger.log_dir), step)
