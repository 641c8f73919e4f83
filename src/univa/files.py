"""Files a run or a command line writes next to a user's own: complete, and never over theirs."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

from univa.errors import InputError


def write_new_csv(path: Path, header: list[str], rows: list[list]) -> None:
    """Write a complete file at `path` or nothing: a temporary file hard-linked into place,
    which fails instead of replacing a file that appeared meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        os.link(tmp, path)
    except FileExistsError:
        raise InputError(f"{path} already exists; not overwriting it") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
