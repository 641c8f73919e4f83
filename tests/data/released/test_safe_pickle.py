"""The restricted unpickler builds every kind of data a feature pickle holds, and nothing else."""

import collections
import io
import os
import pickle

import numpy as np
import pytest

from univa.data.released.safe_pickle import RefusedGlobalError, load_data_pickle


def released_style_content() -> dict:
    """What the released and synthetic pickles hold (docs/data-format.md §1.2), plus numpy scalars,
    dtypes, a Fortran-ordered and an object array, sets and an OrderedDict."""
    table = {
        "audio": np.random.default_rng(0).normal(size=(3, 4, 5)).astype(np.float32),
        "audio_utt_mask": np.ones((3, 4), dtype=np.float64),
        "audio_VA_values": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(3, 2)),
        "labels_class": np.eye(3, 6, dtype=np.int64),
    }
    return {
        "train": table,
        "num_labels": 6,
        "extras": [np.float32(1.5), np.int64(7), np.dtype("<f8"), np.bool_(True)],
        "ids": np.array(["a_1", "b_2"], dtype=object),
        "misc": (1 + 2j, {3, 4}, frozenset({5}), collections.OrderedDict(k=None), b"raw"),
    }


def assert_same(a, b) -> None:
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        assert a == b and type(a) is type(b)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_protocol_of_feature_data_loads_unchanged(protocol: int) -> None:
    content = released_style_content()
    loaded = load_data_pickle(io.BytesIO(pickle.dumps(content, protocol=protocol)))
    assert_same(content, loaded)


def test_pickle_written_by_numpy_1_loads() -> None:
    """numpy 1.x names `numpy.core.multiarray`, numpy 2 `numpy._core.multiarray`."""
    data = pickle.dumps(np.arange(4.0), protocol=2).replace(b"numpy._core", b"numpy.core")
    assert b"numpy.core.multiarray" in data
    assert np.array_equal(load_data_pickle(io.BytesIO(data)), np.arange(4.0))


class Shell:
    def __reduce__(self):
        return (os.system, ("true",))


@pytest.mark.parametrize(
    ("obj", "name"),
    [(Shell(), f"{os.name}.system"), (collections.Counter(), "collections.Counter")],
)
def test_anything_else_is_refused_by_name(obj: object, name: str) -> None:
    with pytest.raises(RefusedGlobalError) as caught:
        load_data_pickle(io.BytesIO(pickle.dumps({"x": obj})))
    assert caught.value.name == name
