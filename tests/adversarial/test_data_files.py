"""Hostile and faulty data files: pickles that would run code, stale or damaged caches, bad
labels, empty splits, inconsistent utterance ids, degenerate VA.

Each case ends in an error naming the file (and the rows or ids), or in a warned repair; no
code from a file runs, and the released files are never changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from univa.data import M3EDDataModule, MoseiDataModule
from univa.data.released.cache import CACHE_DIR_NAME, CacheRebuildWarning, cache_path
from univa.data.released.features import NonFiniteFeatureWarning
from univa.data.va import DegenerateVAWarning
from univa.errors import InputError, InputKeyError
from univa.losses import va_positive_mask

AUDIO_TRAIN = "preprocess_data/final_feat/A/MOSEI_train_audio_utt_VA.pkl"
AUDIO_TEST = "preprocess_data/final_feat/A/MOSEI_test_audio_utt_VA.pkl"
VISION_TEST = "preprocess_data/final_feat/V/MOSEI_test_vision_utt_VA.pkl"
TEXT_VALID = "preprocess_data/final_feat/T/MOSEI_valid_text_glove300_VA.pkl"
STRUCTURE = "preprocess_data/videos_structure.json"
CSV = "final_multi_labels.csv"


class RunsCommand:
    """Unpickled by plain `pickle.load`, this runs a shell command (here: creates a file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class Payload:
    """A class of its own: unpickling it imports this test module and builds an object."""

    def __init__(self) -> None:
        self.value = np.zeros(3)


def copy_dataset(source: Path, target: Path) -> Path:
    return Path(shutil.copytree(source, target, ignore=shutil.ignore_patterns(CACHE_DIR_NAME)))


@pytest.fixture
def mosei(tiny_mosei: Path, tmp_path: Path) -> Path:
    return copy_dataset(tiny_mosei, tmp_path / "MOSEI")


def load_plain(path: Path) -> dict:
    with path.open("rb") as file:
        return pickle.load(file)  # the test's own synthetic file: trusted


def edit_pickle(path: Path, change: Callable[[dict], None]) -> None:
    content = load_plain(path)
    change(content)
    path.write_bytes(pickle.dumps(content))


def released_files(data_dir: Path) -> dict[str, str]:
    return {
        str(p.relative_to(data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data_dir.rglob("*"))
        if p.is_file() and CACHE_DIR_NAME not in p.parts
    }


def cache_entries(data_dir: Path) -> list[Path]:
    return sorted((data_dir / CACHE_DIR_NAME).glob("*.npz"))


# -- pickles that would run code -----------------------------------------------------------


def test_pickle_that_runs_a_command_is_refused_and_nothing_runs(mosei: Path, tmp_path: Path):
    marker = tmp_path / "pwned"
    edit_pickle(mosei / AUDIO_TRAIN, lambda c: c["train"].update(audio=RunsCommand(marker)))
    with pytest.raises(InputError) as caught:
        MoseiDataModule(mosei).setup()
    message = str(caught.value)
    assert "\n" not in message
    assert "MOSEI_train_audio_utt_VA.pkl" in message and f"{os.name}.system" in message
    assert not marker.exists()  # the command never ran
    source = mosei / AUDIO_TRAIN
    assert not cache_path(source, mosei / CACHE_DIR_NAME).exists()  # nothing cached from it


@pytest.mark.parametrize(
    ("payload", "refused"),
    [
        (Payload(), f"{__name__}.Payload"),
        (__import__("collections").Counter(a=1), "collections.Counter"),
        (np.load, "numpy.load"),  # a numpy function, not an array: could open another pickle
        (eval, "builtins.eval"),
    ],
    ids=["own-class", "other-container", "numpy-function", "builtin-function"],
)
def test_pickle_naming_anything_but_data_is_refused(
    mosei: Path, payload: object, refused: str
) -> None:
    edit_pickle(mosei / TEXT_VALID, lambda c: c.update(extra=payload))
    with pytest.raises(InputError, match=f"MOSEI_valid_text_glove300_VA.pkl.*{refused}"):
        MoseiDataModule(mosei).setup()


@pytest.mark.slow
def test_hostile_pickle_ends_train_in_one_line(mosei: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    edit_pickle(mosei / AUDIO_TRAIN, lambda c: c["train"].update(audio=RunsCommand(marker)))
    command = [
        sys.executable,
        "-m",
        "univa.train",
        f"paths.root_dir={tmp_path}",
        "dataset=mosei",
        f"dataset.data_dir={mosei}",
        "logger=csv",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("univa.train: error: refusing to load ")
    assert f"{os.name}.system" in last
    assert not marker.exists()


# -- stale and damaged caches --------------------------------------------------------------


def replace_keeping_size_and_times(path: Path, in_place: bool) -> np.ndarray:
    """Put new audio values into `path` with the old size and times (`cp -p`, `rsync -t`)."""
    stat = path.stat()
    content = load_plain(path)
    content["train"]["audio"] = content["train"]["audio"] + 1.0
    data = pickle.dumps(content)
    if in_place:
        path.write_bytes(data)
    else:
        (path.parent / "incoming.tmp").write_bytes(data)
        os.replace(path.parent / "incoming.tmp", path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    return content["train"]["audio"]


@pytest.mark.parametrize("in_place", [True, False], ids=["rewritten", "renamed-over"])
def test_replaced_source_with_same_size_and_mtime_is_noticed(mosei: Path, in_place: bool):
    MoseiDataModule(mosei).setup()
    expected = replace_keeping_size_and_times(mosei / AUDIO_TRAIN, in_place)
    datamodule = MoseiDataModule(mosei)
    datamodule.setup()
    assert torch.equal(datamodule.datasets["train"].tensors["audio"], torch.from_numpy(expected))


def tamper_values(path: Path) -> None:
    """A valid .npz with other values, as an edit by hand or another program would leave."""
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["features"] = arrays["features"] + 5.0
    with path.open("wb") as file:
        np.savez(file, **arrays)


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    "damage",
    [tamper_values, flip_a_byte, truncate, lambda p: p.write_bytes(b"")],
    ids=["tampered", "flipped-byte", "truncated", "emptied"],
)
def test_damaged_cache_entry_is_rebuilt_with_a_warning(mosei: Path, damage) -> None:
    first = MoseiDataModule(mosei)
    first.setup()
    entry = cache_path(mosei / AUDIO_TRAIN, mosei / CACHE_DIR_NAME)
    damage(entry)
    with pytest.warns(CacheRebuildWarning, match=f"damaged array cache {entry}") as caught:
        second = MoseiDataModule(mosei)
        second.setup()
    assert len([w for w in caught if w.category is CacheRebuildWarning]) == 1
    for key, tensor in first.datasets["train"].tensors.items():
        assert torch.equal(second.datasets["train"].tensors[key], tensor), key
    with warnings.catch_warnings():  # the rebuilt entry is whole again
        warnings.simplefilter("error", CacheRebuildWarning)
        MoseiDataModule(mosei).setup()


def test_failed_cache_write_keeps_the_old_entry_and_leaves_no_partial_file(
    mosei: Path, monkeypatch
) -> None:
    MoseiDataModule(mosei).setup()
    entry = cache_path(mosei / AUDIO_TRAIN, mosei / CACHE_DIR_NAME)
    good = entry.read_bytes()
    tamper_values(entry)  # forces a rebuild, whose write then fails with a full disk

    def disk_full(file, **arrays):
        file.write(b"PK\x03\x04 partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.warns(UserWarning) as caught:
        datamodule = MoseiDataModule(mosei)
        datamodule.setup()
    messages = [str(w.message) for w in caught]
    assert any("damaged array cache" in m for m in messages)
    assert any("cannot write the array cache" in m for m in messages)
    assert len(datamodule.datasets["train"]) > 0
    assert not list((mosei / CACHE_DIR_NAME).glob(".*.tmp"))  # no partial file left behind
    assert entry.read_bytes() != good  # the tampered entry stays, never used: next load warns
    monkeypatch.undo()
    with pytest.warns(CacheRebuildWarning):
        MoseiDataModule(mosei).setup()
    assert entry.read_bytes()[:2] == b"PK"


def test_cache_files_get_normal_permissions(mosei: Path) -> None:
    old = os.umask(0o022)
    try:
        MoseiDataModule(mosei).setup()
    finally:
        os.umask(old)
    modes = {oct(path.stat().st_mode & 0o777) for path in cache_entries(mosei)}
    assert modes == {oct(0o644)}


# -- bad labels, empty splits, inconsistent utterance ids -------------------------------------


@pytest.mark.parametrize("bad", [2.0, -1.0, 0.5, np.nan], ids=["two", "minus-one", "half", "nan"])
def test_labels_that_are_not_0_or_1_are_refused_naming_file_and_rows(mosei: Path, bad: float):
    path = mosei / AUDIO_TEST  # the audio file carries the labels

    def spoil(content: dict) -> None:
        content["test"]["labels_class"][[4, 9], 1] = bad

    edit_pickle(path, spoil)
    with pytest.raises(InputError) as caught:
        MoseiDataModule(mosei).setup()
    message = str(caught.value)
    assert str(path) in message and "'labels_class' must hold only 0 and 1" in message
    assert "2 rows" in message and "row 4:" in message and "row 9:" in message


def test_non_finite_va_scores_are_named_apart_in_the_warning(mosei: Path) -> None:
    """NaN VA scores became (0, 0), a real point of the scale, and the warning spoke only of
    "non-finite values" as if they were features."""
    path = mosei / AUDIO_TEST

    def spoil(content: dict) -> None:
        content["test"]["audio_VA_values"][[1, 2], 0] = np.nan
        content["test"]["audio"][0, 0, 0] = np.inf

    edit_pickle(path, spoil)
    with pytest.warns(NonFiniteFeatureWarning) as caught:
        MoseiDataModule(mosei).setup()
    (message,) = [str(w.message) for w in caught if str(path) in str(w.message)]
    assert "replaced 3 non-finite values (NaN or +-inf) with 0 (1 in features, 2 in va)" in message
    assert "a VA of 0 is a real score" in message


def test_empty_split_is_refused_naming_the_file(mosei: Path) -> None:
    def empty(content: dict) -> None:
        content.update({key: value[:0] for key, value in content.items()})

    edit_pickle(mosei / TEXT_VALID, empty)
    with pytest.raises(InputError, match=r"MOSEI_valid_text_glove300_VA\.pkl: no rows.*valid"):
        MoseiDataModule(mosei).setup()


def test_utterance_listed_twice_in_the_structure_is_refused(mosei: Path) -> None:
    path = mosei / STRUCTURE
    structure = json.loads(path.read_text())
    first, second = list(structure["train"])[:2]
    repeated = structure["train"][first][0]
    structure["train"][second][-1] = repeated  # same row count, one utterance twice
    path.write_text(json.dumps(structure))
    with pytest.raises(InputError) as caught:
        MoseiDataModule(mosei).setup()
    message = str(caught.value)
    assert "videos_structure.json" in message and repr(repeated) in message
    assert repr(first) in message and repr(second) in message


def test_dialogue_listed_twice_in_the_structure_is_refused(mosei: Path) -> None:
    path = mosei / STRUCTURE
    text = path.read_text()
    structure = json.loads(text)
    dialogue, utterances = next(iter(structure["test"].items()))
    entry = f"{json.dumps(dialogue)}: {json.dumps(utterances)}"
    path.write_text(text.replace('"test": {', '"test": {' + entry + ", ", 1))
    with pytest.raises(InputError, match=f"videos_structure.json: .*{dialogue}.*more than once"):
        MoseiDataModule(mosei).setup()


def test_repeated_csv_row_is_refused_naming_the_line(mosei: Path) -> None:
    path = mosei / CSV
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[1]]) + "\n")  # the first data row again
    with pytest.raises(InputError, match=rf"final_multi_labels.csv: line {len(lines) + 1} repeats"):
        MoseiDataModule(mosei, text_encoder=str(mosei / "text_model")).setup()


def test_utterance_without_text_is_refused_naming_it(tiny_m3ed: Path, tmp_path: Path) -> None:
    data_dir = copy_dataset(tiny_m3ed, tmp_path / "M3ED")
    path = data_dir / "preprocess_data/utt_annot.json"
    annotations = json.loads(path.read_text())
    dropped = list(annotations["valid"])[3]
    del annotations["valid"][dropped]
    path.write_text(json.dumps(annotations))
    with pytest.raises(InputKeyError, match=f"utt_annot.json has no 'valid' row .*{dropped!r}"):
        M3EDDataModule(data_dir, text_encoder=str(data_dir / "text_model")).setup()


def test_non_finite_text_va_is_refused_naming_the_utterance(mosei: Path) -> None:
    path = mosei / "preprocess_data/raw_utt_text_textVA.json"
    table = json.loads(path.read_text())
    utt_id = next(iter(table["train"]))
    table["train"][utt_id][-1] = "nan"
    path.write_text(json.dumps(table))
    with pytest.raises(InputError, match=f"raw_utt_text_textVA.json: utterance {utt_id!r}"):
        MoseiDataModule(mosei, text_encoder=str(mosei / "text_model")).setup()


# -- degenerate numbers ------------------------------------------------------------------------


def test_split_with_identical_va_gives_zero_scores_and_a_warning(mosei: Path) -> None:
    def flatten(content: dict) -> None:
        content["test"]["vision_VA_values"][:] = 0.25

    edit_pickle(mosei / VISION_TEST, flatten)
    before = released_files(mosei)
    with pytest.warns(DegenerateVAWarning, match="MOSEI test vision VA: every valence is 0.25"):
        datamodule = MoseiDataModule(mosei)
        datamodule.setup()
    va = datamodule.datasets["test"].tensors["va_vision"]
    assert torch.equal(va, torch.zeros_like(va))
    assert va_positive_mask(va, 0.1).all()  # identical VA: positives of each other
    assert released_files(mosei) == before


def test_aggregate_skips_damaged_results_and_says_so(tmp_path: Path, capsys) -> None:
    """A NaN metric printed as a mean ("nan±-", the std shown as for a single run), and a
    damaged seed or overrides.yaml ended aggregate in a traceback: each is skipped, named."""
    from univa.aggregate import main as aggregate

    test = {"acc": 40.0, "hl": 0.3, "micro_f1": 50.0, "macro_f1": 30.0}
    runs = {
        "0": ({"test": test, "seed": 1}, "- seed=1\n"),
        "1": ({"test": test | {"acc": 42.0}, "seed": 2}, "- seed=2\n"),
        "2": ({"test": test | {"acc": float("nan")}, "seed": 3}, "- seed=3\n"),
        "3": ({"test": test, "seed": "x"}, "- seed=4\n"),
        "4": ({"test": test, "seed": 5}, "- a: [\n"),
    }
    for name, (results, overrides) in runs.items():
        (tmp_path / name / ".hydra").mkdir(parents=True)
        (tmp_path / name / "results.json").write_text(json.dumps(results))
        (tmp_path / name / ".hydra" / "overrides.yaml").write_text(overrides)
    aggregate([f"sweep_dir={tmp_path}"])
    printed = capsys.readouterr().out
    for name in ("2", "3", "4"):
        assert f"skipped {tmp_path / name / 'results.json'}" in printed
    row = (tmp_path / "aggregate.csv").read_text().splitlines()[1].split(",")
    assert row[1:5] == ["2", "1 2", "41.0", repr(float(np.std([40.0, 42.0], ddof=1)))]
