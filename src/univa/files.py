"""Files and folders written whole or not at all.

A user's own file is never replaced; a run's own outputs (rewritten when a run reuses its
folder) are replaced in one step; generated folders appear only once complete.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def building_folder(out: Path, last: str | None = None) -> Iterator[Path]:
    """A temporary sibling of `out` to write into; on success its entries move into `out`
    (created when absent), the one named `last` moved last so that a reader checking for it
    finds the rest in place. On an error nothing appears in `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    tmp.mkdir()  # not tempfile.mkdtemp: its 0o700 would carry over to the published folder
    try:
        yield tmp
        if out.exists():
            for entry in sorted(tmp.iterdir(), key=lambda path: path.name == last):
                entry.rename(out / entry.name)
        else:
            tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
