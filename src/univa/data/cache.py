"""A cache of plain arrays beside the released pickles (`<data_dir>/.univa_cache/`).

Unpickling is slow and runs arbitrary code, so each pickle is converted once into an `.npz` of
plain arrays, read back with `allow_pickle=False`. The cache file's name carries a hash of the
cache format and of the source's name, size and modification time: touching or replacing the
source makes a new one. The released files themselves are never changed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

CACHE_DIR_NAME = ".univa_cache"
CACHE_FORMAT = 2  # part of every cache key: a new format ignores (and replaces) older files


def cache_path(source: Path, cache_dir: Path) -> Path:
    """Where the arrays of `source` are cached, e.g. `MOSEI_train_audio_utt_VA-3f2a....npz`."""
    stat = source.stat()
    fingerprint = f"{CACHE_FORMAT}\0{source.name}\0{stat.st_size}\0{stat.st_mtime_ns}"
    key = hashlib.sha256(fingerprint.encode()).hexdigest()
    return cache_dir / f"{source.stem}-{key[:16]}.npz"


def _read(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when there is no usable cache file."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile):
        return None


def _write(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write atomically (a temporary file, then a rename), and drop older caches of the source."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            np.savez(file, **arrays)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    stem = path.stem.rsplit("-", 1)[0]
    for stale in path.parent.glob(f"{stem}-*.npz"):
        if stale != path:
            stale.unlink(missing_ok=True)


def cached_arrays(
    source: Path, cache_dir: Path, build: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """The arrays of `source`: from the cache when it is current, else `build()` (then cached).

    A cache folder that cannot be written (e.g. a read-only dataset folder) only costs speed:
    the arrays are rebuilt from the source on every load, with a warning.
    """
    path = cache_path(source, cache_dir)
    cached = _read(path) if path.is_file() else None
    if cached is not None:
        return cached
    arrays = build()
    try:
        _write(path, arrays)
    except OSError as error:
        warnings.warn(
            f"cannot write the array cache {path} ({error}); reading {source} without a cache",
            stacklevel=2,
        )
    return arrays
