"""CSV files written whole or not at all: a user's own file is never replaced, a run's own
outputs (rewritten when a run reuses its folder) are replaced in one step."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

from univa.errors import InputError


def write_csv(path: Path, header: list[str], rows: list[list], replace: bool = False) -> None:
    """Write a complete file at `path` through a temporary file next to it.

    `replace=False` hard-links it into place, which fails instead of replacing a file that is
    there (also one that appeared meanwhile); `replace=True` renames it over any old file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    except FileExistsError:
        raise InputError(f"{path} already exists; not overwriting it") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
