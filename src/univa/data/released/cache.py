"""A cache of plain arrays beside the released pickles (`<data_dir>/.univa_cache/`).

Unpickling is slow, so each pickle is converted once into an `.npz` of plain arrays, read back
with `allow_pickle=False`. The cache file's name carries a hash of the cache format and of the
source's name, size, modification time, inode number and inode change time: touching or
replacing the source makes a new one, also a replacement that kept the old size and times
(`cp -p`, `rsync -t`, untar), as writing or renaming a file always sets its change time or gives
it a new inode. Each cache file also stores a checksum of its own arrays, checked on every read:
a damaged or edited entry is rebuilt from the source, with a warning, never used. The released
files themselves are never changed.

An entry of `MMAP_MIN_BYTES` or more (a benchmark-sized split) is memory-mapped, copy-on-write,
instead of read into memory: its pages are shared with the page cache and loaded as rows are
used, so several splits of several GiB need no private copy. The checksum is still verified on
every read; it is a CRC-32 (about 4x faster than a cryptographic hash here, and as good at
catching damage: it is stored unkeyed beside the arrays, so no hash could stop a deliberate
forger). Entries are only ever replaced by renaming a new file over them, which leaves a mapped
old file intact; editing an entry in place while a run has it mapped is not supported.
"""

from __future__ import annotations

import hashlib
import math
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from univa.data.npy_file import plain_layout
from univa.files import atomic_write

CACHE_DIR_NAME = ".univa_cache"
CACHE_FORMAT = 5  # part of every cache key: a new format ignores (and replaces) older files
CHECKSUM_KEY = "__checksum__"  # stored in every cache file beside the arrays it covers
MMAP_MIN_BYTES = 64 * 2**20  # entries this large are memory-mapped instead of read into memory
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # a zip member's signature, name and extra lengths


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
    """CRC-32 over every array's name, dtype, shape and bytes, as a uint32 array to store."""
    crc = 0
    for name in sorted(arrays):
        array = arrays[name]
        crc = zlib.crc32(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode(), crc)
        crc = zlib.crc32(np.ascontiguousarray(array), crc)  # also an empty array's 0 bytes
    return np.array([crc], dtype=np.uint32)


class _DamagedCacheError(Exception):
    """Why a cache file cannot be used."""


def _mapped_member(file, info: zipfile.ZipInfo, path: Path) -> np.ndarray:
    """One `.npy` member of an uncompressed `.npz`, memory-mapped copy-on-write (writes to the
    array stay private), after checking that its header and size fit the member."""
    if info.compress_type != zipfile.ZIP_STORED:
        raise _DamagedCacheError(f"member {info.filename} is compressed")
    file.seek(info.header_offset)
    signature, name_size, extra_size = _LOCAL_HEADER.unpack(file.read(_LOCAL_HEADER.size))
    if signature != b"PK\x03\x04":
        raise _DamagedCacheError(f"member {info.filename} has no local header")
    start = info.header_offset + _LOCAL_HEADER.size + name_size + extra_size
    file.seek(start)
    try:
        shape, fortran_order, dtype = plain_layout(file, info.file_size)
    except ValueError as error:
        raise _DamagedCacheError(f"member {info.filename}: {error}") from None
    offset = file.tell()
    size = dtype.itemsize * math.prod(shape)
    if size == 0:
        return np.zeros(shape, dtype=dtype)
    order = "F" if fortran_order else "C"
    return np.memmap(path, dtype=dtype, mode="c", offset=offset, shape=shape, order=order)


def _mapped(path: Path) -> dict[str, np.ndarray]:
    """Every array of the `.npz` at `path`, memory-mapped (see `_mapped_member`)."""
    with zipfile.ZipFile(path) as archive, path.open("rb") as file:
        return {
            info.filename.removesuffix(".npy"): _mapped_member(file, info, path)
            for info in archive.infolist()
        }


def _read(path: Path) -> dict[str, np.ndarray]:
    """The cached arrays (memory-mapped from `MMAP_MIN_BYTES`), checked against the checksum
    stored with them."""
    try:
        arrays = _mapped(path)  # every header checked before anything is read
        if path.stat().st_size < MMAP_MIN_BYTES:
            arrays = {name: np.array(array) for name, array in arrays.items()}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, struct.error) as error:
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
    rebuilt from the source on every load, with a warning. A large entry, once written, is
    returned memory-mapped, so the built arrays are freed.
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
    if path.stat().st_size < MMAP_MIN_BYTES:
        return arrays
    try:
        mapped = _mapped(path)  # the map of what was just written replaces the built copy
    except _DamagedCacheError:  # the next read rebuilds it; this one keeps the built arrays
        return arrays
    mapped.pop(CHECKSUM_KEY)
    return mapped
