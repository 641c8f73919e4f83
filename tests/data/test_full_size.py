"""Benchmark-scale synthetic data (`dataset.size=full`), planned without generating it, and the
memory-mapped array cache that lets such splits load without a private copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from univa.data import SyntheticDataModule
from univa.data.released import cache
from univa.data.released.cache import CACHE_DIR_NAME, CacheRebuildWarning, cache_path
from univa.data.released.features import feature_file, read_split
from univa.data.synthetic.__main__ import main as synthetic_main
from univa.data.synthetic.generator import FULL, _dialogue_lengths, plan

BENCHMARK_SPLITS = {  # docs/method.md §1: about 16.3k / 1.9k / 4.7k and 17.4k / 2.9k / 4.2k
    "mosei": {"train": 16326, "valid": 1871, "test": 4659},
    "m3ed": {"train": 17427, "valid": 2871, "test": 4151},
}


@pytest.mark.parametrize("flavor", sorted(BENCHMARK_SPLITS))
def test_full_size_has_the_benchmarks_split_sizes_and_shapes(flavor: str) -> None:
    full = plan(flavor, FULL)
    assert full.utterances == BENCHMARK_SPLITS[flavor]
    assert full.max_len == {"text": 50, "audio": 100 if flavor == "mosei" else 1, "vision": 100}
    widths = {"mosei": {"audio": 74, "vision": 35}, "m3ed": {"audio": 1582, "vision": 342}}
    assert full.dims == {"text": 300, **widths[flavor]}
    rng = np.random.default_rng(0)  # the dialogue lengths alone: cheap, nothing generated
    lengths = {split: _dialogue_lengths(full, split, rng) for split in BENCHMARK_SPLITS[flavor]}
    assert {split: int(n.sum()) for split, n in lengths.items()} == BENCHMARK_SPLITS[flavor]
    per_dialogue = sum(n.sum() for n in lengths.values()) / sum(len(n) for n in lengths.values())
    assert per_dialogue == pytest.approx(7 if flavor == "mosei" else 24.7, abs=1)
    assert SyntheticDataModule("unused", flavor=flavor, size=FULL).size == FULL  # accepted


def test_small_sizes_keep_their_plan() -> None:
    tiny = plan("mosei", "tiny")
    assert tiny.dialogues == {"train": 8, "valid": 3, "test": 3} and tiny.utterances is None
    assert tiny.max_len == {"text": 24, "audio": 40, "vision": 40}


def test_large_cache_entries_are_memory_mapped_and_still_checked(
    tiny_mosei: Path, tmp_path: Path, monkeypatch
) -> None:
    data_dir = Path(shutil.copytree(tiny_mosei, tmp_path / "MOSEI"))
    in_memory = read_split(data_dir, "MOSEI", "train")  # entries far below MMAP_MIN_BYTES
    assert not isinstance(in_memory.features["audio"], np.memmap)
    shutil.rmtree(data_dir / CACHE_DIR_NAME, ignore_errors=True)
    monkeypatch.setattr(cache, "MMAP_MIN_BYTES", 0)  # every entry counts as large
    for load in ("first", "cached"):
        mapped = read_split(data_dir, "MOSEI", "train")
        for modality, features in mapped.features.items():
            assert isinstance(features, np.memmap), (load, modality)
            np.testing.assert_array_equal(features, in_memory.features[modality])
        assert isinstance(mapped.labels, np.memmap)
        as_tensor = torch.from_numpy(mapped.features["audio"])  # what the datasets hold
        assert torch.equal(as_tensor, torch.from_numpy(in_memory.features["audio"]))
    entry = cache_path(feature_file(data_dir, "MOSEI", "train", "audio"), data_dir / CACHE_DIR_NAME)
    damaged = bytearray(entry.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # inside the audio features
    replacement = entry.with_suffix(".new")
    replacement.write_bytes(bytes(damaged))
    replacement.replace(entry)  # renamed over, as the cache itself replaces entries
    with pytest.warns(CacheRebuildWarning, match="do not match its checksum"):
        rebuilt = read_split(data_dir, "MOSEI", "train")
    np.testing.assert_array_equal(rebuilt.features["audio"], in_memory.features["audio"])


def test_arrays_with_an_empty_dimension_are_cached_and_read_back(tmp_path: Path) -> None:
    source = tmp_path / "source.pkl"
    source.write_bytes(b"stands for a released pickle")
    built = {"features": np.zeros((3, 0), dtype=np.float32), "labels": np.ones((3, 2))}
    for load in ("first", "cached"):
        arrays = cache.cached_arrays(source, tmp_path / CACHE_DIR_NAME, lambda: dict(built))
        assert arrays["features"].shape == (3, 0), load
        np.testing.assert_array_equal(arrays["labels"], built["labels"])


def test_the_generator_refuses_a_full_generic_dataset_in_one_line(tmp_path) -> None:
    with pytest.raises(SystemExit) as stop:
        synthetic_main([f"out={tmp_path / 'g'}", "flavor=generic", f"size={FULL}"])
    message = str(stop.value.code)
    assert message.startswith("univa.data.synthetic: error: ") and "\n" not in message
    assert "size 'full' exists for the benchmark flavours" in message
    assert not (tmp_path / "g").exists()
