"""One progress bar for the commands that work through many items (predicting, extracting)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(total: int, description: str) -> Iterator[Callable[[int], None]]:
    """`advance(n)` of a rich progress bar of `total` items on a terminal (stderr); else
    silent, so that logs and pipes get no control characters."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
