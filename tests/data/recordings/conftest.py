"""The recordings' tests need the `extract` extra (openSMILE, PyAV): without it they are not
collected."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import pytest

if not (find_spec("opensmile") and find_spec("av")):
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """`clips/` (4 recordings, one in a sub-folder), `transcripts.csv` and `labels.csv`."""
    from recording_clips import write_corpus

    return write_corpus(tmp_path)
