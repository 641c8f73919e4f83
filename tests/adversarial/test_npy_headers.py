"""`.npy` files whose header lies (issue 20, item 3): a negative or overflowing dimension, more
rows than the file holds. Each is one reported problem naming the file, never an
`OverflowError` traceback or an allocation the size of the lie."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from command_line import run_in_process
from folder_data import write_tiny
from univa.data import read_folder_split, validate_dataset
from univa.data.released import cache
from univa.data.released.cache import CacheRebuildWarning, cache_path, cached_arrays
from univa.errors import InputError

LIES = {
    "negative": lambda shape: (shape[0], -shape[1], shape[2]),
    "negative-pair": lambda shape: (shape[0], -shape[1], -shape[2]),  # same byte count
    "overflowing": lambda shape: (2**62, 2**62, shape[2]),
    "too-many-rows": lambda shape: (10**9, *shape[1:]),
}


def lie_about_shape(path: Path, lie) -> None:
    """Rewrite `path`'s header to declare `lie(shape)`, keeping its data bytes."""
    array = np.load(path)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": array.dtype.str, "fortran_order": False, "shape": lie(array.shape)}
    )
    path.write_bytes(header.getvalue() + array.tobytes())


@pytest.mark.parametrize("lie", LIES.values(), ids=LIES.keys())
def test_a_lying_header_is_one_problem_naming_the_file(tmp_path: Path, lie) -> None:
    out = write_tiny(tmp_path / "ds")
    lie_about_shape(out / "train" / "audio.npy", lie)
    problems = validate_dataset(out)
    assert len(problems) == 1, problems
    assert problems[0].startswith("train/audio.npy: cannot read it as a .npy array")
    assert "not a plain numeric .npy array" in problems[0]
    with pytest.raises(InputError, match=r"train/audio\.npy: not a plain numeric"):
        read_folder_split(out, "train")


def test_train_on_a_lying_header_ends_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = write_tiny(tmp_path / "ds")
    lie_about_shape(out / "train" / "audio.npy", LIES["negative"])
    failure = run_in_process(
        monkeypatch, tmp_path, "univa.train", "dataset=folder", f"dataset.data_dir={out}"
    )
    assert failure.returncode != 0 and len(failure.lines) == 1, failure.stderr
    assert failure.lines[0].startswith("univa.train: error: ")
    assert "train/audio.npy: cannot read it as a .npy array" in failure.lines[0]


@pytest.mark.parametrize("mapped", [True, False], ids=["mapped", "in-memory"])
def test_a_cache_entry_with_a_lying_header_is_rebuilt(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mapped: bool
) -> None:
    if mapped:
        monkeypatch.setattr(cache, "MMAP_MIN_BYTES", 0)
    source = tmp_path / "source.pkl"
    source.write_bytes(b"released")
    arrays = {"features": np.arange(24, dtype=np.float32).reshape(4, 3, 2)}
    cached_arrays(source, tmp_path / "cache", lambda: dict(arrays))
    entry = cache_path(source, tmp_path / "cache")
    data = entry.read_bytes()
    honest = b"'shape': (4, 3, 2), }"
    assert data.count(honest) == 1
    entry.write_bytes(data.replace(honest + b"  ", b"'shape': (4, -3, -2), }"))
    with pytest.warns(CacheRebuildWarning, match="damaged array cache"):
        again = cached_arrays(source, tmp_path / "cache", lambda: dict(arrays))
    assert np.array_equal(again["features"], arrays["features"])
