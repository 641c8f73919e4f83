"""A cache of plain arrays beside the released pickles (`<data_dir>/.univa_cache/`).

Unpickling is slow, so each pickle is converted once into an `.npz` of plain arrays, read back
with `allow_pickle=False`. The cache file's name carries a hash of the cache format and of the
source's name, size, modification time, inode number and inode change time: touching or
replacing the source makes a new one, also a replacement that kept the old size and times
(`cp -p`, `rsync -t`, untar), as writing or renaming a file always sets its change time or gives
it a new inode. Each cache file also stores a checksum of its own arrays, checked on every read:
a damaged or edited entry is rebuilt from the source, with a warning, never used. The released
files themselves are never changed.
"""

from __future__ import annotations

import hashlib
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from univa.files import atomic_write

CACHE_DIR_NAME = ".univa_cache"
CACHE_FORMAT = 4  # part of every cache key: a new format ignores (and replaces) older files
CHECKSUM_KEY = "__checksum__"  # stored in every cache file beside the arrays it covers


class CacheRebuildWarning(UserWarning):
    """A cache entry was damaged or changed after it was written, and is rebuilt."""


def cache_path(source: Path, cache_dir: Path) -> Path:
    """Where the arrays of `source` are cached, e.g. `MOSEI_train_audio_utt_VA-3f2a....npz`."""
    stat = source.stat()
    fingerprint = "\0".join(
        str(part)
        for part in (
            CACHE_FORMAT,
            source.name,
            stat.st_size,
            stat.st_mtime_ns,
            stat.st_ino,
            stat.st_ctime_ns,
        )
    )
    key = hashlib.sha256(fingerprint.encode()).hexdigest()
    return cache_dir / f"{source.stem}-{key[:16]}.npz"


def checksum(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """blake2b over every array's name, dtype, shape and bytes, as a uint8 array to store."""
    digest = hashlib.blake2b(digest_size=32)
    for name in sorted(arrays):
        array = arrays[name]
        digest.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(np.ascontiguousarray(array))
    return np.frombuffer(digest.digest(), dtype=np.uint8)


class _DamagedCacheError(Exception):
    """Why a cache file cannot be used."""


def _read(path: Path) -> dict[str, np.ndarray]:
    """The cached arrays, checked against the checksum stored with them."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise _DamagedCacheError(f"unreadable: {type(error).__name__}: {error}") from None
    stored = arrays.pop(CHECKSUM_KEY, None)
    if stored is None:
        raise _DamagedCacheError("it has no checksum")
    if not np.array_equal(stored, checksum(arrays)):
        raise _DamagedCacheError("its arrays do not match its checksum")
    return arrays


def _write(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write the arrays and their checksum whole (`univa.files.atomic_write`: a kill or a full
    disk leaves the old file or none), then drop older caches of the source."""
    with atomic_write(path) as file:
        np.savez(file, **arrays, **{CHECKSUM_KEY: checksum(arrays)})
    stem = path.stem.rsplit("-", 1)[0]
    for stale in path.parent.glob(f"{stem}-*.npz"):
        if stale != path:
            stale.unlink(missing_ok=True)


def cached_arrays(
    source: Path, cache_dir: Path, build: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """The arrays of `source`: from the cache when it is current and intact, else `build()`
    (then cached).

    A damaged entry is rebuilt with a `CacheRebuildWarning` naming it. A cache folder that
    cannot be written (e.g. a read-only dataset folder) only costs speed: the arrays are
    rebuilt from the source on every load, with a warning.
    """
    path = cache_path(source, cache_dir)
    if path.is_file():
        try:
            return _read(path)
        except _DamagedCacheError as damage:
            warnings.warn(
                CacheRebuildWarning(
                    f"ignoring the damaged array cache {path} ({damage}); rebuilding it from "
                    f"{source}"
                ),
                stacklevel=2,
            )
    arrays = build()
    try:
        _write(path, arrays)
    except OSError as error:
        warnings.warn(
            f"cannot write the array cache {path} ({error}); reading {source} without a cache",
            stacklevel=2,
        )
    return arrays
