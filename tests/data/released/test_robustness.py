"""Damaged datasets, as a new user would hit them: clear errors, finite features, a safe cache."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import pickle
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from univa.data import M3EDDataModule, MoseiDataModule
from univa.data.released import features as released
from univa.data.released.cache import CACHE_DIR_NAME
from univa.data.released.features import NonFiniteFeatureWarning, feature_file

AUDIO_TRAIN = "preprocess_data/final_feat/A/MOSEI_train_audio_utt_VA.pkl"
VISION_VALID = "preprocess_data/final_feat/V/MOSEI_valid_vision_utt_VA.pkl"
TEXT_TEST = "preprocess_data/final_feat/T/MOSEI_test_text_glove300_VA.pkl"
STRUCTURE = "preprocess_data/videos_structure.json"
CSV = "final_multi_labels.csv"


def copy_dataset(source: Path, target: Path) -> Path:
    """A private copy of a tiny dataset, without the shared fixture's array cache."""
    return Path(shutil.copytree(source, target, ignore=shutil.ignore_patterns(CACHE_DIR_NAME)))


@pytest.fixture
def mosei_copy(tiny_mosei: Path, tmp_path: Path) -> Path:
    return copy_dataset(tiny_mosei, tmp_path / "MOSEI")


def edit_pickle(path: Path, change: Callable[[dict], None]) -> None:
    with path.open("rb") as file:
        content = pickle.load(file)
    change(content)
    with path.open("wb") as file:
        pickle.dump(content, file)


def truncate(path: Path, fraction: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


def released_files(data_dir: Path) -> dict[str, str]:
    """sha256 of every file but the cache: what loading must never change."""
    return {
        str(p.relative_to(data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data_dir.rglob("*"))
        if p.is_file() and CACHE_DIR_NAME not in p.parts
    }


def drop_last_row(content: dict) -> None:
    for key, value in content["valid"].items():
        content["valid"][key] = value[:-1]


def drop_last_structure_utterance(path: Path) -> None:
    structure = json.loads(path.read_text())
    last_dialogue = list(structure["test"])[-1]
    structure["test"][last_dialogue].pop()
    path.write_text(json.dumps(structure))


def drop_valid_section(path: Path) -> None:
    structure = json.loads(path.read_text())
    del structure["valid"]
    path.write_text(json.dumps(structure))


def cut_last_csv_row(path: Path) -> None:
    text = path.read_text()
    path.write_text(text[: text.index("\n", len(text) // 2) - 5])


def drop_csv_column(path: Path) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")


# (how the copy is damaged, data module options, the error, what its message must say)
DAMAGES = [
    pytest.param(
        lambda d: (d / VISION_VALID).unlink(),
        {},
        FileNotFoundError,
        "MOSEI_valid_vision_utt_VA.pkl",
        id="missing-pickle",
    ),
    pytest.param(
        lambda d: truncate(d / AUDIO_TRAIN),
        {},
        ValueError,
        "cannot read .*MOSEI_train_audio.*truncated",
        id="truncated-pickle",
    ),
    pytest.param(
        lambda d: (d / TEXT_TEST).write_bytes(b"not a pickle at all"),
        {},
        ValueError,
        "cannot read .*MOSEI_test_text_glove300_VA.pkl",
        id="not-a-pickle",
    ),
    pytest.param(
        lambda d: edit_pickle(d / AUDIO_TRAIN, lambda c: c["train"].pop("audio_VA_values")),
        {},
        KeyError,
        "MOSEI_train_audio_utt_VA.pkl has no key 'audio_VA_values'",
        id="missing-key",
    ),
    pytest.param(
        lambda d: edit_pickle(d / AUDIO_TRAIN, lambda c: c.pop("train")),
        {},
        KeyError,
        "MOSEI_train_audio_utt_VA.pkl has no key 'train'",
        id="missing-split-key",
    ),
    pytest.param(
        lambda d: edit_pickle(d / TEXT_TEST, lambda c: c.update(text=c["text"][:, :, 0])),
        {},
        ValueError,
        r"MOSEI_test_text_glove300_VA.pkl: 'text' has shape \(\d+, \d+\), expected \(N, L, D\)",
        id="wrong-shape",
    ),
    pytest.param(
        lambda d: edit_pickle(d / VISION_VALID, drop_last_row),
        {},
        ValueError,
        "MOSEI valid split .*row counts disagree between files",
        id="rows-between-modalities",
    ),
    pytest.param(
        lambda d: drop_last_structure_utterance(d / STRUCTURE),
        {},
        ValueError,
        "MOSEI test split .*utterances in preprocess_data/videos_structure.json but 26 rows",
        id="rows-vs-videos-structure",
    ),
    pytest.param(
        lambda d: truncate(d / STRUCTURE),
        {},
        ValueError,
        "videos_structure.json: not valid JSON",
        id="truncated-json",
    ),
    pytest.param(
        lambda d: drop_valid_section(d / STRUCTURE),
        {},
        KeyError,
        r"videos_structure.json has no 'valid' section; found \['test', 'train'\]",
        id="missing-json-section",
    ),
    pytest.param(
        lambda d: drop_csv_column(d / CSV),
        {"text_encoder": "TEXT_MODEL"},
        KeyError,
        r"final_multi_labels.csv has no column\(s\) \['truely_sort'\]",
        id="csv-missing-column",
    ),
    pytest.param(
        lambda d: cut_last_csv_row(d / CSV),
        {"text_encoder": "TEXT_MODEL"},
        ValueError,
        "final_multi_labels.csv: line \\d+ has too few fields",
        id="truncated-csv",
    ),
    pytest.param(
        lambda d: truncate(d / "preprocess_data/raw_utt_text_textVA.json", 0.9),
        {"text_encoder": "TEXT_MODEL"},
        ValueError,
        "raw_utt_text_textVA.json: not valid JSON",
        id="truncated-va-json",
    ),
]


@pytest.mark.parametrize(("damage", "options", "error", "message"), DAMAGES)
def test_damaged_files_are_named(
    mosei_copy: Path, damage, options: dict, error: type, message: str
) -> None:
    damage(mosei_copy)
    options = {
        k: str(mosei_copy / "text_model") if v == "TEXT_MODEL" else v for k, v in options.items()
    }
    with pytest.raises(error, match=message):
        MoseiDataModule(mosei_copy, **options).setup()


def test_m3ed_annotation_without_text_is_named(tiny_m3ed: Path, tmp_path: Path) -> None:
    data_dir = copy_dataset(tiny_m3ed, tmp_path / "M3ED")
    path = data_dir / "preprocess_data/utt_annot.json"
    annotations = json.loads(path.read_text())
    first = next(iter(annotations["train"]))
    del annotations["train"][first]["text"]
    path.write_text(json.dumps(annotations))
    with pytest.raises(KeyError, match=f"utt_annot.json: utterance '{first}' has no 'text'"):
        M3EDDataModule(data_dir, text_encoder=str(data_dir / "text_model")).setup()


def inject_non_finite(data_dir: Path) -> dict[str, int]:
    """Put NaN and -inf into audio (train), +inf into vision VA (valid); return counts per file."""

    def audio(content: dict) -> None:
        features = content["train"]["audio"]
        features[0, 0, :3] = np.nan
        features[1, 2, 5:7] = -np.inf

    def vision(content: dict) -> None:
        content["valid"]["vision_VA_values"][3, 1] = np.inf

    edit_pickle(data_dir / AUDIO_TRAIN, audio)
    edit_pickle(data_dir / VISION_VALID, vision)
    return {"MOSEI_train_audio_utt_VA.pkl": 5, "MOSEI_valid_vision_utt_VA.pkl": 1}


def test_non_finite_values_become_zero_with_one_warning_per_file(mosei_copy: Path) -> None:
    counts = inject_non_finite(mosei_copy)
    for _ in range(2):  # the first load fills the cache, the second reads it: both warn
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            datamodule = MoseiDataModule(mosei_copy)
            datamodule.setup()
        messages = [str(w.message) for w in caught if w.category is NonFiniteFeatureWarning]
        assert len(messages) == len(counts), messages
        for name, count in counts.items():
            assert any(name in m and f"replaced {count} non-finite" in m for m in messages)
        train_audio = datamodule.datasets["train"].tensors["audio"]
        assert torch.equal(train_audio[0, 0, :3], torch.zeros(3))
        assert torch.equal(train_audio[1, 2, 5:7], torch.zeros(2))
        for dataset in datamodule.datasets.values():
            for key, tensor in dataset.tensors.items():
                assert torch.isfinite(tensor).all(), key


def test_second_load_reads_only_the_cache(mosei_copy: Path, monkeypatch) -> None:
    before = released_files(mosei_copy)
    first = MoseiDataModule(mosei_copy)
    first.setup()
    cached = sorted((mosei_copy / CACHE_DIR_NAME).glob("*.npz"))
    assert len(cached) == 9  # three modalities x three splits
    for path in cached:
        np.load(path, allow_pickle=False)  # plain arrays only

    def no_unpickling(*args, **kwargs):
        raise AssertionError("a pickle was read although the cache is current")

    monkeypatch.setattr(released, "load_data_pickle", no_unpickling)
    second = MoseiDataModule(mosei_copy)
    second.setup()
    for split, dataset in first.datasets.items():
        for key, tensor in dataset.tensors.items():
            assert torch.equal(second.datasets[split].tensors[key], tensor), (split, key)
    assert released_files(mosei_copy) == before


def test_cache_is_rebuilt_when_a_source_changes(mosei_copy: Path, monkeypatch) -> None:
    MoseiDataModule(mosei_copy).setup()
    source = mosei_copy / AUDIO_TRAIN
    stat = source.stat()
    edit_pickle(source, lambda c: c["train"]["audio"].__imul__(2.0))  # same size, new values
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))

    loads: list[int] = []
    real_load = released.load_data_pickle

    def counting_load(file):
        loads.append(1)
        return real_load(file)

    monkeypatch.setattr(released, "load_data_pickle", counting_load)
    datamodule = MoseiDataModule(mosei_copy)
    datamodule.setup()
    assert len(loads) == 1  # only the changed file was unpickled
    monkeypatch.undo()
    with source.open("rb") as file:
        expected = pickle.load(file)["train"]["audio"]
    assert torch.equal(datamodule.datasets["train"].tensors["audio"], torch.from_numpy(expected))
    stem = feature_file(mosei_copy, "MOSEI", "train", "audio").stem
    assert len(list((mosei_copy / CACHE_DIR_NAME).glob(f"{stem}-*.npz"))) == 1  # stale one gone


def test_unwritable_cache_folder_falls_back_to_the_pickles(mosei_copy: Path) -> None:
    (mosei_copy / CACHE_DIR_NAME).write_text("a file where the cache folder would go")
    before = released_files(mosei_copy)
    with pytest.warns(UserWarning, match="cannot write the array cache"):
        datamodule = MoseiDataModule(mosei_copy)
        datamodule.setup()
    assert len(datamodule.datasets["test"]) == 26
    assert released_files(mosei_copy) == before


def test_utt_ids_name_each_row_in_dialogue_order(tiny_mosei: Path) -> None:
    structure = json.loads((tiny_mosei / STRUCTURE).read_text())
    glove = MoseiDataModule(tiny_mosei)
    glove.setup()
    plm = MoseiDataModule(tiny_mosei, text_encoder=str(tiny_mosei / "text_model"))
    plm.setup()
    for split, dataset in glove.datasets.items():
        expected = [utt for dialogue in structure[split].values() for utt in dialogue]
        assert glove.utt_ids[split] == expected
        assert len(expected) == len(dataset)
        assert plm.utt_ids[split] == expected  # the CSV rows, in the synthetic data the same order


@pytest.mark.slow
def test_training_on_non_finite_features_gives_finite_metrics(
    mosei_copy: Path, compose_cfg
) -> None:
    from univa.train import train

    counts = inject_non_finite(mosei_copy)
    cfg = compose_cfg(
        "dataset=mosei",
        f"dataset.data_dir={mosei_copy}",
        "dataset.batch_size=8",
        "dataset.num_workers=0",
        "dataset.pin_memory=false",
        "trainer.max_epochs=1",
        "trainer.log_every_n_steps=1",
        "model.hidden_size=32",
        "model.num_heads=2",
        "model.ffn_size=64",
        "model.num_layers={text:1,audio:1,vision:1}",
    )
    with pytest.warns(NonFiniteFeatureWarning) as caught:
        train(cfg)
    warned = [w for w in caught if w.category is NonFiniteFeatureWarning]
    assert sorted(Path(str(w.message).split(":")[0]).name for w in warned) == sorted(counts)
    output_dir = Path(cfg.paths.output_dir)
    results = json.loads((output_dir / "results.json").read_text())
    for split in ("val", "test"):
        for name in ("acc", "hl", "micro_f1", "macro_f1"):
            assert np.isfinite(results[split][name]), (split, name)
    # NaN inputs would still give finite metrics (every prediction 0); the losses would not
    with (output_dir / "csv" / "metrics.csv").open() as file:
        losses = [
            float(value)
            for row in csv.DictReader(file)
            for key, value in row.items()
            if "loss" in key and value
        ]
    assert losses and np.isfinite(losses).all()
