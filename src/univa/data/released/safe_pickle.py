"""Unpickling that builds only data: numpy arrays, scalars and dtypes, plain containers, numbers
and strings.

A pickle names the callables that rebuild its objects, and plain `pickle.load` imports and calls
whatever it names (`os.system`, a class's constructor...). The released features need only the
few numpy and builtin names below, so every other name is refused before anything is imported
or called: a feature file can hold data, never code.
"""

from __future__ import annotations

import _codecs
import builtins
import collections
import pickle
from typing import Any, BinaryIO

import numpy as np

try:  # numpy >= 2
    from numpy._core import multiarray, numeric
except ImportError:  # numpy 1.x
    from numpy.core import multiarray, numeric


def _numpy_globals() -> dict[tuple[str, str], Any]:
    """What numpy's pickles reference, under the module names numpy 1.x and 2.x write."""
    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{package}.multiarray", "scalar")] = multiarray.scalar
        allowed[(f"{package}.multiarray", "ndarray")] = np.ndarray
        allowed[(f"{package}.multiarray", "dtype")] = np.dtype
        allowed[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer  # protocol 5
    return allowed


_BUILTINS = ("list", "dict", "tuple", "set", "frozenset", "str", "int", "float", "bool", "complex")

# (module, name) -> the object a pickle may reference; nothing else is ever imported
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    **{
        (module, name): getattr(builtins, name)
        for module in ("builtins", "__builtin__")  # protocols 0-2 write Python 2's name
        for name in _BUILTINS
    },
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("_codecs", "encode"): _codecs.encode,  # how protocols 0-2 spell bytes (numpy's buffers)
    **_numpy_globals(),
}


class RefusedGlobalError(pickle.UnpicklingError):
    """A pickle referenced a global outside `ALLOWED_GLOBALS`; `name` is `module.name`."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class DataUnpickler(pickle.Unpickler):
    """A `pickle.Unpickler` whose `find_class` serves only `ALLOWED_GLOBALS`."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise RefusedGlobalError(f"{module}.{name}") from None


def load_data_pickle(file: BinaryIO) -> Any:
    """`pickle.load(file)`, refusing (with `RefusedGlobalError`) anything that is not data."""
    return DataUnpickler(file).load()
