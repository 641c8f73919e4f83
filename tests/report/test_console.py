"""A clean console (issue 11, item 11): no library chatter, epochs counted from 1, nothing
cropped in a log file, and a train.log that holds the run's log."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from univa.report.results import print_config_tree, print_results_table

LONG = "/a/very/long/folder/name/that/does/not/fit/in/eighty/columns" * 3
METRICS = {"acc": 1.0, "hl": 0.1, "micro_f1": 2.0, "macro_f1": 3.0, "num_samples": 4}
# warnings.formatwarning's "path.py:line: message", as Python and Lightning print warnings
WARNING_LINE = re.compile(r"^\S+\.py:\d+: ")


def test_nothing_is_cropped_when_output_goes_to_a_file(capsys) -> None:
    print_config_tree(OmegaConf.create({"paths": {"data_dir": LONG}}))
    results = {"val": METRICS, "best_checkpoint": LONG + "/best.ckpt"}
    print_results_table(results, Path(LONG), {"label with a long name " * 4: LONG})
    out = capsys.readouterr().out
    assert f"data_dir: {LONG}" in out
    assert f"{LONG}/best.ckpt" in out and f"{LONG}/results.json" in out


@pytest.mark.slow
def test_a_default_run_prints_what_matters(tmp_path: Path) -> None:
    overrides = ["dataset.size=tiny", "trainer.max_epochs=1", "analysis.enabled=false"]
    done = subprocess.run(
        [sys.executable, "-m", "univa.train", f"paths.root_dir={tmp_path}", *overrides],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONWARNINGS": "default", "OMP_NUM_THREADS": "1"},
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    warnings = [line for line in done.stderr.splitlines() if WARNING_LINE.match(line)]
    assert len(warnings) <= 2, warnings
    for noise in (
        "LeafSpec",
        "smaller than the logging interval",
        "summary callbacks",
        "litlogger",
    ):
        assert noise not in done.stderr + done.stdout
    assert "Epoch 1/1" in done.stdout and "Epoch 0/0" not in done.stdout
    (log,) = (tmp_path / "logs").rglob("train.log")
    assert "`Trainer.fit` stopped: `max_epochs=1` reached." in log.read_text()
