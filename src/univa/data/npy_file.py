"""`.npy` arrays from a user's folder, their header checked before numpy acts on it.

numpy believes a header: a shape like (64, -40, 48) or one whose size overflows makes
`np.load(mmap_mode=...)` raise an `OverflowError` (or map a length that is not the file's), and
a shape of 10^12 rows makes a plain load allocate that much. univa reads only plain numeric
arrays, so a header must declare one, of exactly the bytes the file holds after it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np

from univa.errors import InputError

NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats
_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def plain_layout(file: BinaryIO, available: int) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype of the `.npy` header at `file`'s position, which must
    declare a plain numeric array filling exactly the `available` bytes from that position
    (header included); anything else raises `ValueError` saying what the header declares."""
    start = file.tell()
    version = np.lib.format.read_magic(file)
    reader = _HEADER_READERS.get(version)
    if reader is None:
        raise ValueError(f".npy format version {version} is not one univa reads")
    shape, fortran_order, dtype = reader(file)
    if any(size < 0 for size in shape):
        raise ValueError(f"its header declares the shape {shape}, with a negative size")
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"its header declares {dtype}, not a plain numeric dtype")
    declared = dtype.itemsize * math.prod(shape)  # Python integers: no overflow
    held = available - (file.tell() - start)
    if declared != held:
        raise ValueError(
            f"its header declares {shape} {dtype} ({declared} bytes), the file holds {held}"
        )
    return shape, fortran_order, dtype


def load_npy(path: Path, mmap_mode: str | None = None) -> np.ndarray:
    """The array of the `.npy` file `path` (memory-mapped with `mmap_mode`), never unpickled;
    a header that is not a plain numeric array of the file's size is an `InputError`."""
    with Path(path).open("rb") as file:
        try:
            plain_layout(file, os.fstat(file.fileno()).st_size)
        except ValueError as error:
            raise InputError(f"{path}: not a plain numeric .npy array ({error})") from None
    return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
