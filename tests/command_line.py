"""Run univa's command lines as a user does, in a subprocess or (faster) in this process."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

COMMANDS = ("univa.train", "univa.evaluate", "univa.predict")
# the commands that write no run folder (univa.cli.command.tool_entry_point)
TOOLS = (
    "univa.export",
    "univa.aggregate",
    "univa.convert_reference",
    "univa.data.convert",
    "univa.data.validate",
    "univa.data.synthetic",
    "univa.extract",
)


@dataclass
class Failure:
    """How a command ended: its exit status and what it wrote to stderr."""

    returncode: int
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stderr.strip().splitlines()


def run_subprocess(root: Path, program: str, *overrides: str, env: dict | None = None) -> Failure:
    """`python -m <program> paths.root_dir=<root> [overrides]`, as a user types it."""
    done = subprocess.run(
        [sys.executable, "-m", program, f"paths.root_dir={root}", *overrides],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
        cwd=root,
    )
    return Failure(done.returncode, done.stderr)


@contextmanager
def _logging_restored() -> Iterator[None]:
    """Hydra configures logging for a job; give the test process its own back."""
    names = ["", "lightning", "lightning.pytorch", "lightning.fabric"]
    loggers = [logging.getLogger(name) for name in names]
    saved = [(lg.handlers[:], lg.propagate, lg.level) for lg in loggers]
    try:
        yield
    finally:
        for logger, (handlers, propagate, level) in zip(loggers, saved, strict=True):
            logger.handlers[:] = handlers
            logger.propagate, logger.level = propagate, level


def run_in_process(
    monkeypatch: pytest.MonkeyPatch, root: Path, program: str, *args: str
) -> Failure:
    """The command's `main()` in this process with `sys.argv` set; it must fail."""
    main: Callable[[], None] = __import__(program, fromlist=["main"]).main
    monkeypatch.setattr(sys, "argv", [program, *args, f"paths.root_dir={root}"])
    monkeypatch.chdir(root)
    with _logging_restored(), pytest.raises(SystemExit) as exit_info:
        main()
    code = exit_info.value.code
    return Failure(1 if isinstance(code, str) else int(code or 0), str(code))


def created_folders(root: Path) -> list[Path]:
    """What a command left under `<root>/logs`."""
    return sorted((root / "logs").rglob("*")) if (root / "logs").exists() else []
