"""`python -m univa.data.convert labels=...` in bounded memory (issue 20, item 6): one video read at a
time, as slices, each split written through memory maps, and `max_length=` capping an
utterance's rows. The output is compared, file by file, with the obvious conversion written
here: every video in memory, cut, and handed to `write_dataset`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from csd_sequences import VIDEOS, VIDEOS_ORDER, convert, frames, write_csd, write_sequences
from univa.data import write_dataset
from univa.data.csd.sequences import read_csd
from univa.data.records import MOSEI

Keep = Callable[[np.ndarray], np.ndarray]  # a segment's row indices -> the ones kept


def keep_all(rows: np.ndarray) -> np.ndarray:
    return rows


@pytest.fixture
def sequences(tmp_path: Path) -> dict[str, Path]:
    return write_sequences(tmp_path)


def reference(sequences: dict[str, Path], out: Path, keep: Keep = keep_all) -> None:
    """The conversion the obvious way (as univa did it before streaming)."""
    labels = read_csd(sequences["labels"]).videos
    modalities = {m: read_csd(sequences[m]).videos for m in ("audio", "vision")}
    splits = {}
    for split, videos in VIDEOS.items():
        table: dict[str, list] = {"utt_id": [], "dialogue_id": [], "turn": []}
        rows, features = [], {m: [] for m in modalities}
        for vid in videos:
            if any(vid not in seq for seq in (labels, *modalities.values())):
                continue
            intensities, segments = labels[vid]
            for index in np.argsort(segments[:, 0], kind="stable"):
                start, end = segments[index]
                parts = {}
                for m, seq in modalities.items():
                    values, intervals = seq[vid]
                    inside = np.flatnonzero((intervals[:, 0] < end) & (intervals[:, 1] > start))
                    parts[m] = values[keep(inside)]
                if any(len(part) == 0 for part in parts.values()):
                    continue
                table["turn"].append(table["dialogue_id"].count(vid))
                table["utt_id"].append(f"{vid}[{index}]")
                table["dialogue_id"].append(vid)
                rows.append((intensities[index, 1:] > 0).astype(np.int64))
                for m, part in parts.items():
                    features[m].append(np.nan_to_num(part, nan=0.0, posinf=0.0, neginf=0.0))
        splits[split] = {"table": table, "labels": np.stack(rows), "features": features}
    manifest = MOSEI.manifest() | {"name": "CMU-MOSEI"}
    manifest.pop("text_encoder", None)
    write_dataset(out, manifest, splits)


def assert_same_files(got: Path, expected: Path) -> None:
    names = sorted(str(p.relative_to(expected)) for p in expected.rglob("*") if p.is_file())
    assert sorted(str(p.relative_to(got)) for p in got.rglob("*") if p.is_file()) == names
    for name in names:
        if name.endswith(".npy"):  # the arrays first: a difference then shows as values
            np.testing.assert_array_equal(np.load(got / name), np.load(expected / name))
        assert (got / name).read_bytes() == (expected / name).read_bytes(), name


def leave_some_out(sequences: dict[str, Path]) -> None:
    """No audio for v2, none after 4 s (so no third segment), a NaN in v1."""
    rng = np.random.default_rng(1)
    audio = {v: frames(rng, 5, 0.5, end=4.0) for v in VIDEOS_ORDER if v != "v2"}
    audio["v1"][0][0, 0] = np.nan
    write_csd(sequences["audio"], "COVAREP", audio)


@pytest.mark.filterwarnings("ignore::univa.data.csd.sequences.CsdRepairWarning")
@pytest.mark.parametrize("damage", [None, leave_some_out], ids=["whole", "left-out"])
def test_the_output_is_the_in_memory_conversion_s(
    sequences: dict[str, Path], tmp_path: Path, damage: Callable | None
) -> None:
    if damage is not None:
        damage(sequences)
    convert(sequences, tmp_path / "streamed")
    reference(sequences, tmp_path / "in-memory")
    assert_same_files(tmp_path / "streamed", tmp_path / "in-memory")


def test_remapping_while_writing_keeps_the_output(
    sequences: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("univa.data.generic.write.SplitWriter.REMAP_BYTES", 1)  # every row
    convert(sequences, tmp_path / "streamed")
    reference(sequences, tmp_path / "in-memory")
    assert_same_files(tmp_path / "streamed", tmp_path / "in-memory")


def test_max_length_keeps_the_first_rows(sequences: dict[str, Path], tmp_path: Path) -> None:
    convert(sequences, tmp_path / "streamed", "max_length=4")
    reference(sequences, tmp_path / "in-memory", keep=lambda rows: rows[:4])
    assert_same_files(tmp_path / "streamed", tmp_path / "in-memory")
    # audio segments hold 4, 6 and 3 rows, vision ones 8, 12 and 6: all capped but one
    lengths = np.load(tmp_path / "streamed" / "train" / "audio_lengths.npy")
    assert lengths.tolist() == [4, 4, 3] * len(VIDEOS["train"])
    assert np.load(tmp_path / "streamed" / "train" / "vision.npy").shape[1] == 4


def test_max_length_can_subsample(sequences: dict[str, Path], tmp_path: Path) -> None:
    convert(sequences, tmp_path / "streamed", "max_length=4", "shorten=subsample")

    def spread(rows: np.ndarray) -> np.ndarray:  # row floor(i * n / 4) of n, i = 0..3
        return rows if len(rows) <= 4 else rows[[i * len(rows) // 4 for i in range(4)]]

    reference(sequences, tmp_path / "in-memory", keep=spread)
    assert_same_files(tmp_path / "streamed", tmp_path / "in-memory")


def test_a_cap_below_one_is_refused_in_one_line(sequences: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"^univa.data.convert: error: max_length must be at"):
        convert(sequences, tmp_path / "out", "max_length=0")
    assert not (tmp_path / "out").exists()


def test_splits_are_written_through_memory_maps(
    sequences: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import univa.data.generic.write as folder_write

    created = []

    def open_memmap(path, mode="r+", dtype=None, shape=None):
        created.append((Path(path).parent.name, Path(path).name, mode, shape))
        return np.lib.format.open_memmap(path, mode, dtype, shape)

    def padded(*args):
        raise AssertionError("a whole split's padded array was built in memory")

    monkeypatch.setattr(folder_write, "open_memmap", open_memmap)
    monkeypatch.setattr(folder_write, "_padded", padded)
    convert(sequences, tmp_path / "out")
    rows = {split: len(videos) * 3 for split, videos in VIDEOS.items()}  # 3 segments a video
    assert [c for c in created if c[2] == "w+"] == [
        (split, f"{m}.npy", "w+", (rows[split], steps, width))
        for split in VIDEOS
        for m, steps, width in (("audio", 6, 5), ("vision", 12, 3))
    ]


def test_features_are_read_as_one_slice_per_utterance(
    sequences: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import h5py

    reads = []
    getitem = h5py.Dataset.__getitem__

    def recording(dataset, key, *args, **kwargs):
        if dataset.name.endswith("/features") and "COVAREP" in dataset.name:
            reads.append(key)
        return getitem(dataset, key, *args, **kwargs)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", recording)
    convert(sequences, tmp_path / "out")
    assert all(isinstance(key, slice) and key.stop is not None for key in reads), reads
    assert len(reads) == len(VIDEOS_ORDER) * 3  # each utterance's rows once: 3 segments a video
