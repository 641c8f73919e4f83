"""The synthetic generator must write exactly the released layout (docs/data-format.md §1), with rows
aligned across files, and data a simple model can learn from."""

from __future__ import annotations

import csv
import itertools
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.multiclass import OneVsRestClassifier

from univa.data import SyntheticDataModule, read_folder_split, validate_dataset
from univa.data.synthetic import generator as synthetic
from univa.data.synthetic.__main__ import main
from univa.data.synthetic.generator import FLAVORS, RELEASED_FLAVORS, write_synthetic_dataset
from univa.train import train

SPLITS = ("train", "valid", "test")
MODALITIES = ("text", "audio", "vision")


def _pickle_paths(root: Path, flavor: str, split: str) -> dict[str, Path]:
    name, feat = FLAVORS[flavor].name, root / "preprocess_data" / "final_feat"
    return {
        "audio": feat / "A" / f"{name}_{split}_audio_utt_VA.pkl",
        "vision": feat / "V" / f"{name}_{split}_vision_utt_VA.pkl",
        "text": feat / "T" / f"{name}_{split}_text_glove300_VA.pkl",
    }


def _load(root: Path, flavor: str, split: str) -> dict[str, dict]:
    """Per modality: {"x", "mask", "va"}, plus "labels" and the raw audio/vision pickles."""
    raw = {m: pickle.loads(p.read_bytes()) for m, p in _pickle_paths(root, flavor, split).items()}
    out = {"raw": raw, "labels": raw["audio"][split]["labels_class"]}
    for m in MODALITIES:
        d = raw[m] if m == "text" else raw[m][split]
        out[m] = {"x": d[m], "mask": d[f"{m}_utt_mask"], "va": d[f"{m}_VA_values"]}
    return out


def _read_json(root: Path, name: str) -> dict:
    return json.loads((root / "preprocess_data" / name).read_text(encoding="utf-8"))


def _utt_ids(root: Path, split: str) -> list[str]:
    structure = _read_json(root, "videos_structure.json")[split]
    return [u for utts in structure.values() for u in utts]


def _mosei_rows(root: Path, split: str) -> list[dict[str, str]]:
    with (root / "final_multi_labels.csv").open(newline="", encoding="utf-8") as f:
        return [row for row in csv.DictReader(f) if row["mode"] == split]


def _all_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module", params=sorted(RELEASED_FLAVORS))
def dataset(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    flavor = request.param
    root = write_synthetic_dataset(tmp_path_factory.mktemp(flavor) / "ds", flavor, size="tiny")
    return flavor, root


def test_every_released_file_exists(dataset: tuple[str, Path]) -> None:
    flavor, root = dataset
    pre = root / "preprocess_data"
    assert (pre / "videos_structure.json").is_file()
    assert (pre / "raw_utt_text_textVA.json").is_file()
    assert (root / "final_multi_labels.csv").is_file() == (flavor == "mosei")
    assert (pre / "utt_annot.json").is_file() == (flavor == "m3ed")
    for split in SPLITS:
        assert all(p.is_file() for p in _pickle_paths(root, flavor, split).values())


def test_pickle_keys_and_shapes_agree(dataset: tuple[str, Path]) -> None:
    flavor, root = dataset
    spec = FLAVORS[flavor]
    dims = {"text": 300, "audio": spec.audio_dim, "vision": spec.vision_dim}
    for split in SPLITS:
        data = _load(root, flavor, split)
        n = len(_utt_ids(root, split))
        assert set(data["raw"]["text"]) == {"text", "text_utt_mask", "text_VA_values"}
        for m in ("audio", "vision"):
            assert set(data["raw"][m]) == {split, "num_labels"}
            assert data["raw"][m]["num_labels"] == len(spec.labels)
            assert set(data["raw"][m][split]) == {
                m,
                f"{m}_utt_mask",
                f"{m}_VA_values",
                "labels_class",
            }
            np.testing.assert_array_equal(data["raw"][m][split]["labels_class"], data["labels"])
        for m in MODALITIES:
            x, mask, va = data[m]["x"], data[m]["mask"], data[m]["va"]
            assert x.shape[0] == n and x.shape[2] == dims[m] and mask.shape == x.shape[:2]
            assert va.shape == (n, 2)
            assert x.dtype == mask.dtype == va.dtype == np.float32
        labels = data["labels"]
        assert labels.shape == (n, len(spec.labels))
        assert set(np.unique(labels)) <= {0.0, 1.0}
        assert labels.any(0).all(), "every label must appear in every split"


def test_masks_are_left_aligned_and_padding_is_zero(dataset: tuple[str, Path]) -> None:
    flavor, root = dataset
    for split in SPLITS:
        data = _load(root, flavor, split)
        for m in MODALITIES:
            x, mask = data[m]["x"], data[m]["mask"]
            assert set(np.unique(mask)) <= {0.0, 1.0}
            assert (np.diff(mask, axis=1) <= 0).all(), "real steps must come first"
            assert (mask.sum(1) >= 1).all()
            assert not x[mask == 0].any()
            assert np.abs(x[mask == 1]).sum(-1).min() > 0
        assert len(np.unique(data["audio"]["mask"].sum(1))) > 1, "lengths should vary"


def test_rows_follow_dialogue_order(dataset: tuple[str, Path]) -> None:
    flavor, root = dataset
    spec = FLAVORS[flavor]
    structure = _read_json(root, "videos_structure.json")
    for split in SPLITS:
        utt_ids, labels = _utt_ids(root, split), _load(root, flavor, split)["labels"]
        assert all(u.startswith(f"{d}_") for d, us in structure[split].items() for u in us)
        if flavor == "mosei":
            rows = _mosei_rows(root, split)
            assert [f"{r['video_id']}_{r['clip_id']}" for r in rows] == utt_ids
            positions = [p for us in structure[split].values() for p in range(len(us))]
            assert [int(r["truely_sort"]) for r in rows] == positions
            csv_labels = np.array([[float(r[lab]) != 0 for lab in spec.labels] for r in rows])
            np.testing.assert_array_equal(csv_labels, labels == 1)
        else:
            annot = _read_json(root, "utt_annot.json")[split]
            assert list(annot) == utt_ids
            emotions = [set(filter(None, a["Emotion"].split(","))) for a in annot.values()]
            assert emotions == [
                {lab for lab, on in zip(spec.labels, y, strict=True) if on} for y in labels
            ]
            assert {a["Speaker"] for a in annot.values()} <= {"A", "B"}


def test_text_va_json_is_looked_up_by_utt_id(dataset: tuple[str, Path]) -> None:
    flavor, root = dataset
    text_va = _read_json(root, "raw_utt_text_textVA.json")
    for split in SPLITS:
        utt_ids = _utt_ids(root, split)
        assert set(text_va[split]) == set(utt_ids)
        by_id = np.array([[float(v) for v in text_va[split][u][-2:]] for u in utt_ids], np.float32)
        np.testing.assert_array_equal(by_id, _load(root, flavor, split)["text"]["va"])
        if flavor == "mosei":
            texts = [r["text"] for r in _mosei_rows(root, split)]
        else:
            texts = [a["text"] for a in _read_json(root, "utt_annot.json")[split].values()]
        assert [text_va[split][u][0] for u in utt_ids] == texts
    assert list(text_va["train"]) != _utt_ids(root, "train"), "JSON order must not be row order"


def test_text_rows_are_the_words_of_the_sentence(dataset: tuple[str, Path]) -> None:
    flavor, root = dataset
    text_va = _read_json(root, "raw_utt_text_textVA.json")["train"]
    text = _load(root, flavor, "train")["text"]
    vectors: dict[str, np.ndarray] = {}
    for u, x, mask in zip(_utt_ids(root, "train"), text["x"], text["mask"], strict=True):
        words = text_va[u][0].split()
        assert len(words) == mask.sum()
        for w, v in zip(words, x, strict=False):
            np.testing.assert_array_equal(vectors.setdefault(w, v), v)


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    first = _all_files(write_synthetic_dataset(tmp_path / "a", "m3ed", seed=3, size="tiny"))
    again = _all_files(write_synthetic_dataset(tmp_path / "b", "m3ed", seed=3, size="tiny"))
    other = _all_files(write_synthetic_dataset(tmp_path / "c", "m3ed", seed=4, size="tiny"))
    assert first == again
    assert first.keys() == other.keys()
    data_files = [k for k in first if not k.startswith("text_model")]
    assert all(first[k] != other[k] for k in data_files)
    assert first["text_model/model.safetensors"] != other["text_model/model.safetensors"]


def test_refuses_existing_dataset(tmp_path: Path) -> None:
    root = write_synthetic_dataset(tmp_path / "ds", size="tiny")
    before = _all_files(root)
    with pytest.raises(FileExistsError, match="ds"):
        write_synthetic_dataset(root, seed=2, size="tiny")
    assert _all_files(root) == before
    assert [p.name for p in tmp_path.iterdir()] == ["ds"], "no temporary folder left behind"


def test_fills_an_existing_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "ds").mkdir()
    root = write_synthetic_dataset(tmp_path / "ds", "mosei", size="tiny")
    assert (root / "final_multi_labels.csv").is_file()
    assert (root / "preprocess_data" / "videos_structure.json").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]


def test_interrupted_run_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> None:
        raise RuntimeError("interrupted")

    monkeypatch.setitem(synthetic.TEXT_WRITERS, "csv_rows", fail)
    with pytest.raises(RuntimeError):
        write_synthetic_dataset(tmp_path / "ds", "mosei", size="tiny")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("option", "value"), [("flavor", "iemocap"), ("size", "huge")])
def test_rejects_unknown_options(tmp_path: Path, option: str, value: str) -> None:
    with pytest.raises(ValueError, match=rf"{option} '{value}'.*valid values"):
        write_synthetic_dataset(tmp_path / "ds", **{option: value})
    assert not (tmp_path / "ds").exists()


def _mean_features(data: dict) -> np.ndarray:
    parts = [(d["x"] * d["mask"][..., None]).sum(1) / d["mask"].sum(1, keepdims=True)
             for d in (data[m] for m in MODALITIES)]  # fmt: skip
    return np.concatenate(parts, axis=1)


def _best_constant_f1(labels: np.ndarray) -> float:
    sets = (s for s in itertools.product([0, 1], repeat=labels.shape[1]) if any(s))
    return max(f1_score(labels, np.tile(s, (len(labels), 1)), average="micro") for s in sets)


@pytest.mark.parametrize("flavor", sorted(RELEASED_FLAVORS))
def test_labels_are_learnable_from_features(tmp_path: Path, flavor: str) -> None:
    root = write_synthetic_dataset(tmp_path / "ds", flavor, size="small")
    train, test = _load(root, flavor, "train"), _load(root, flavor, "test")
    clf = OneVsRestClassifier(LogisticRegression(max_iter=2000))
    clf.fit(_mean_features(train), train["labels"])
    f1 = f1_score(test["labels"], clf.predict(_mean_features(test)), average="micro")
    assert f1 >= _best_constant_f1(test["labels"]) + 0.15


@pytest.mark.parametrize("flavor", sorted(RELEASED_FLAVORS))
def test_va_is_closer_within_a_label_set(tmp_path: Path, flavor: str) -> None:
    root = write_synthetic_dataset(tmp_path / "ds", flavor, size="small")
    data = _load(root, flavor, "train")
    y = data["labels"].astype(bool)
    same = (y[:, None] == y[None]).all(-1) & ~np.eye(len(y), dtype=bool)
    disjoint = ~(y[:, None] & y[None]).any(-1) & y.any(1)[:, None] & y.any(1)[None]
    for m in MODALITIES:
        va = data[m]["va"]
        dist = np.linalg.norm(va[:, None] - va[None], axis=-1)
        assert dist[same].mean() < 0.5 * dist[disjoint].mean()


def test_cli_writes_a_dataset(tmp_path: Path) -> None:
    main([f"out={tmp_path / 'x'}", "size=tiny", "flavor=m3ed"])
    assert (tmp_path / "x" / "preprocess_data" / "utt_annot.json").is_file()
    assert (
        tmp_path / "x" / "preprocess_data" / "final_feat" / "T" / "M3ED_test_text_glove300_VA.pkl"
    ).is_file()


def test_cli_refuses_an_existing_dataset(tmp_path: Path) -> None:
    write_synthetic_dataset(tmp_path / "x", size="tiny")
    with pytest.raises(SystemExit, match=r"^univa.data.synthetic: error: .*already holds a data"):
        main([f"out={tmp_path / 'x'}", "size=tiny"])


def test_generic_flavor_is_written_in_the_generic_format(tmp_path: Path) -> None:
    """Another label set (with its VA points in the manifest), no vision, no pickle."""
    root = write_synthetic_dataset(tmp_path / "ds", "generic", size="tiny")
    assert validate_dataset(root) == []
    assert not (root / "preprocess_data").exists() and not list(root.rglob("*.pkl"))
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["labels"] == ["joy", "anger", "sadness", "neutral"]
    assert set(manifest["label_va"]) == set(manifest["labels"])
    assert manifest["modalities"] == {"text": 300, "audio": FLAVORS["generic"].audio_dim}
    train = read_folder_split(root, "train")
    assert set(train.va) == {"text", "audio"}
    assert train.has_dialogues and train.text is not None
    assert train.labels.any(axis=0).all()  # every label occurs
    assert (root / "text_model").is_dir()
    again = write_synthetic_dataset(tmp_path / "again", "generic", size="tiny")
    assert _all_files(again) == _all_files(root)


def test_generic_flavor_is_read_through_the_folder_reader(tmp_path: Path) -> None:
    datamodule = SyntheticDataModule(tmp_path / "ds", flavor="generic", size="tiny", batch_size=4)
    datamodule.setup()
    assert (tmp_path / "ds" / "manifest.json").is_file()
    spec = datamodule.data_spec
    assert spec["labels"] == ["joy", "anger", "sadness", "neutral"]
    assert set(spec["input_dims"]) == {"text", "audio"}
    batch = next(iter(datamodule.train_dataloader()))
    assert "vision" not in batch and batch["labels"].shape[1] == 4
    assert datamodule.dialogue_ids["test"] and datamodule.split_utt_ids("test")


@pytest.mark.slow
def test_generic_flavor_trains(compose_cfg, tmp_path: Path) -> None:
    cfg = compose_cfg(
        "dataset.flavor=generic",
        "dataset.size=tiny",
        "preset=synthetic_glove",
        "trainer.max_epochs=1",
        "dataset.batch_size=8",
        "analysis.enabled=false",
    )
    train(cfg)
    results = json.loads((Path(cfg.paths.output_dir) / "results.json").read_text())
    assert list(results["test"]["per_label_f1"]) == ["joy", "anger", "sadness", "neutral"]
